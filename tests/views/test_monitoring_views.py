"""Monitoring status and progress in the map's document, its legend, the sector lists and the printed report."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import sector
from layers.monitoring import fields as F
from views import mapview, report, symbology
from views._elements import legend_sections, sited_payload
from views.legend import legend_html

EVIL = "<script>alert('x')</script> & \"q\""


def test_status_palette_covers_every_status_in_order_and_is_distinct():
    assert list(symbology.ESTADO_COLORS) == list(F.ESTADOS)
    colors = list(symbology.ESTADO_COLORS.values())
    assert len({c.upper() for c in colors}) == len(colors) == 8
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colors)
    assert symbology.estado_color("en ejecución") == "#E69F00"
    assert symbology.estado_color("inventado") == symbology.UNKNOWN_ESTADO_COLOR
    assert symbology.estado_legend() == list(symbology.ESTADO_COLORS.items())


def _sited() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({
        "id": ["A1", "A2", "A3"], "nombre": [EVIL, "Plaza", "Canal"], "tipo": ["Proyecto"] * 3,
        "estrategia": ["E1", "E2", "E3"], "plan": ["E1-P1", "E2-P1", "E3-P1"], "plan_nombre": ["P", "Q", "R"],
        "padre": [None] * 3, "territorios": ["", "", ""], "fuente_geometria": ["x", "y", "z"],
    })
    geoms = [shapely.Point(-70.75, -28.57), shapely.LineString([(-70.76, -28.58), (-70.75, -28.57)]), None]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def _monitoring() -> pd.DataFrame:
    return pd.DataFrame({"estado": ["terminada", "en ejecución"], "avance_fisico": [100.0, 45.25]},
                        index=pd.Index(["A2", "A1"], name="id"))


def test_with_status_joins_by_id_and_defaults_to_sin_iniciar():
    out = sector.with_status(_sited(), _monitoring())
    assert out["estado"].tolist() == ["en ejecución", "terminada", "sin iniciar"]
    np.testing.assert_allclose(out["avance_fisico"].to_numpy(), [45.25, 100.0, np.nan])
    assert isinstance(out, gpd.GeoDataFrame) and out.crs.to_epsg() == 4326
    assert mapview.with_status(_sited(), _monitoring())["estado"].tolist() == out["estado"].tolist()


@pytest.mark.parametrize("color_by", ["estrategia", "estado"])
def test_payload_carries_status_colours_and_progress(color_by):
    inits = sector.with_status(_sited(), _monitoring())
    doc, kinds = sited_payload(inits, {"E1": "Uno", "E2": "Dos", "E3": "Tres"}, color_by=color_by)
    assert kinds == {"point": 1, "line": 1, "polygon": 0}
    assert doc["cb"] == color_by
    assert doc["s"] == list(F.ESTADOS) and doc["sc"] == list(symbology.ESTADO_COLORS.values())
    r1, r2 = doc["r"]  # A3 has no geometry: not drawn
    assert doc["s"][r1[8]] == "en ejecución" and r1[9] == "45,2 %"  # half to even, Chilean comma
    assert doc["s"][r2[8]] == "terminada" and r2[9] == "100,0 %"
    assert r1[0] == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"


def test_payload_without_status_keeps_strategy_colours():
    doc, _ = sited_payload(_sited(), {"E1": "Uno"}, color_by="estado")
    assert all(r[8] == -1 and r[9] == "" for r in doc["r"])  # the script then falls back to the strategy colour
    with pytest.raises(ValueError):
        sited_payload(_sited(), {"E1": "Uno"}, color_by="tipo")


def test_legend_lists_the_eight_statuses_or_the_strategies():
    by_status = legend_html(legend_sections([1], ("T", "s"), {"E1": "Uno"}, ["E1"], {"point": 1}, color_by="estado"))
    assert "Iniciativas ubicadas, por estado" in by_status and "E1 · Uno" not in by_status
    for estado, color in symbology.ESTADO_COLORS.items():
        assert estado.capitalize() in by_status
        assert f"background:{color}" in by_status
    by_strategy = legend_html(legend_sections([1], ("T", "s"), {"E1": "Uno"}, ["E1"], {"point": 1}))
    assert "Iniciativas ubicadas, por estrategia" in by_strategy and "E1 · Uno" in by_strategy
    assert "por estado" not in by_strategy



def test_legend_explains_the_grey_groups_of_points_when_points_are_drawn():
    from views._elements import CLUSTER_LABEL

    with_points = legend_html(legend_sections([1], ("T", "s"), {"E1": "Uno"}, ["E1"], {"point": 2}))
    assert "Grupo de iniciativas cercanas" in with_points and CLUSTER_LABEL.split(":")[0] in with_points
    lines_only = legend_html(legend_sections([1], ("T", "s"), {"E1": "Uno"}, ["E1"], {"line": 1}))
    assert "Grupo de iniciativas cercanas" not in lines_only


def test_map_document_in_the_page_is_escaped_json(shipped):
    inits = mapview.display_geometries(shipped["initiatives"])
    inits.loc[inits["id"] == "E1-P1-08", "nombre"] = EVIL
    values = pd.DataFrame({"estado": ["en ejecución"], "avance_fisico": [30.5]}, index=pd.Index(["E1-P1-08"]))
    m = mapview.selection_map(
        mapview.display_geometries(shipped["commune"]), mapview.display_geometries(shipped["territories"]),
        inits, inits["id"], shipped["relations"], strategies={"E1": "Desarrollo Territorial"},
        monitoring=values, color_by="estado",
    )
    html = mapview.map_html(m)
    assert "<script>alert" not in html
    element = next(c for c in m._children.values() if type(c).__name__ == "SitedInitiatives")
    doc = json.loads(element.payload)
    row = next(r for r in doc["r"] if r[1] == "E1-P1-08")
    assert doc["s"][row[8]] == "en ejecución" and row[9] == "30,5 %" and doc["cb"] == "estado"
    assert "Iniciativas ubicadas, por estado" in html


def test_status_text():
    assert report.status_text("en ejecución", 30.5) == "en ejecución · avance físico 30,5 %"
    assert report.status_text("sin iniciar", None) == "sin iniciar"
    assert report.status_text("terminada", float("nan")) == "terminada"
    assert report.status_text(None, 10) == ""


def _summary(shipped, name: str = "Construcción Complejo Deportivo La Turbina"):
    inits = shipped["initiatives"].copy()
    inits.loc[inits["id"] == "E1-P1-08", "nombre"] = name
    values = pd.DataFrame({"estado": ["en ejecución"], "avance_fisico": [30.5]}, index=pd.Index(["E1-P1-08"]))
    # The sector page of the territory the complex is sited in (from the relation rule, not typed here).
    specific = shipped["relations"].specific
    slug = specific.loc[(specific["id"] == "E1-P1-08") & (specific["relacion"] == "ubicada"), "slug"].iloc[0]
    return sector.sector_summary(slug, inits, shipped["territories"], shipped["relations"],
                                 shipped["strategies"], monitoring=values)


def test_sector_summary_and_lists_carry_status(shipped):
    summary = _summary(shipped)
    row = summary.initiatives.set_index("id").loc["E1-P1-08"]
    assert row["estado"] == "en ejecución" and row["avance_fisico"] == 30.5
    others = summary.initiatives[summary.initiatives["id"] != "E1-P1-08"]
    assert (others["estado"] == "sin iniciar").all() and others["avance_fisico"].isna().all()
    html = "".join(report.sector_lists_html(summary))
    assert ("<li>Construcción Complejo Deportivo La Turbina — Proyecto · <em>en ejecución · avance físico 30,5 %</em> · "
            "E1-P1-08</li>") in html
    assert "Proyecto · <em>sin iniciar</em> · " in html


def test_report_shows_status_and_escapes_names(shipped):
    summary = _summary(shipped, EVIL)
    html = report.sector_report_html(summary, shipped["commune"])
    assert "<script>alert" not in html
    item = re.search(r"<li>[^<]*(?:<span[^>]*>[^<]*</span>\s*)*?<span class=\"nombre\">&lt;script&gt;.*?</li>", html,
                     flags=re.S).group(0)
    assert "en ejecución · avance físico 30,5 %</span>" in item and item.endswith('<span class="id">E1-P1-08</span></li>')
    assert "<dt>Estado y avance</dt>" in html


def test_sector_map_tooltip_shows_status(shipped):
    from views import sectorview

    m = sectorview.sector_map(_summary(shipped, EVIL), shipped["commune"], shipped["territories"])
    html = mapview.map_html(m)
    # The tooltips travel as JSON (views.escape.js_value: < and > as \\uXXXX escapes).
    assert "\\u003cbr\\u003een ejecución · avance físico 30,5 %" in html
    assert "<script>alert" not in html


def test_sited_payload_draws_every_part_of_a_geometry_collection():
    """A site that is a collection holding a multipoint and a line draws each point and the line."""
    sited = _sited()
    sited.loc[2, "geometry"] = shapely.GeometryCollection([
        shapely.MultiPoint([(-70.76, -28.58), (-70.755, -28.575)]),
        shapely.LineString([(-70.76, -28.58), (-70.75, -28.57)]),
    ])
    doc, kinds = sited_payload(sited, {"E1": "Uno", "E2": "Dos", "E3": "Tres"})
    assert kinds == {"point": 3, "line": 2, "polygon": 0}
    assert [p[2] for p in doc["pt"]] == [0, 2, 2] and len(doc["sh"]["features"]) == 2
