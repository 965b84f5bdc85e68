"""The shared text helpers: accent folding, slugs, Chilean numbers and sizes."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from layers import text


@pytest.mark.parametrize(
    "raw, folded",
    [
        ("Población Hermanos Carrera", "Poblacion Hermanos Carrera"),
        ("Ñandú pingüino Río", "Nandu pinguino Rio"),
        ("ÁÉÍÓÚ áéíóú", "AEIOU aeiou"),
        ("sin tildes", "sin tildes"),
        (42, "42"),
        ("", ""),
    ],
)
def test_fold_removes_diacritics_and_keeps_case(raw, folded):
    assert text.fold(raw) == folded


def test_fold_lower_folds_case_too():
    assert text.fold("Ñuble STRASSE Río", lower=True) == "nuble strasse rio"
    assert text.fold("Straße", lower=True) == "strasse"  # casefold, not lower
    assert text.fold("Domeyko", lower=True) == text.fold("DOMEYKO", lower=True)


@pytest.mark.parametrize(
    "raw, sep, slug",
    [
        ("Población Hermanos Carrera", "-", "poblacion-hermanos-carrera"),
        ("  Villa  El Edén (sector 2) ", "-", "villa-el-eden-sector-2"),
        ("UV Vallenar 2023.zip", "_", "uv_vallenar_2023_zip"),
        ("¡¿?!", "-", ""),
        ("Año Ñuñoa", "_", "ano_nunoa"),
    ],
)
def test_slugify(raw, sep, slug):
    assert text.slugify(raw, sep=sep) == slug


def test_slugify_is_cut_without_a_trailing_separator():
    slug = text.slugify("a" * 59 + " b c", max_length=60)
    assert len(slug) <= 60 and not slug.endswith("-")
    assert slug == "a" * 59
    assert len(text.slugify("palabra " * 30)) <= 60


@pytest.mark.parametrize(
    "value, decimals, written",
    [
        (7238.29, 2, "7.238,29"),
        (7238.294, 2, "7.238,29"),
        (1500, 0, "1.500"),
        (-1500.5, 1, "-1.500,5"),
        (0.5, 3, "0,500"),
        (1234567.891, 1, "1.234.567,9"),
        (12, 0, "12"),
    ],
)
def test_format_number_chilean(value, decimals, written):
    assert text.format_number(value, decimals) == written


@pytest.mark.parametrize(
    "n_bytes, written",
    [
        (int(1.1 * 1024 * 1024), "1,1 MB"),
        (50 * 1024 * 1024, "50,0 MB"),
        (0, "0,0 MB"),
        (3 * 1024 * 1024 * 1024, "3072,0 MB"),
    ],
)
def test_format_mb(n_bytes, written):
    assert text.format_mb(n_bytes) == written


def test_format_mb_decimals():
    assert text.format_mb(1536 * 1024, decimals=2) == "1,50 MB"
    assert text.format_mb(1536 * 1024, decimals=0) == "2 MB"


def test_os_error_reason_from_real_errors(tmp_path):
    with pytest.raises(OSError) as missing:
        open(tmp_path / "no" / "x.txt", "w")  # noqa: SIM115 - the error is what is tested
    assert text.os_error_reason(missing.value) == "la ruta no existe o la carpeta no admite archivos nuevos"
    with pytest.raises(OSError) as folder:
        open(tmp_path, "w")  # noqa: SIM115
    assert text.os_error_reason(folder.value) == "es una carpeta, no un archivo"
    assert text.os_error_reason(errno.ENOSPC) == "no queda espacio en el disco"
    assert text.os_error_reason(errno.EROFS) == "el sistema de archivos es de solo lectura"
    assert text.os_error_reason(errno.EXDEV) == "error del sistema (EXDEV)"
    assert text.os_error_reason(None) == "error del sistema"


def test_guess_errno_reads_library_messages():
    assert text.guess_errno(sqlite3.OperationalError("database or disk is full")) == errno.ENOSPC
    assert text.guess_errno(RuntimeError("Failed to create GeoJSON datasource: /p/x: Permission denied")) == errno.EACCES
    assert text.guess_errno(RuntimeError("attempt to write a readonly database")) == errno.EROFS
    assert text.guess_errno(RuntimeError("something else")) is None
    assert text.guess_errno(OSError(errno.EIO, "x")) == errno.EIO


def test_one_line_keeps_a_quoted_value_on_one_bounded_line():
    from layers.text import one_line

    assert one_line("nombre\n\tdel\x85campo\r\n") == "nombre del campo"
    assert one_line("\n") == ""
    assert one_line("x" * 100, 10) == "x" * 9 + "…"
