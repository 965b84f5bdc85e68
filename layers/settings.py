"""Project settings: every knob of SIT Vallenar, its environment variable, type, default and unit.

Each setting is read **when it is used** (a function call), never at import, so
tests, CI and deployments change them through the environment without touching
code, and a bad value is reported where it matters instead of breaking imports.

=============================== ========== ================ ======== =====================================================
Environment variable            Type       Default          Unit     Meaning
=============================== ========== ================ ======== =====================================================
``SIT_DATA_DIR``                path       ``./var``        --       Runtime data: the GeoPackage store and imported
                                                                     layers (:func:`data_dir`). Created when missing.
``SIT_UPLOAD_LIMIT_MB``         0 < n ≤    ``50``           MB (MiB) Largest file accepted for import, on the command
                                1024                                 line and in the app (:func:`upload_limit_bytes`).
                                                                     Streamlit's ``server.maxUploadSize`` must equal it,
                                                                     rounded up (:func:`streamlit_upload_mb`; ``make
                                                                     run`` passes it).
``SIT_UNZIP_LIMIT_MB``          number > 0 ``500``          MB (MiB) Largest total size a zip may expand to
                                                                     (:func:`unzip_limit_bytes`).
``SIT_DATABASE_URL``            text       (none)           --       Database of the store (``postgresql://...``: PostGIS);
                                                                     unset: the GeoPackage under ``SIT_DATA_DIR``
                                                                     (:func:`database_url`).
``SIT_UNIDADES_RESPONSABLES``   path       shipped CSV      --       CSV of the municipal units that may be responsible
                                                                     for an initiative (:func:`responsible_units_path`);
                                                                     default ``data/seguimiento/unidades.csv``.
``SIT_SESSION_IDLE_MIN``        number > 0 ``30``           minutes  An account's session ends after this long without
                                                                     activity (:func:`session_idle_seconds`).
``SIT_SESSION_MAX_HOURS``       number > 0 ``12``           hours    An account's session ends this long after the
                                                                     login, active or not (:func:`session_max_seconds`).
=============================== ========== ================ ======== =====================================================

Used only by the tests and benchmarks: ``SIT_CHROMIUM`` (path of the browser,
default ``/usr/bin/chromium``), ``SIT_FUZZ_EXAMPLES`` (examples per fuzzing
property, default 70), ``SIT_FRESH_SERVER`` (any value: a test server of its own),
``SIT_BENCH_DATABASE_URL`` (an empty PostGIS database for ``bench/bench_store.py``)
and ``SIT_CASES_DIR`` (folder of the real-world input cases, default ``../shared/cases``).

Fixed values, not settings: :data:`PROJECT_DIR`, :data:`SHIPPED_DATA_DIR`,
:data:`PLAN_TEXT_PATH`, :data:`STORE_FILENAME`, :data:`COORD_DECIMALS`,
:data:`CUT_VALLENAR`. CRS constants live in :mod:`geo.crs`.

A value that cannot be used raises :class:`SettingError` (code ``"bad_setting"``,
data ``name``, ``value``) with one Spanish line; :func:`validate` checks every
setting at once and reports all problems together.

``UPLOAD_LIMIT_BYTES`` and ``UNZIP_LIMIT_BYTES`` remain as module attributes for
older callers; they are computed on each access (no import-time constant).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from layers._errors import SitError
from layers.text import os_error_reason

__all__ = [
    "PROJECT_DIR", "SHIPPED_DATA_DIR", "PLAN_TEXT_PATH", "STORE_FILENAME", "COORD_DECIMALS", "CUT_VALLENAR",
    "SettingError", "UPLOAD_LIMIT_MAX_MB", "data_dir", "data_dir_path", "store_path", "upload_limit_mb", "upload_limit_bytes", "streamlit_upload_mb",
    "unzip_limit_bytes", "database_url", "responsible_units_path", "session_idle_seconds", "session_max_seconds",
    "validate",
]

#: Root of the repository (the folder that holds ``app.py``).
PROJECT_DIR: Path = Path(__file__).resolve().parent.parent

#: Shipped, read-only data (catalogue, territories, links) with its provenance.
SHIPPED_DATA_DIR: Path = PROJECT_DIR / "data"

#: Plan text used by the catalogue generator and tests, when ``../shared`` is present.
PLAN_TEXT_PATH: Path = PROJECT_DIR.parent / "shared" / "plan" / "pladeco_vallenar_estrategias.txt"

#: Name of the embedded GeoPackage inside the runtime data directory.
STORE_FILENAME = "sit_vallenar.gpkg"

#: Decimal places kept in exported and displayed coordinates (1e-6 degree is about 0.1 m).
COORD_DECIMALS = 6

#: CUT code of the commune.
CUT_VALLENAR = "03301"

#: Defaults of the settings, as the environment would write them.
DEFAULTS: dict[str, str] = {
    "SIT_DATA_DIR": "var",
    "SIT_UPLOAD_LIMIT_MB": "50",
    "SIT_UNZIP_LIMIT_MB": "500",
    "SIT_SESSION_IDLE_MIN": "30",
    "SIT_SESSION_MAX_HOURS": "12",
}

_MB = 1024 * 1024


class SettingError(SitError, ValueError):
    """A setting (environment variable) whose value cannot be used."""

    default_code = "bad_setting"


def _raw(name: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or DEFAULTS[name]


def _positive(name: str, unit: str = "megabytes", maximum: float | None = None) -> float:
    """The value of ``name`` as a positive, finite number (of megabytes, or of ``unit``), at most ``maximum``."""
    raw = _raw(name)
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or (maximum is not None and value > maximum):
        bounds = "mayor que 0" if maximum is None else f"mayor que 0 y de a lo más {maximum:g}"
        raise SettingError(
            f"La variable de entorno {name} debe ser un número de {unit} {bounds} "
            f"(por omisión {DEFAULTS[name]}), no «{raw[:40]}».",
            name=name, value=raw,
        )
    return value


#: Largest value of ``SIT_UPLOAD_LIMIT_MB`` (MB). Streamlit keeps each uploaded file whole in
#: the server's memory, and its upload endpoint takes files from any visitor, logged in or not,
#: up to this limit (``server.maxUploadSize``): a higher one would let a few visitors fill the
#: memory of a municipal server.
UPLOAD_LIMIT_MAX_MB = 1024.0


def upload_limit_mb() -> float:
    """Largest file accepted for import, in megabytes (``SIT_UPLOAD_LIMIT_MB``, default 50).

    Raises
    ------
    SettingError
        When the variable is not a positive number of at most :data:`UPLOAD_LIMIT_MAX_MB`.
    """
    return _positive("SIT_UPLOAD_LIMIT_MB", maximum=UPLOAD_LIMIT_MAX_MB)


def upload_limit_bytes() -> int:
    """Largest file accepted for import, in bytes (:func:`upload_limit_mb` × 1024²)."""
    return int(upload_limit_mb() * _MB)


def streamlit_upload_mb() -> int:
    """Streamlit's ``server.maxUploadSize`` for this product: the upload limit in whole MB, rounded up.

    Streamlit takes an integer number of megabytes, so a limit of 0.2 MB gives 1.
    """
    return max(1, math.ceil(upload_limit_mb()))


def unzip_limit_bytes() -> int:
    """Largest total size a zip may expand to, in bytes (``SIT_UNZIP_LIMIT_MB``, default 500).

    Raises
    ------
    SettingError
        When the variable is not a positive number.
    """
    return int(_positive("SIT_UNZIP_LIMIT_MB") * _MB)


def data_dir_path() -> Path:
    """Absolute path ``SIT_DATA_DIR`` names (default ``./var``), without creating it.

    Raises
    ------
    SettingError
        When the path names a file.
    """
    path = Path(_raw("SIT_DATA_DIR")).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise SettingError(
            f"La variable de entorno SIT_DATA_DIR debe nombrar una carpeta; «{path}» es un archivo.",
            name="SIT_DATA_DIR", value=str(path),
        )
    return path


def data_dir() -> Path:
    """Runtime data directory (``SIT_DATA_DIR``, default ``./var``), created if missing.

    Returns
    -------
    pathlib.Path
        Absolute path of the directory that holds the store and imported layers.

    Raises
    ------
    SettingError
        When the path names a file, or the folder cannot be created.
    """
    path = data_dir_path()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError(
            f"No se pudo crear la carpeta de datos «{path}» (SIT_DATA_DIR): {os_error_reason(exc)}.",
            name="SIT_DATA_DIR", value=str(path),
        ) from exc
    return path


def store_path() -> Path:
    """Path of the embedded GeoPackage store under :func:`data_dir`."""
    return data_dir() / STORE_FILENAME


def database_url() -> str | None:
    """Database the store uses (``SIT_DATABASE_URL``), or None for the embedded GeoPackage."""
    return os.environ.get("SIT_DATABASE_URL", "").strip() or None


def responsible_units_path() -> Path:
    """CSV of the municipal units (``SIT_UNIDADES_RESPONSABLES``, default ``data/seguimiento/unidades.csv``)."""
    default = SHIPPED_DATA_DIR / "seguimiento" / "unidades.csv"
    return Path(os.environ.get("SIT_UNIDADES_RESPONSABLES", "").strip() or default).expanduser()


def session_idle_seconds() -> float:
    """Seconds without activity after which an account's session ends (``SIT_SESSION_IDLE_MIN``, default 30 min).

    Raises
    ------
    SettingError
        When the variable is not a positive number.
    """
    return _positive("SIT_SESSION_IDLE_MIN", "minutos") * 60.0


def session_max_seconds() -> float:
    """Seconds after the login at which an account's session ends (``SIT_SESSION_MAX_HOURS``, default 12 h).

    Raises
    ------
    SettingError
        When the variable is not a positive number.
    """
    return _positive("SIT_SESSION_MAX_HOURS", "horas") * 3600.0


def validate() -> None:
    """Check every setting at once (without creating anything).

    Raises
    ------
    SettingError
        One Spanish line naming every setting with a bad value (``data["names"]``).
    """
    problems: list[SettingError] = []
    for check in (upload_limit_mb, unzip_limit_bytes, data_dir_path, session_idle_seconds, session_max_seconds):
        try:
            check()
        except SettingError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SettingError(
            " ".join(str(p) for p in problems),
            names=[p.data["name"] for p in problems], value=[p.data["value"] for p in problems],
        )


_ALIASES = {"UPLOAD_LIMIT_BYTES": upload_limit_bytes, "UNZIP_LIMIT_BYTES": unzip_limit_bytes}


def __getattr__(name: str) -> int:
    """Older names (``settings.UPLOAD_LIMIT_BYTES``), read from the environment on each access."""
    if name in _ALIASES:
        return _ALIASES[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _main(argv: list[str]) -> int:
    """``python -m layers.settings NAME``: print one setting (for the Makefile); status 2 and one line if bad."""
    readers = {"streamlit_upload_mb": streamlit_upload_mb, "upload_limit_bytes": upload_limit_bytes,
               "unzip_limit_bytes": unzip_limit_bytes, "data_dir": data_dir}
    if len(argv) != 1 or argv[0] not in readers:
        print(f"Uso: python -m layers.settings {{{','.join(readers)}}}", file=sys.stderr)
        return 2
    try:
        print(readers[argv[0]]())
    except SettingError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
