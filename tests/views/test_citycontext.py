"""Census blocks and zone labels under the maps (views/citycontext.py)."""

from __future__ import annotations

import folium
import geopandas as gpd
import pytest
import shapely

from layers import census, territories
from views import citycontext, webassets
from views.escape import js_value

UTM = "EPSG:32719"


@pytest.fixture(scope="module")
def blocks():
    return census.load_blocks()


@pytest.fixture(scope="module")
def payload(blocks):
    return citycontext.blocks_payload(blocks)


@pytest.fixture(scope="module")
def layer():
    return territories.load_territories(census.CENSUS_TERRITORIES_PATH)


def test_payload_decodes_to_the_blocks_within_the_display_tolerance(blocks, payload):
    decoded = citycontext.decode_blocks(payload)
    assert len(decoded) == len(blocks) == 801  # no block has holes: one ring each
    a = gpd.GeoSeries(decoded, crs="EPSG:4326").to_crs(UTM).array
    b = blocks.to_crs(UTM).geometry.array
    # Simplification plus rounding to 1e-5 degree (about 1 m), far below the ±25 m of the source.
    assert shapely.hausdorff_distance(a, b).max() < citycontext.BLOCK_TOLERANCE_M + 1.5
    assert citycontext.BLOCK_TOLERANCE_M < census.PRECISION_M
    assert all(isinstance(v, int) for ring in payload["r"] for v in ring)


def test_payload_is_small(blocks, payload):
    size = len(js_value(payload))
    full = len(js_value([shapely.geometry.mapping(g) for g in blocks.geometry]))
    assert size < 45_000
    assert size < full / 4
    exact = len(js_value(citycontext.blocks_payload(blocks, tolerance_m=0)))
    assert size < exact


def test_labels_name_every_urban_zone_in_plain_text(layer):
    labels = citycontext.label_payload(layer)
    urban = layer[layer["tipo"] == "sector urbano"]
    assert len(labels) == len(urban) == 13
    assert [citycontext.LABEL_LINE_BREAK.join(t[2]) for t in labels] == urban["nombre"].tolist()
    for (lat, lon, _), geom in zip(labels, urban.geometry):
        assert geom.buffer(1e-4).covers(shapely.Point(lon, lat))


def test_map_draws_blocks_in_their_pane_and_labels_as_text(layer, blocks):
    evil = layer.copy()
    evil.loc[evil["slug"] == "centro", "nombre"] = "<img src=x onerror=alert(1)> · `${x}`"
    m = webassets.offline_map(location=[-28.576, -70.759], zoom_start=14)
    pane = citycontext.territory_pane(m)
    citycontext.add_city_context(m, citycontext.blocks_payload(blocks.head(5)), citycontext.label_payload(evil))
    folium.LayerControl().add_to(m)
    html = m.get_root().render()
    assert pane == citycontext.TERRITORY_PANE and f'"{citycontext.TERRITORY_PANE}"' in html
    assert "<img src=x" not in html and "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    assert "createTextNode" in html
    assert citycontext.LAYER_NAME in html
    assert html.count("L.polygon(") == 1


# --------------------------------------------------------------------------- the maps that draw them


def _plan_map(shipped, blocks, **kwargs):
    from views import mapview

    terr = shipped["territories"]
    display = mapview.display_geometries(terr, ["slug", "nombre", "tipo", "poblacion"])
    strategies = dict(zip(shipped["strategies"]["id"], shipped["strategies"]["nombre"]))
    return mapview.map_html(mapview.selection_map(
        mapview.display_geometries(shipped["commune"], ["nombre"]), display,
        mapview.display_geometries(shipped["initiatives"], tolerance_m=5), shipped["initiatives"]["id"],
        shipped["relations"], strategies=strategies, filtered=False, **kwargs,
    ))


def test_plan_map_draws_blocks_under_everything_and_stays_small(shipped, blocks):
    city = citycontext.blocks_payload(blocks)
    without = _plan_map(shipped, blocks, specific_only=True)
    with_blocks = _plan_map(shipped, blocks, specific_only=True, city=city)
    added = len(with_blocks) - len(without)
    assert 0 < added < 50_000  # measured: about 43 kB for 801 blocks
    assert f'"pane":"{citycontext.TERRITORY_PANE}"' in with_blocks.replace('": "', '":"')  # the fills lie under the blocks
    assert citycontext.BLOCKS_PANE in with_blocks and citycontext.LAYER_NAME in with_blocks


def test_sector_map_and_report_draw_the_blocks(shipped, blocks):
    from layers import sector
    from views import report, sectorview

    summary = sector.sector_summary("centro", shipped["initiatives"], shipped["territories"], shipped["relations"])
    m = sectorview.sector_map(summary, shipped["commune"], shipped["territories"], city=citycontext.blocks_payload(blocks))
    assert citycontext.LAYER_NAME in m.get_root().render()
    svg = report.sector_map_svg(summary, shipped["commune"].geometry.iloc[0], territories=shipped["territories"], blocks=blocks)
    assert svg.count('class="manzanas"') == 1
    plain = report.sector_map_svg(summary, shipped["commune"].geometry.iloc[0], territories=shipped["territories"])
    assert 'class="manzanas"' not in plain
    far = sector.sector_summary("domeyko", shipped["initiatives"], shipped["territories"], shipped["relations"])
    assert 'class="manzanas"' not in report.sector_map_svg(far, shipped["commune"].geometry.iloc[0], blocks=blocks)


def test_blocks_stay_visible_over_every_choropleth_class():
    """The block outline keeps a contrast of at least 2:1 over the darkest class (it vanished at 1.04:1)."""
    from views import symbology
    from views.citycontext import BLOCK_STYLE

    def rgb(color: str) -> list[float]:
        return [int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]

    def over(top: list[float], below: list[float], alpha: float) -> list[float]:
        return [alpha * t + (1 - alpha) * b for t, b in zip(top, below)]

    def hex_of(color: list[float]) -> str:
        return "#" + "".join(f"{round(c):02x}" for c in color)

    for fill in (symbology.ZERO_COLOR, *symbology.SEQUENTIAL):
        under = over(rgb(fill), [255, 255, 255], float(symbology.TERRITORY_STYLE["fillOpacity"]))
        line = over(rgb(str(BLOCK_STYLE["color"])), under, float(BLOCK_STYLE["opacity"]))
        a, b = symbology.relative_luminance(hex_of(line)), symbology.relative_luminance(hex_of(under))
        assert (max(a, b) + 0.05) / (min(a, b) + 0.05) >= 2.0, fill
