"""Safe zip extraction: no path escapes the folder, no archive fills the disk."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from geo import zipsafe


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


@pytest.mark.parametrize(
    "name, safe",
    [
        ("a.shp", True),
        ("carpeta/a.shp", True),
        ("./carpeta//a.shp", True),
        ("../x", False),
        ("a/../../x", False),
        ("/etc/passwd", False),
        ("C:\\x\\y.shp", False),
        ("..\\x", False),
        ("\\\\server\\x", False),
        ("a\x00b", False),
    ],
)
def test_member_path(name, safe):
    assert (zipsafe.member_path(name) is not None) == safe


@pytest.mark.parametrize("evil", ["../fuera.txt", "/tmp/absoluta.txt", "a/../../fuera.txt", "..\\fuera.txt"])
def test_escaping_members_are_refused_before_anything_is_written(tmp_path, evil):
    archive = _zip(tmp_path / "malo.zip", {"bien.txt": b"ok", evil: b"malo"})
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(zipsafe.UnsafeZipError) as info:
        zipsafe.extract(archive, dest, 10_000)
    assert info.value.code == "unsafe_name"
    assert "ruta insegura" in str(info.value)
    assert list(dest.iterdir()) == []  # checked before extracting anything
    assert not (tmp_path / "fuera.txt").exists()


def test_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("enlace")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "l.zip", "w") as archive:
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(zipsafe.UnsafeZipError) as exc:
        zipsafe.extract(tmp_path / "l.zip", tmp_path, 10_000)
    assert exc.value.code == "symlink"


def test_honest_zip_bomb_is_refused_by_declared_size(tmp_path):
    archive = _zip(tmp_path / "bomba.zip", {"ceros.dbf": b"\0" * 5_000_000})
    assert archive.stat().st_size < 50_000
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(zipsafe.UnsafeZipError) as exc:
        zipsafe.extract(archive, dest, 1_000_000)
    assert exc.value.code == "too_big" and "máximo permitido" in str(exc.value)
    assert list(dest.iterdir()) == []


def _lie_about_sizes(path: Path, declared: int) -> None:
    """Rewrite the uncompressed size in the local header and the central directory."""
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def test_lying_zip_bomb_never_writes_more_than_the_limit(tmp_path):
    archive = _zip(tmp_path / "mentira.zip", {"ceros.dbf": b"\0" * 5_000_000})
    _lie_about_sizes(archive, 100)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(zipsafe.UnsafeZipError) as exc:
        zipsafe.extract(archive, dest, 1_000_000)
    assert exc.value.code in ("too_big", "corrupt")
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    assert written <= 1_000_000


def test_counting_stops_extraction_when_declared_sizes_are_under_the_limit(tmp_path, monkeypatch):
    # Declared sizes pass the check; the bytes actually written are what stops it.
    archive = _zip(tmp_path / "b.zip", {"a.bin": b"\0" * 300_000, "b.bin": b"\0" * 300_000})
    monkeypatch.setattr(zipsafe, "check_archive", lambda zf, limit, max_members=0: zf.infolist())
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(zipsafe.UnsafeZipError) as exc:
        zipsafe.extract(archive, dest, 400_000)
    assert exc.value.code == "too_big"
    assert sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) <= 400_000


def test_not_a_zip_and_too_many_members(tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"esto no es un zip")
    with pytest.raises(zipsafe.UnsafeZipError) as exc:
        zipsafe.extract(bad, tmp_path, 1000)
    assert exc.value.code == "not_zip"
    many = _zip(tmp_path / "m.zip", {f"f{i}.txt": b"" for i in range(20)})
    with pytest.raises(zipsafe.UnsafeZipError) as exc:
        zipsafe.extract(many, tmp_path, 1000, max_members=10)
    assert exc.value.code == "too_many"


def test_good_archive_is_extracted_inside(tmp_path):
    archive = _zip(tmp_path / "ok.zip", {"capa/a.shp": b"shp", "capa/a.dbf": b"dbf", "capa/": b""})
    dest = tmp_path / "dest"
    dest.mkdir()
    files = zipsafe.extract(archive, dest, 1000)
    assert [p.relative_to(dest.resolve()).as_posix() for p in files] == ["capa/a.shp", "capa/a.dbf"]
    assert (dest / "capa" / "a.dbf").read_bytes() == b"dbf"


def test_a_name_that_is_both_file_and_folder_is_refused(tmp_path):
    for order in (("x", "x/y.txt"), ("x/y.txt", "x")):
        archive = _zip(tmp_path / f"{order[0].replace('/', '_')}.zip", {order[0]: b"a", order[1]: b"b"})
        dest = tmp_path / f"out_{order[0].replace('/', '_')}"
        dest.mkdir()
        with pytest.raises(zipsafe.UnsafeZipError) as info:
            zipsafe.extract(archive, dest, 1_000_000)
        assert info.value.code == "conflict" and "como archivo y como carpeta" in str(info.value)
        assert list(dest.iterdir()) == []  # refused before anything is written
