"""Safe extraction of zip archives people upload (zipped Shapefiles, KMZ).

Nothing is ever written outside the destination folder, and an archive cannot
fill the disk:

1. the archive is refused before anything is written when a member name is
   absolute (``/etc/x``, ``C:\\x``, ``\\\\server\\x``), climbs out of the folder
   (``../x``, ``a/../../x``), holds a NUL byte, is a symbolic link or is
   encrypted; when it has more than ``max_members`` members; or when the sizes
   its directory declares add up to more than ``limit_bytes``;
2. while extracting, the bytes actually written are counted and extraction stops
   as soon as they pass ``limit_bytes`` (declared sizes can lie), and each target
   path is checked again to resolve inside the destination.

Errors are :class:`UnsafeZipError` with a one-line Spanish message and a short
English ``code`` for callers and tests.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

#: Largest number of members accepted in one archive.
MAX_MEMBERS = 10_000
#: Bytes read at a time while extracting.
_CHUNK = 1 << 16
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeZipError(ValueError):
    """An archive that is refused; ``str(exc)`` is a Spanish sentence, ``code`` says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")


def member_path(name: str) -> PurePosixPath | None:
    """Relative path a member name stands for, or ``None`` when it is unsafe.

    Backslashes count as separators (archives made on Windows); ``.`` parts are
    ignored; absolute names, drive letters, ``..`` parts and NUL bytes are unsafe.

    Parameters
    ----------
    name : str
        Member name as stored in the archive.

    Returns
    -------
    pathlib.PurePosixPath or None
    """
    if "\x00" in name:
        return None
    text = name.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def check_archive(archive: zipfile.ZipFile, limit_bytes: int, max_members: int = MAX_MEMBERS) -> list[zipfile.ZipInfo]:
    """Check every member of an open archive before extracting anything.

    Parameters
    ----------
    archive : zipfile.ZipFile
        Open archive.
    limit_bytes : int
        Largest total uncompressed size accepted, in bytes.
    max_members : int
        Largest number of members accepted.

    Returns
    -------
    list of zipfile.ZipInfo
        The file members (directories left out), in archive order.

    Raises
    ------
    UnsafeZipError
        Codes ``too_many``, ``unsafe_name``, ``symlink``, ``encrypted``, ``too_big``, ``conflict``
        (a name used both as a file and as a folder, ``x`` and ``x/y.txt``).
    """
    infos = archive.infolist()
    if len(infos) > max_members:
        raise UnsafeZipError(f"El zip tiene demasiados archivos ({len(infos)}; máximo {max_members}).", "too_many")
    files = []
    declared = 0
    for info in infos:
        if member_path(info.filename) is None:
            raise UnsafeZipError(
                f"El zip contiene una ruta insegura («{info.filename[:80]}») que apunta fuera de la carpeta; no se extrae.",
                "unsafe_name",
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeZipError(f"El zip contiene un enlace simbólico («{info.filename[:80]}»); no se extrae.", "symlink")
        if info.flag_bits & 0x1:
            raise UnsafeZipError("El zip está protegido con contraseña; no se puede leer.", "encrypted")
        if info.is_dir():
            continue
        declared += info.file_size
        files.append(info)
    _check_layout([member_path(i.filename) for i in files])
    if declared > limit_bytes:
        raise UnsafeZipError(
            f"El zip se expande a {_mb(declared)}, más que el máximo permitido ({_mb(limit_bytes)}).", "too_big"
        )
    return files


def _check_layout(paths: list[PurePosixPath]) -> None:
    """Refuse an archive whose file members cannot all be written: a file that is also a folder of another."""
    folders = {str(parent) for p in paths for parent in p.parents if str(parent) != "."}
    clash = sorted(str(p) for p in paths if str(p) in folders)
    if clash:
        raise UnsafeZipError(
            f"El zip contiene «{clash[0][:80]}» como archivo y como carpeta a la vez; no se extrae.", "conflict"
        )


def extract(path: str | os.PathLike, dest: str | os.PathLike, limit_bytes: int, max_members: int = MAX_MEMBERS) -> list[Path]:
    """Extract an archive into ``dest`` safely (see the module docstring).

    Parameters
    ----------
    path : path-like
        The zip archive.
    dest : path-like
        Existing folder, ideally a fresh temporary one; the caller removes it
        (partially extracted files may remain there after an error).
    limit_bytes : int
        Largest total number of bytes written.
    max_members : int
        Largest number of members.

    Returns
    -------
    list of pathlib.Path
        Extracted files, in archive order.

    Raises
    ------
    UnsafeZipError
        Codes of :func:`check_archive`, plus ``not_zip`` (not a zip or damaged
        directory), ``corrupt`` (bad data or CRC) and ``too_big`` (too many
        bytes actually written).
    """
    root = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise UnsafeZipError("El archivo no es un zip válido o está dañado.", "not_zip") from exc
    written = 0
    out: list[Path] = []
    with archive:
        members = check_archive(archive, limit_bytes, max_members)
        for info in members:
            rel = member_path(info.filename)
            target = (root / rel).resolve()
            if target == root or root not in target.parents:
                raise UnsafeZipError(f"El zip contiene una ruta insegura («{info.filename[:80]}»); no se extrae.", "unsafe_name")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "xb") as dst:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > limit_bytes:
                            raise UnsafeZipError(
                                f"El zip se expande a más que el máximo permitido ({_mb(limit_bytes)}).", "too_big"
                            )
                        dst.write(chunk)
            except FileExistsError as exc:
                raise UnsafeZipError(f"El zip repite el archivo «{info.filename[:80]}».", "duplicate") from exc
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
                if isinstance(exc, UnsafeZipError):
                    raise
                raise UnsafeZipError("El zip está dañado o usa una compresión no soportada.", "corrupt") from exc
            out.append(target)
    return out
