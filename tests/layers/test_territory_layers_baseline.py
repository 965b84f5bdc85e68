"""The relation rule gives today's answers on the shipped data (figures kept from before issue 15).

``tests/layers/data/relations_baseline/`` holds what the rule answered when scope-wide
relations were still materialised as one row per (initiative, territory): every pair
with its relation for the shipped territory layer and for a grid layer whose links are
translated through the shipped one, and the initiatives the command line exported for
three territories. The rule now keeps scope-wide initiatives as a rule; every answer
asked of it must still be the same.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import UTM19S, WGS84

BASELINE = Path(__file__).parent / "data" / "relations_baseline"
ROOT = Path(__file__).resolve().parents[2]
#: Territories exported through the command line: a census zone, a rural locality, the rural remainder.
CLI_TERRITORIES = ("centro", "domeyko", "resto-rural")


def grid_layer(territories: gpd.GeoDataFrame, commune: gpd.GeoDataFrame, n: int = 6) -> gpd.GeoDataFrame:
    """A territory layer that is not the shipped one: an n×n grid over the urban zones plus the rest.

    Cells are clipped to the union of the urban zones (``sector urbano``), the rest of
    the commune is one ``resto rural`` territory; deterministic, EPSG:4326.
    """
    urban = territories[territories["tipo"] == "sector urbano"].to_crs(UTM19S)
    city = shapely.union_all(urban.geometry.array)
    x0, y0, x1, y1 = city.bounds
    xs, ys = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
    cells = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(n) for i in range(n)]
    cells = [c for c in shapely.intersection(cells, city) if not c.is_empty and c.area > 1.0]
    rest = shapely.difference(commune.to_crs(UTM19S).geometry.iloc[0], city)
    slugs = [f"celda-{k:02d}" for k in range(len(cells))] + ["resto"]
    tipos = ["sector urbano"] * len(cells) + ["resto rural"]
    layer = gpd.GeoDataFrame({"slug": slugs, "nombre": slugs, "tipo": tipos}, geometry=[*cells, rest], crs=UTM19S)
    return layer.to_crs(WGS84)


def export_ids(slug: str, out: Path, env: dict) -> list[str]:
    """Ids written by ``cli.py export iniciativas --territorio slug`` as CSV to ``out``, in file order."""
    subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "export", "iniciativas", "-f", "csv", "--territorio", slug, "-o", str(out)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )
    return pd.read_csv(out, dtype=str)["id"].tolist()
