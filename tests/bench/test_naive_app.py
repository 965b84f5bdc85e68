"""The naive app of ``make bench`` answers what the product answers, and the bench's payload measure (not timed)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import folium
import pytest
from streamlit.testing.v1 import AppTest

from bench import bench_app


def _map_script():
    from bench import naive_app

    naive_app.map_page()


def _sector_script():
    from bench import naive_app

    naive_app.sector_page()


def _product_ids(tmp_path, *args: str) -> set[str]:
    """Ids the product's own export gives for a filter (the CLI, a real process)."""
    out = tmp_path / "export.csv"
    proc = subprocess.run([sys.executable, "cli.py", "export", "iniciativas", "--format", "csv", "-o", str(out), *args],
                          capture_output=True, text=True, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    with out.open(encoding="utf-8-sig", newline="") as f:
        return {row["id"] for row in csv.DictReader(f)}


def _naive(script, query: dict) -> AppTest:
    at = AppTest.from_function(script, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("query, cli_args", [
    ({}, []),
    ({"territorio": "domeyko"}, ["--territorio", "domeyko"]),
    ({"estrategia": "1", "tipo": "Proyecto"}, ["--estrategia", "1", "--tipo", "Proyecto"]),
])
def test_naive_map_selects_what_the_product_exports(data_dir, tmp_path, query, cli_args):
    at = _naive(_map_script, query)
    naive_ids = set(at.dataframe[0].value["id"])
    assert naive_ids == _product_ids(tmp_path, *cli_args)
    assert int(at.metric[0].value) == len(naive_ids)


def test_naive_sector_lists_what_concerns_the_territory(data_dir, tmp_path):
    at = _naive(_sector_script, {"territorio": "domeyko"})
    listed = " ".join(m.value for m in at.markdown)
    for ident in _product_ids(tmp_path, "--territorio", "domeyko"):
        assert ident in listed


def test_payload_counts_the_territories_literal_once(shipped):
    terr = shipped["territories"][["slug", "nombre", "geometry"]]
    m = folium.Map(tiles=None)
    folium.GeoJson(terr, popup=folium.GeoJsonPopup(fields=["nombre"])).add_to(m)
    folium.GeoJson(shipped["commune"]).add_to(m)
    html = m.get_root().render()
    literal = len(terr.to_json())
    measured = bench_app.territory_payload([html], list(terr["slug"]))
    assert literal * 0.9 <= measured <= literal * 1.1  # the territories, not the commune nor the page
    assert bench_app.territory_payload([html], [f"no-such-slug-{i}" for i in range(1000)]) == 0


def test_payload_counts_geometry_and_per_territory_arrays_without_slugs(shipped):
    terr = shipped["territories"]
    doc = json.dumps({"k": [1] * len(terr), "st": {"weight": 1}}, separators=(",", ":"))
    geometry = terr.geometry.to_json(drop_id=True)
    script = f"var territoryDoc = {doc};\nvar territoryGeometry = {geometry};\nvar other = {{\"a\": [1, 2]}};"
    measured = bench_app.territory_payload([script], list(terr["slug"]))
    assert measured == len(doc) + len(geometry)
