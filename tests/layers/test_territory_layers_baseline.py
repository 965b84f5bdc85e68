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


def _baseline(name: str) -> pd.DataFrame:
    return pd.read_csv(BASELINE / name, dtype=str)


@pytest.fixture(scope="module")
def cases(shipped):
    """(relations, expected pairs, territory layer) for the shipped layer and the translated grid."""
    from layers import links

    inits, terr = shipped["initiatives"], shipped["territories"]
    grid = grid_layer(terr, shipped["commune"])
    return {
        "shipped": (links.relate(inits, terr), _baseline("shipped_pairs.csv"), terr),
        "grid": (links.relate(inits, grid, reference=terr), _baseline("grid_pairs.csv"), grid),
    }


@pytest.mark.parametrize("case", ["shipped", "grid"])
def test_pairs_are_the_materialised_table(cases, case):
    rel, expected, _layer = cases[case]
    got = rel.pairs()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)


@pytest.mark.parametrize("case", ["shipped", "grid"])
def test_counts_per_territory_are_todays(cases, case, shipped):
    from layers import links

    rel, expected, layer = cases[case]
    every = shipped["initiatives"]["id"]
    for ids in (None, every[every.str.startswith("E1")], every[::3], []):
        exp = expected if ids is None else expected[expected["id"].isin(set(ids))]
        table = (exp.groupby(["slug", "relacion"]).size().unstack(fill_value=0)
                 .reindex(index=layer["slug"], columns=list(links.RELACIONES), fill_value=0).astype("int64"))
        table.index.name = "slug"
        pd.testing.assert_frame_equal(rel.counts(ids, layer["slug"]), table, check_names=False)


@pytest.mark.parametrize("case", ["shipped", "grid"])
def test_initiatives_of_each_territory_are_todays(cases, case):
    rel, expected, layer = cases[case]
    for slug in layer["slug"]:
        exp = expected[expected["slug"] == slug][["id", "relacion"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(rel.of_territory(slug), exp, check_dtype=False)
        assert set(rel.ids_concerning([slug])) == set(exp["id"])


@pytest.mark.parametrize("case", ["shipped", "grid"])
def test_territories_concerned_are_todays(cases, case, shipped):
    rel, expected, _layer = cases[case]
    every = shipped["initiatives"]
    groups = [every["id"], every.loc[every["alcance"] == "territorial", "id"],
              every.loc[every["alcance"] == "rural", "id"], every["id"][:5], []]
    for ids in groups:
        exp = set(expected.loc[expected["id"].isin(set(ids)), "slug"])
        assert set(rel.territories_concerned(ids)) == exp
    assert len(rel.specific) == int(expected["relacion"].isin(["ubicada", "vinculada"]).sum())


def test_scope_wide_relations_are_not_rows(cases):
    rel, expected, layer = cases["shipped"]
    stored = len(rel.specific) + len(rel.scoped) + len(rel.cover)
    assert stored < len(expected) / 10
    assert set(rel.scoped["alcance"]) == {"comunal", "urbano", "rural"}


@pytest.mark.parametrize("slug", CLI_TERRITORIES)
def test_cli_export_by_territory_is_todays(slug, data_dir, tmp_path):
    import json
    import os

    expected = json.loads((BASELINE / "cli_export_ids.json").read_text())[slug]
    env = {**os.environ, "SIT_DATA_DIR": str(data_dir)}
    assert export_ids(slug, tmp_path / "out.csv", env) == expected
