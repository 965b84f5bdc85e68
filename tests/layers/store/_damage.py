"""Builders of damaged stores for the integrity-check and repair tests (shared with the CLI and app tests)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from layers import store

#: Ways a store file gets damaged: cut short, a range of zeros, overwritten with garbage.
KINDS = ("truncated", "zeroed", "garbage")

IMPORTED = "puntos_importados"
EDITABLE = "seguimiento_prueba"
N_POINTS, N_ROWS = 3000, 400


def populate() -> None:
    """Add an imported layer and an editable table with rows to the current store."""
    rng = np.random.default_rng(3)
    points = gpd.GeoDataFrame(
        {"nombre": [f"p{i}" for i in range(N_POINTS)]},
        geometry=[Point(-70.76 + x, -28.58 + y) for x, y in rng.uniform(-0.01, 0.01, (N_POINTS, 2))],
        crs="EPSG:4326",
    )
    store.save_layer(IMPORTED, points, {"titulo": "Puntos importados", "clase": "referencia", "fuente": "prueba"})
    store.define_table(EDITABLE, {"id": "TEXT", "estado": "TEXT", "avance": "REAL"}, key=["id"])
    with store.transaction() as tx:
        tx.insert(EDITABLE, pd.DataFrame({"id": [f"i{k}" for k in range(N_ROWS)], "estado": "sin iniciar", "avance": 0.0}))


def pages_of(path: Path, table: str) -> list[int]:
    """Page numbers (1-based) that hold a table's b-tree, from SQLite's ``dbstat``."""
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (table,))]


def damage(path: Path, kind: str, table: str | None = None) -> None:
    """Damage the store file in place.

    ``truncated`` keeps the first half of the file; ``zeroed`` writes zeros over the
    pages of ``table`` (or over a range in the middle of the file); ``garbage``
    replaces the whole file with random bytes of the same size.
    """
    size = path.stat().st_size
    if kind == "truncated":
        os.truncate(path, size // 2)
    elif kind == "zeroed":
        with sqlite3.connect(path) as conn:
            page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = pages_of(path, table) if table else list(range(size // page // 3, size // page // 3 + 8))
        with open(path, "r+b") as handle:
            for number in pages:
                handle.seek((number - 1) * page)
                handle.write(b"\0" * page)
    elif kind == "garbage":
        path.write_bytes(np.random.default_rng(5).bytes(size))
    else:
        raise ValueError(kind)
