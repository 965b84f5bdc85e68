"""The sector map: sited initiatives as one GeoJSON layer with one tooltip function, neighbours as one layer."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.crs import UTM19S, WGS84
from layers import links, sector
from views import mapview, sectorview

EVIL = "<script>alert('x')</script> ${1+1} `b` & \"q\""


def _payload_of(html: str) -> dict:
    """The JSON document of the SectorInitiatives script in a rendered map."""
    found = re.findall(r"var d = (\{\"f\":.*?\});\n", html)
    assert len(found) == 1
    return json.loads(found[0])


def _with_points(shipped, slug: str, n: int, seed: int = 3) -> gpd.GeoDataFrame:
    """The shipped initiatives plus ``n`` sited points inside territory ``slug``, the first one named EVIL."""
    terr = shipped["territories"]
    area = terr.loc[terr["slug"] == slug].to_crs(UTM19S).geometry.iloc[0]
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = area.bounds
    pts = shapely.points(rng.uniform(x0, x1, 8 * n), rng.uniform(y0, y1, 8 * n))
    pts = pts[shapely.contains_properly(area, pts)][:n]
    base = shipped["initiatives"]
    extra = base[base["alcance"] == "territorial"].iloc[[0] * len(pts)].copy()
    extra["id"] = [f"X-{k:05d}" for k in range(len(pts))]
    extra["nombre"] = [EVIL] + [f"Obra {k}" for k in range(1, len(pts))]
    extra["estrategia"] = np.where(np.arange(len(pts)) % 2, "E2", "E5")
    extra = extra.set_geometry(gpd.GeoSeries(pts, crs=UTM19S).to_crs(WGS84).array)
    return gpd.GeoDataFrame(
        gpd.pd.concat([base, extra], ignore_index=True), geometry=base.geometry.name, crs=WGS84
    )


def test_many_points_are_one_layer_with_one_tooltip_function(shipped):
    inits = _with_points(shipped, "centro", 2000)
    rel = links.relate(inits, shipped["territories"])
    summary = sector.sector_summary("centro", inits, shipped["territories"], rel, shipped["strategies"],
                                    monitoring=gpd.pd.DataFrame(columns=["estado", "avance_fisico"]))
    m = sectorview.sector_map(summary, shipped["commune"], shipped["territories"])
    html = mapview.map_html(m)
    doc = _payload_of(html)
    points = sum(len(shapely.get_parts(g)) for g in summary.sited.geometry if g.geom_type.endswith("Point"))
    shapes = sum(not g.geom_type.endswith("Point") for g in summary.sited.geometry)
    assert points >= 2000 and len(doc["f"]) == points + shapes
    assert len(doc["t"]) == len(summary.sited)
    # One layer, one tooltip function: no folium marker, tooltip or GeoJson per point.
    assert html.count("L.circleMarker(") == 1 and html.count("bindTooltip(function (l)") == 1
    assert "L.marker(" not in html and len(re.findall(r"\bgeo_json_\w+ = L\.geoJson", html)) <= 4
    # Hostile names are text: escaped HTML inside JSON that cannot close the script.
    assert "<script>alert" not in html and "`b`" in json.dumps(doc["t"]) and "${1+1}" in html
    tip = doc["t"][list(summary.sited["id"]).index("X-00000")]
    assert tip.startswith("<b>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;")
    # Styles are shared per kind and strategy, coordinates rounded.
    assert len(doc["s"]) <= 2 * len(set(summary.sited["estrategia"]))
    lon, lat = doc["f"][-1][2]["coordinates"]
    assert round(lon, sectorview.DECIMALS) == lon and -29 < lat < -28


def test_parts_of_collections_and_multipoints_are_drawn_one_by_one():
    sited = gpd.GeoDataFrame(
        {"nombre": ["a", "b", "c"], "estrategia": ["E1", "E2", "E3"], "tipo": ["Proyecto"] * 3},
        geometry=[
            shapely.GeometryCollection([shapely.MultiPoint([(-70.76, -28.58), (-70.755, -28.575)]),
                                        shapely.LineString([(-70.76, -28.58), (-70.75, -28.57)])]),
            shapely.MultiPolygon([shapely.box(-70.76, -28.58, -70.759, -28.579), shapely.box(-70.75, -28.58, -70.749, -28.579)]),
            shapely.Point(-70.77, -28.59),
        ],
        crs=WGS84,
    )
    doc = sectorview.initiatives_payload(sited)
    kinds = [(f[0], f[2]["type"]) for f in doc["f"]]
    assert kinds == [(0, "LineString"), (0, "Point"), (0, "Point"), (1, "MultiPolygon"), (2, "Point")]
    assert [doc["s"][f[1]].get("radius") is not None for f in doc["f"]] == [False, True, True, False, True]


def test_neighbours_are_one_layer(shipped):
    summary = sector.sector_summary("centro", shipped["initiatives"], shipped["territories"], shipped["relations"],
                                    shipped["strategies"])
    assert len(summary.neighbours) >= 2
    html = mapview.map_html(sectorview.sector_map(summary, shipped["commune"], shipped["territories"]))
    assert html.count("Territorios vecinos") >= 1
    tips = re.findall(r'"tip": "([^"]*)"', html)
    assert len(tips) == len(summary.neighbours) + 1  # every neighbour and the territory itself


def test_other_territories_near_the_territory_on_a_large_layer(shipped):
    terr = shipped["territories"]
    centre = terr.loc[terr["slug"] == "centro"].to_crs(UTM19S).geometry.iloc[0]
    x0, y0 = centre.centroid.x - 10_000, centre.centroid.y - 10_000
    cells = [shapely.box(x0 + i * 500, y0 + j * 500, x0 + (i + 1) * 500, y0 + (j + 1) * 500)
             for i in range(40) for j in range(40)]
    grid = gpd.GeoDataFrame({"slug": [f"c{k}" for k in range(len(cells))], "nombre": "c", "tipo": "sector urbano"},
                            geometry=cells, crs=UTM19S).to_crs(WGS84)
    inits = shipped["initiatives"]
    summary = sector.sector_summary("c820", inits, grid, links.relate(inits, grid, reference=terr))
    outlines = sectorview._other_outlines(summary, grid)
    minx, miny, maxx, maxy = summary.territory.geometry.bounds
    w = sectorview.OTHERS_WINDOW
    ox0, oy0, ox1, oy1 = outlines.bounds
    tol = 10 ** -sectorview.DECIMALS  # outlines are rounded
    assert ox0 >= minx - w * (maxx - minx) - tol and ox1 <= maxx + w * (maxx - minx) + tol
    assert oy1 - oy0 < 0.2 * (grid.total_bounds[3] - grid.total_bounds[1])
    # A small layer keeps every other territory.
    summary = sector.sector_summary("domeyko", inits, terr, shipped["relations"])
    shown = {"domeyko", *summary.neighbours["slug"]}
    others = terr[~terr["slug"].isin(shown)]
    assert np.allclose(sectorview._other_outlines(summary, terr).bounds, others.total_bounds, atol=1e-5)


def test_thousands_of_far_parts_are_left_out_of_the_territory_map():
    xs = np.linspace(-71.0, -70.0, 1500)
    sited = gpd.GeoDataFrame(
        {"nombre": ["Luminarias"], "estrategia": ["E1"], "tipo": ["Programa"]},
        geometry=[shapely.MultiPoint(np.column_stack([xs, np.full_like(xs, -28.6)]))], crs=WGS84,
    )
    window = (-70.8, -28.7, -70.7, -28.5)
    doc = sectorview.initiatives_payload(sited, window)
    lons = [f[2]["coordinates"][0] for f in doc["f"]]
    assert len(lons) == int(((xs >= -70.8) & (xs <= -70.7)).sum()) and min(lons) >= -70.8 and max(lons) <= -70.7
    few = sited.set_geometry([shapely.MultiPoint(np.column_stack([xs[:900], np.full(900, -28.6)]))])
    assert len(sectorview.initiatives_payload(few, window)["f"]) == 900  # below PARTS_LIMIT: every part


@pytest.mark.browser
def test_a_point_shows_its_own_tooltip_in_a_real_browser(shipped, browser, tmp_path):
    """The one tooltip function of the layer names the initiative under the pointer (Leaflet from static/vendor)."""
    from pathlib import Path

    inits = _with_points(shipped, "centro", 300)
    summary = sector.sector_summary("centro", inits, shipped["territories"], links.relate(inits, shipped["territories"]),
                                    monitoring=gpd.pd.DataFrame(columns=["estado", "avance_fisico"]))
    html = mapview.map_html(sectorview.sector_map(summary, shipped["commune"], shipped["territories"]))
    vendor = Path(__file__).resolve().parents[2] / "static" / "vendor"

    def local(url: str) -> str:  # offline: each CDN file replaced by the vendored one, or nothing
        found = sorted(vendor.rglob(url.rsplit("/", 1)[-1]))
        return found[0].as_uri() if found else "about:blank"

    html = re.sub(r'(src|href)="(https?://[^"]+)"', lambda m: f'{m.group(1)}="{local(m.group(2))}"', html)
    page_file = tmp_path / "sector.html"
    page_file.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 900, "height": 600})
    try:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_function("() => document.querySelectorAll('path.leaflet-interactive').length > 300")
        at = page.evaluate("""() => {
            const target = [...document.querySelectorAll('path.leaflet-interactive')].pop();
            const r = target.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        }""")
        page.mouse.move(*at)
        page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
        text = page.locator(".leaflet-tooltip").inner_text()
        assert text.startswith("Obra ") or text.startswith(EVIL), text
        assert not errors
    finally:
        page.close()


def test_finely_digitised_areas_are_sent_lighter_but_in_place():
    """An imported parcel with a vertex every few centimetres reaches the phone simplified by about 1 m."""
    centre = shapely.Point(-70.7600, -28.5800)
    fine = centre.buffer(0.002, quad_segs=2500)  # a ring of 10,001 vertices, ~0.13 m apart
    sited = gpd.GeoDataFrame({"nombre": ["parcela"], "estrategia": ["E1"], "tipo": ["Proyecto"]},
                             geometry=[fine], crs=WGS84)
    (drawn,) = sectorview.initiatives_payload(sited)["f"]
    sent = shapely.geometry.shape(drawn[2])
    assert len(sent.exterior.coords) < len(fine.exterior.coords) / 20
    assert sent.is_valid and shapely.hausdorff_distance(sent, fine) <= 2 * sectorview.SIMPLIFY_DEG
