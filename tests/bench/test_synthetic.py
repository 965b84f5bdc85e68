"""The synthetic 100x municipality of ``make bench``: realistic, deterministic, importable (not timed)."""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from bench import synthetic
from geo.crs import UTM19S

N_TERR, N_SITES = 2000, 600  # more lots than census blocks (801): each block is cut


@pytest.fixture(scope="module")
def generated(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    result = synthetic.generate(out, n_territories=N_TERR, n_sites=N_SITES)
    return result, gpd.read_file(result.territories), gpd.read_file(result.sites)


def test_territories_are_lots_inside_the_census_city(generated, shipped):
    result, terr, _ = generated
    from layers import store

    assert abs(len(terr) - N_TERR) <= 0.1 * N_TERR
    assert terr["codigo"].is_unique and terr["nombre"].is_unique
    metric = terr.to_crs(UTM19S).geometry
    assert shapely.is_valid(metric.to_numpy()).all()
    assert set(metric.geom_type) == {"Polygon"}
    blocks = store.read_layer("manzanas").to_crs(UTM19S).geometry
    city = shapely.union_all(shapely.make_valid(blocks.to_numpy()))
    # Inside the census blocks, and tiling them without overlaps.
    assert shapely.area(shapely.difference(metric.union_all(), city.buffer(1.0))) < 1.0
    assert metric.area.sum() == pytest.approx(metric.union_all().area, rel=1e-3)
    assert metric.union_all().area == pytest.approx(city.area, rel=0.02)
    # Densified like a digitised layer: no edge longer than the spacing.
    coords = [np.asarray(g.exterior.coords) for g in metric.iloc[:50]]
    assert max(np.hypot(*np.diff(c, axis=0).T).max() for c in coords) <= synthetic.DENSIFY_M + 1e-6


def test_sites_keep_the_plans_scopes_and_one_family_per_initiative(generated, shipped):
    _, _, sites = generated
    inits = shipped["initiatives"]
    assert len(sites) == N_SITES
    assert set(sites["id"]) <= set(inits["id"])
    assert sites.groupby("id")["tipo_sitio"].nunique().max() == 1
    assert (sites.geom_type == "Point").mean() > 0.6
    assert {"LineString", "Polygon"} & set(sites.geom_type)
    scopes = inits.set_index("id").loc[sorted(set(sites["id"])), "alcance"]
    assert (scopes == "comunal").mean() > 0.5  # most sited initiatives are commune-wide, as in the plan


def test_same_seed_same_files(generated, tmp_path):
    result, terr, sites = generated
    again = synthetic.generate(tmp_path, n_territories=N_TERR, n_sites=N_SITES)
    terr2, sites2 = gpd.read_file(again.territories), gpd.read_file(again.sites)
    assert terr.geometry.to_wkb().tolist() == terr2.geometry.to_wkb().tolist()
    assert sites.geometry.to_wkb().tolist() == sites2.geometry.to_wkb().tolist()
    other = synthetic.generate(tmp_path / "other", seed=1, n_territories=N_TERR, n_sites=N_SITES)
    assert gpd.read_file(other.sites).geometry.to_wkb().tolist() != sites.geometry.to_wkb().tolist()


def test_the_cli_imports_both_files(generated, fresh_store):
    result, terr, sites = generated
    env = {**os.environ, "SIT_DATA_DIR": str(fresh_store.parent)}
    for cmd in synthetic.import_commands(sys.executable, result):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    from layers import store

    assert len(store.read_layer(synthetic.TERRITORY_LAYER)) == len(terr)
    assert set(store.read_layer(synthetic.SITES_LAYER)["id"]) == set(sites["id"])
