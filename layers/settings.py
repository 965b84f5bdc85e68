"""Project-wide settings: where data lives and the limits applied at the edges.

Every value can be overridden through an environment variable so that tests,
CI and deployments never need to edit code. CRS constants live in
:mod:`geo.crs`, not here.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the repository (the folder that holds ``app.py``).
PROJECT_DIR: Path = Path(__file__).resolve().parent.parent

#: Shipped, read-only data (catalogue, territories, links) with its provenance.
SHIPPED_DATA_DIR: Path = PROJECT_DIR / "data"

#: Plan text used by the catalogue generator and tests, when ``../shared`` is present.
PLAN_TEXT_PATH: Path = PROJECT_DIR.parent / "shared" / "plan" / "pladeco_vallenar_estrategias.txt"

#: Name of the embedded GeoPackage inside the runtime data directory.
STORE_FILENAME = "sit_vallenar.gpkg"

#: Largest file accepted for import, in bytes (``SIT_UPLOAD_LIMIT_MB``).
UPLOAD_LIMIT_BYTES: int = int(float(os.environ.get("SIT_UPLOAD_LIMIT_MB", "50")) * 1024 * 1024)

#: Largest total size a zip may expand to, in bytes (``SIT_UNZIP_LIMIT_MB``).
UNZIP_LIMIT_BYTES: int = int(float(os.environ.get("SIT_UNZIP_LIMIT_MB", "500")) * 1024 * 1024)

#: Decimal places kept in exported and displayed coordinates (1e-6 degree is about 0.1 m).
COORD_DECIMALS = 6

#: CUT code of the commune.
CUT_VALLENAR = "03301"


def data_dir() -> Path:
    """Runtime data directory (``SIT_DATA_DIR``, default ``./var``), created if missing.

    Read at call time, not import time, so tests can point it elsewhere.

    Returns
    -------
    pathlib.Path
        Absolute path of the directory that holds the store and imported layers.
    """
    path = Path(os.environ.get("SIT_DATA_DIR", "var")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_path() -> Path:
    """Path of the embedded GeoPackage store under :func:`data_dir`."""
    return data_dir() / STORE_FILENAME
