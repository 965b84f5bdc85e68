"""The plan's map (layers/mapview.py) and its symbology (layers/symbology.py)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.crs import UTM19S
from layers import links
from views import mapframe, mapview, symbology, webassets

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
XSS = "<img src=x onerror=alert(1)>"


def decoded(html_text: str) -> str:
    """The page text as the browser's JavaScript sees it (JSON ``\\uXXXX`` escapes undone)."""
    return (
        html_text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&").replace("\\u0027", "'")
    )


@pytest.fixture(scope="module")
def shipped(data_dir):
    from layers import store

    initiatives = store.read_layer("iniciativas")
    territories = store.read_layer("territorios")
    strategies = store.read_layer("estrategias")
    return {
        "commune": store.read_layer("comuna"),
        "territories": territories,
        "initiatives": initiatives,
        "relations": links.relate(initiatives, territories),
        "strategies": dict(zip(strategies["id"], strategies["nombre"])),
    }


@pytest.fixture(scope="module")
def display(shipped):
    return {
        "commune": mapview.display_geometries(shipped["commune"], ["nombre"]),
        "territories": mapview.display_geometries(shipped["territories"], ["slug", "nombre", "tipo"]),
        "initiatives": mapview.display_geometries(shipped["initiatives"], tolerance_m=5),
    }


def make_map(shipped, display, ids=None, **kwargs):
    ids = list(shipped["initiatives"]["id"]) if ids is None else ids
    return mapview.selection_map(
        display["commune"], display["territories"], display["initiatives"], ids, shipped["relations"],
        strategies=shipped["strategies"], **kwargs,
    )


def geojson_payloads(html_text: str) -> list[dict]:
    """FeatureCollections that folium's GeoJson layers add to the map."""
    found = re.findall(r"_add\((\{\"features\".*?\})\);\n", html_text)
    return [json.loads(decoded(f)) for f in found]


def territory_document(html_text: str) -> tuple[dict, dict]:
    """The territory layer's per-selection document and its geometry (views._elements.TerritoryChoropleth)."""
    doc = re.search(r"var territoryDoc = (\{.*?\});\n", html_text)
    geometry = re.search(r"var territoryGeometry = (\{.*?\});\n", html_text)
    assert doc and geometry, "the territories are in the page"
    return json.loads(decoded(doc.group(1))), json.loads(geometry.group(1))


def sited_payload(html_text: str) -> dict:
    match = re.search(r"var d = (\{.*?\});\n", html_text)
    assert match, "the sited initiatives document is in the page"
    return json.loads(decoded(match.group(1)))


# --------------------------------------------------------------------------- symbology


def test_strategy_colours_are_okabe_ito_and_distinct():
    assert set(symbology.STRATEGY_COLORS) == {f"E{i}" for i in range(1, 9)}
    assert set(symbology.STRATEGY_COLORS.values()) == OKABE_ITO
    assert symbology.strategy_color("E99") == symbology.UNKNOWN_STRATEGY_COLOR


def test_sequential_ramp_darkens_monotonically():
    lum = [symbology.relative_luminance(c) for c in symbology.SEQUENTIAL]
    assert all(a > b for a, b in zip(lum, lum[1:]))
    assert symbology.relative_luminance(symbology.ZERO_COLOR) > lum[0]
    for n in range(1, symbology.MAX_CLASSES + 1):
        colours = symbology.class_colors(n)
        assert len(colours) == n and len(set(colours)) == n
        steps = [symbology.relative_luminance(c) for c in colours]
        assert all(a > b for a, b in zip(steps, steps[1:]))


def test_class_breaks():
    assert symbology.class_breaks([0, 0]) == []
    assert symbology.class_breaks([0, 3, 1, 3]) == [1, 3]
    many = list(range(0, 101))
    breaks = symbology.class_breaks(many)
    assert len(breaks) <= symbology.MAX_CLASSES and breaks[-1] == 100
    assert breaks == sorted(set(breaks))
    classes = symbology.classify(many, breaks)
    assert classes[0] == 0 and classes.max() == len(breaks) and (np.diff(classes) >= 0).all()
    assert symbology.classify([0, 1, 2, 3], [1, 3]).tolist() == [0, 1, 2, 2]
    assert symbology.class_labels([1, 3]) == ["1", "2–3"]
    assert symbology.class_labels([160, 161, 174], minimum=160) == ["160", "161", "162–174"]
    rows = symbology.choropleth_legend([1, 3])
    assert rows[0] == ("0", symbology.ZERO_COLOR) and len(rows) == 3
    assert [r[0] for r in symbology.choropleth_legend([5, 9], minimum=4, zero=False)] == ["4–5", "6–9"]
    assert symbology.choropleth_legend([], zero=False) == [("0", symbology.ZERO_COLOR)]
    assert symbology.fill_colors([0, 5], [5]) == [symbology.ZERO_COLOR, symbology.class_colors(1)[0]]


def test_classes_are_labelled_by_the_values_they_hold():
    """?color=todas on the shipped data: 160-163 (rural) and 171-175 (urban); no territory has 164-170."""
    values = [160, 161, 163, 163, 171, 172, 175, 175]
    breaks = symbology.class_breaks(values, max_classes=2)
    assert symbology.class_labels(breaks, minimum=160, values=values) == ["160–163", "171–175"]
    assert symbology.class_labels([1, 3], values=[3]) == ["1", "3"]  # an empty class keeps its bound
    rates = [0.2013, 0.321, 0.377, 0.544, 1.149]
    labels = symbology.class_labels(symbology.rate_breaks(rates), minimum=0.2013, decimals=2, values=rates)
    assert labels[0].startswith("0,20") and labels[-1].endswith("1,15")


def test_geometry_styles():
    assert symbology.geometry_kind("MultiPoint") == "point"
    assert symbology.geometry_kind("LineString") == "line"
    assert symbology.geometry_kind("MultiPolygon") == "polygon"
    assert symbology.geometry_kind(None) is None
    assert symbology.polygon_style("E2")["fillColor"] == "#56B4E9"
    assert symbology.point_style("E8")["color"] == symbology.MARK_OUTLINE


# --------------------------------------------------------------------------- display geometries


def test_display_geometries_are_lighter_rounded_and_keep_the_coverage(shipped, display):
    terr = shipped["territories"]
    light = display["territories"]
    assert list(light.columns) == ["slug", "nombre", "tipo", "geometry"]
    assert light.crs.to_epsg() == 4326 and len(light) == len(terr)
    before = shapely.get_num_coordinates(terr.geometry.array).sum()
    after = shapely.get_num_coordinates(light.geometry.array).sum()
    assert after < before
    coords = shapely.get_coordinates(light.geometry.array)
    assert np.allclose(coords, np.round(coords, mapview.DISPLAY_DECIMALS))
    # Neighbours still share their edges: no overlaps nor slivers between territories.
    metric = light.geometry.to_crs(UTM19S).array
    overlap = shapely.area(shapely.union_all(metric)) - shapely.area(metric).sum()
    assert abs(overlap) < 0.001 * shapely.area(metric).sum()
    # No boundary moves much more than the tolerance.
    moved = shapely.hausdorff_distance(metric, terr.geometry.to_crs(UTM19S).array)
    assert moved.max() < 2 * mapview.DISPLAY_TOLERANCE_M


def test_display_geometries_keep_null_geometries(shipped, display):
    inits = display["initiatives"]
    assert len(inits) == len(shipped["initiatives"])
    assert inits.geometry.isna().sum() == shipped["initiatives"].geometry.isna().sum()


# --------------------------------------------------------------------------- counts and bounds


def test_territory_counts(shipped):
    rel = shipped["relations"]
    slugs = shipped["territories"]["slug"]
    ids = list(shipped["initiatives"]["id"])
    counts = mapview.territory_counts(rel, ids, slugs)
    assert list(counts.index) == list(slugs)
    assert set(links.RELACIONES) <= set(counts.columns)
    pairs = rel.pairs()  # the rule's answer is the one the full table of pairs gives
    assert counts["n"].sum() == len(pairs)
    assert counts.equals(mapview.territory_counts(pairs, ids, slugs))
    specific = mapview.territory_counts(rel, ids, slugs, specific_only=True)
    assert specific["n"].sum() == pairs["relacion"].isin(["ubicada", "vinculada"]).sum()
    none = mapview.territory_counts(rel, [], slugs)
    assert (none["n"] == 0).all() and len(none) == len(slugs)


def test_selection_bounds(shipped, display):
    commune = display["commune"]
    cw, cs, ce, cn = commune.total_bounds
    whole = mapview.selection_bounds(None, None, commune)
    assert whole == [[pytest.approx(cs), pytest.approx(cw)], [pytest.approx(cn), pytest.approx(ce)]]
    terr = display["territories"]
    domeyko = terr[terr["slug"] == "domeyko"]
    (s, w), (n, e) = mapview.selection_bounds(display["initiatives"].iloc[:0], domeyko, commune)
    dw, ds, de, dn = domeyko.total_bounds
    assert s <= ds and w <= dw and n >= dn and e >= de and n - s < (cn - cs) / 5
    point = display["initiatives"][display["initiatives"].geom_type == "Point"].iloc[[0]]
    (s, w), (n, e) = mapview.selection_bounds(point, None, commune)
    assert n - s == pytest.approx(mapview.MIN_FIT_SPAN_DEG) and e - w == pytest.approx(mapview.MIN_FIT_SPAN_DEG)


# --------------------------------------------------------------------------- the map


def test_map_draws_every_territory_and_sited_initiative(shipped, display):
    m = make_map(shipped, display)
    html_text = m.get_root().render()
    doc, geometry = territory_document(html_text)
    territories = geometry["features"]
    assert len(territories) == len(shipped["territories"]) == len(doc["n"]) == len(doc["k"]) == len(doc["c"])
    assert [f["id"] for f in territories] == list(range(len(territories)))
    assert set(doc["n"]) >= {"Domeyko", "Centro", "Barrio Estación"}
    assert len(geojson_payloads(html_text)) == 1  # the commune outline (no territory selected)
    # The territories travel once, as compact GeoJSON at the display precision: the payload floor.
    floor = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)}
        for g in display["territories"].geometry]}, separators=(",", ":"))
    sent = len(re.search(r"var territoryDoc = .*?;\n", html_text).group(0)) + len(json.dumps(geometry, separators=(",", ":")))
    assert sent <= 1.3 * len(floor)
    assert max(len(str(c).split(".")[-1]) for f in territories for c in np.ravel(f["geometry"]["coordinates"][0])) <= 5
    doc = sited_payload(html_text)
    sited = shipped["initiatives"][shipped["initiatives"].geometry.notna()]
    assert len(doc["r"]) == len(sited)
    kinds = sited.geometry.geom_type
    n_points = int(shapely.get_num_geometries(sited.geometry[kinds.str.contains("Point")].array).sum())
    assert len(doc["pt"]) == n_points
    assert len(doc["sh"]["features"]) == int((~kinds.str.contains("Point")).sum())
    assert "L.circleMarker" in html_text and "L.markerClusterGroup" in html_text


def test_map_legend_says_what_is_counted(shipped, display):
    html_text = decoded(make_map(shipped, display).get_root().render())
    assert "sit-legend" in html_text
    assert "Iniciativas por territorio" in html_text
    assert "incluye alcance comunal, urbano o rural" in html_text
    assert "Iniciativas ubicadas, por estrategia" in html_text
    specific = decoded(make_map(shipped, display, specific_only=True).get_root().render())
    assert "solo ubicadas o vinculadas" in specific


def test_map_opens_on_the_selection(shipped, display):
    m = make_map(shipped, display, selected_territories=["domeyko"], filtered=True)
    fit = [c for c in m._children.values() if type(c).__name__ == "FitBounds"]
    assert len(fit) == 1
    (s, w), (n, e) = fit[0].bounds
    dw, ds, de, dn = display["territories"].set_index("slug").loc[["domeyko"]].total_bounds
    assert s <= ds and n >= dn and w <= dw and e >= de
    html_text = m.get_root().render()
    assert len(geojson_payloads(html_text)) == 2  # the commune and the outline of the chosen territory


def test_map_is_offline_and_osm_is_optional(shipped, display):
    m = make_map(shipped, display)
    js, css = webassets.asset_links(m)
    assert js and css and all(u.startswith("/app/static/vendor/") for u in js + css)
    tiles = [c for c in m._children.values() if type(c).__name__ == "TileLayer"]
    assert len(tiles) == 1 and tiles[0].show is False and tiles[0].overlay is True


def test_every_text_from_data_is_escaped(shipped, display):
    inits = display["initiatives"].copy()
    sited = inits.index[inits.geometry.notna()]
    inits.loc[sited[0], "nombre"] = XSS
    inits.loc[sited[1], "fuente_geometria"] = "<script>alert(2)</script>"
    inits.loc[sited[2], "plan_nombre"] = "Plan <b>negrita</b> & más"
    terr = display["territories"].copy()
    terr.loc[terr.index[0], "nombre"] = "<img src=y onerror=alert(3)>"
    strategies = dict(shipped["strategies"], E1="Estrategia <i>uno</i>")
    ids = list(inits.loc[sited, "id"])
    m = mapview.selection_map(
        display["commune"], terr, inits, ids, shipped["relations"], strategies=strategies,
    )
    raw = m.get_root().render()
    page = decoded(raw)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;img src=y onerror=alert(3)&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "Plan &lt;b&gt;negrita&lt;/b&gt; &amp; más" in page
    assert "Estrategia &lt;i&gt;uno&lt;/i&gt;" in page
    for raw_markup in ("<img src=x", "<img src=y", "<script>alert(2)", "<b>negrita", "<i>uno"):
        assert raw_markup not in page
        assert raw_markup not in raw


def test_template_code_in_data_stays_text(shipped, display):
    """branca renders every element's script again as a Jinja2 template: data must not reach it as code."""
    from views import maplocale

    inits = display["initiatives"].copy()
    sited = inits.index[inits.geometry.notna()]
    inits.loc[sited[0], "nombre"] = "{{ 7 * 7 }}"
    inits.loc[sited[1], "fuente_geometria"] = "{% for i in range(3) %}x{% endfor %}"
    terr = display["territories"].copy()
    terr.loc[terr.index[0], "nombre"] = "{{ cycler.__init__.__globals__ }}"
    terr.loc[terr.index[1], "nombre"] = "{# oculto #}"
    reference = display["territories"].iloc[:2].assign(nombre="{{ 6 * 7 }}")
    m = mapview.selection_map(
        display["commune"], terr, inits, list(inits.loc[sited, "id"]), shipped["relations"],
        strategies=shipped["strategies"], selected_territories=list(terr["slug"].iloc[:2]),
        reference_layers=[("{{ 5 * 5 }}", mapview.reference_display(reference))],
    )
    page = decoded(mapframe.render(maplocale.prepare(m, title="{{ 4 * 4 }}", territories=terr)))
    page = page.replace("\\u007b", "{").replace("&#123;", "{")
    for text in ("{{ 7 * 7 }}", "{% for i in range(3) %}x{% endfor %}", "{{ cycler.__init__.__globals__ }}",
                 "{# oculto #}", "{{ 6 * 7 }}", "{{ 5 * 5 }}", "{{ 4 * 4 }}"):
        assert text in page, text  # evaluated, it would be gone (49, xxx, a dump of globals...)


def test_map_payload_is_bounded(shipped, display):
    m = make_map(shipped, display)
    size = len(m.get_root().render().encode("utf-8"))
    assert size < 150_000, size
    # Coordinates reach the browser with at most DISPLAY_DECIMALS decimals.
    html_text = m.get_root().render()
    long_decimals = re.findall(r"-\d{2}\.\d{7,}", html_text)
    assert long_decimals == []


def test_empty_selection_draws_a_map(shipped, display):
    m = make_map(shipped, display, ids=[], filtered=True)
    html_text = decoded(m.get_root().render())
    assert "La selección no tiene iniciativas ubicadas." in html_text
    assert sited_payload(m.get_root().render())["pt"] == []


def test_geometry_collection_parts_are_drawn(shipped, display):
    inits = display["initiatives"].copy()
    first = inits.index[inits.geometry.notna()][0]
    inits.loc[first, "geometry"] = shapely.GeometryCollection(
        [shapely.Point(-70.76, -28.58), shapely.LineString([(-70.76, -28.58), (-70.75, -28.57)])]
    )
    inits = gpd.GeoDataFrame(inits, geometry="geometry", crs=4326)
    payload, kinds = mapview.sited_payload(inits.loc[[first]], shipped["strategies"])
    assert kinds == {"point": 1, "line": 1, "polygon": 0}
    assert len(payload["pt"]) == 1 and len(payload["sh"]["features"]) == 1


# --------------------------------------------------------------------------- reference overlays


def reference_layer(n_points: int = 3) -> gpd.GeoDataFrame:
    """A mixed reference layer near the city: points, a line, a polygon, a null and a collection."""
    rng = np.random.default_rng(7)
    xs = -70.76 + rng.uniform(-0.02, 0.02, n_points)
    ys = -28.58 + rng.uniform(-0.02, 0.02, n_points)
    points = [shapely.Point(x, y) for x, y in zip(xs, ys)]
    line = shapely.LineString([(-70.78, -28.59), (-70.7712345678, -28.5812345678), (-70.74, -28.57)])
    polygon = shapely.box(-70.77, -28.59, -70.75, -28.57)
    collection = shapely.GeometryCollection([shapely.Point(-70.75, -28.56), shapely.LineString([(-70.75, -28.56), (-70.74, -28.55)])])
    names = [f"Punto {i}" for i in range(n_points)] + [XSS, None, "Sin geometría", "Colección"]
    return gpd.GeoDataFrame(
        {"nombre": names, "Name": ["otro"] * (n_points + 4)},
        geometry=[*points, line, polygon, None, collection],
        crs=4326,
    )


def reference_documents(html_text: str) -> list[dict]:
    docs = [json.loads(decoded(d)) for d in re.findall(r"var d = (\{.*?\});\n", html_text)]
    return [d for d in docs if "r" not in d]


def test_reference_labels_take_the_first_present_field():
    frame = gpd.GeoDataFrame(
        {"NOMBRE": ["A", None, "", None], "name": [None, "b", "c", " "], "Name": ["x", "y", "z", None]},
        geometry=[shapely.Point(0, 0)] * 4, crs=4326,
    )
    assert mapview.reference_labels(frame).tolist() == ["A", "b", "c", None]  # NOMBRE before Name
    assert mapview.reference_labels(frame.drop(columns=["NOMBRE"])).tolist() == ["x", "b", "c", None]
    assert mapview.reference_labels(frame.drop(columns=["name", "Name"])).tolist() == ["A", None, None, None]
    assert mapview.reference_labels(frame[["geometry"]]).tolist() == [None] * 4


def test_reference_display_is_light_and_labelled():
    layer = reference_layer()
    shown = mapview.reference_display(layer)
    assert list(shown.columns) == [mapview.REFERENCE_LABEL, "geometry"]
    assert shown.crs.to_epsg() == 4326 and len(shown) == len(layer)
    assert shown[mapview.REFERENCE_LABEL].tolist()[:3] == ["Punto 0", "Punto 1", "Punto 2"]
    assert shown.geometry.iloc[-2] is None  # null geometries stay null
    coords = shapely.get_coordinates(shown.geometry.dropna().array)
    assert np.allclose(coords, np.round(coords, mapview.DISPLAY_DECIMALS))


def test_map_without_reference_layers_is_unchanged(shipped, display):
    html_text = make_map(shipped, display).get_root().render()
    assert reference_documents(html_text) == []
    assert "Capas de referencia" not in decoded(html_text)
    again = make_map(shipped, display, reference_layers=None).get_root().render()
    assert len(again) == len(html_text)


def test_reference_layers_are_overlays_in_a_neutral_style(shipped, display):
    import folium

    layers = [("Equipamiento <i>municipal</i>", mapview.reference_display(reference_layer())),
              ("Red vial", mapview.reference_display(reference_layer(2).iloc[2:4]))]
    m = make_map(shipped, display, reference_layers=layers)
    raw = m.get_root().render()
    page = decoded(raw)
    groups = [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    names = [g.layer_name for g in groups]
    assert "Equipamiento &lt;i&gt;municipal&lt;/i&gt;" in names and "Red vial" in names
    assert all(g.show for g in groups if g.layer_name in ("Red vial", "Equipamiento &lt;i&gt;municipal&lt;/i&gt;"))
    assert '"Red vial"' in raw  # listed in the layer control
    docs = reference_documents(raw)
    assert len(docs) == 2
    first = docs[0]
    assert len(first["pt"]) == 3 + 1  # three points and the collection's point
    kinds = sorted(f["geometry"]["type"] for f in first["sh"]["features"])
    assert kinds == ["LineString", "LineString", "Polygon"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in first["n"]
    for raw_markup in ("<img src=x", "<i>municipal"):
        assert raw_markup not in page
    # Neutral: grey, no fill, nothing of the strategy palette or the choropleth ramp.
    styles = [first["ps"], first["ls"], first["gs"]]
    assert first["ps"]["fill"] is False and first["gs"]["fill"] is False
    used = {str(s["color"]).upper() for s in styles}
    assert not used & (OKABE_ITO | set(symbology.SEQUENTIAL))
    assert all(c[1:3] == c[3:5] == c[5:7] for c in used)  # greys
    # Legend entry, and drawn below the initiatives (their script comes after).
    assert "Capas de referencia" in page and "Equipamiento &lt;i&gt;municipal&lt;/i&gt;" in page
    assert page.index('var d = {"pt"') < page.index('var d = {"r"')


def test_large_reference_point_layers_are_clustered(shipped, display):
    import folium
    from folium.plugins import MarkerCluster

    big = mapview.reference_display(reference_layer(mapview.REFERENCE_CLUSTER_MIN_POINTS))
    small = mapview.reference_display(reference_layer(5))
    m = folium.Map()
    drawn = mapview.add_reference_layers(m, [("Grande", big), ("Pequeña", small)])
    assert [t for t, _ in drawn] == ["Grande", "Pequeña"]
    assert drawn[0][1]["point"] == mapview.REFERENCE_CLUSTER_MIN_POINTS + 1
    groups = {c.layer_name: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)}
    clusters = [c for c in groups["Grande"]._children.values() if isinstance(c, MarkerCluster)]
    assert len(clusters) == 1 and clusters[0].control is False
    assert not [c for c in groups["Pequeña"]._children.values() if isinstance(c, MarkerCluster)]
    overlays = [c for c in m._children.values() if type(c).__name__ == "ReferenceOverlay"]
    assert overlays[0].points is clusters[0] and overlays[1].points is groups["Pequeña"]
    html_text = m.get_root().render()
    assert html_text.count("L.markerClusterGroup") == 1


# --------------------------------------------------------------------------- what the colour says


def test_choropleth_counts_specific_initiatives_and_rates_per_thousand(shipped):
    terr, rel, inits = shipped["territories"], shipped["relations"], shipped["initiatives"]
    specific = mapview.territory_counts(rel, inits["id"], terr["slug"], specific_only=True)
    everything = mapview.territory_counts(rel, inits["id"], terr["slug"])
    values, breaks, decimals = mapview.territory_values(specific, terr)
    assert decimals == 0 and values.max() <= 10  # a few per territory, not the 148 commune-wide ones
    wide, wide_breaks, _ = mapview.territory_values(everything, terr)
    assert wide.min() >= 148
    # Natural classes of the real distribution: a break between rural and urban territories.
    assert len(wide_breaks) < len(np.unique(wide))
    rates, rate_breaks, rate_decimals = mapview.territory_values(specific, terr, per_thousand=True)
    urban = (terr["tipo"] == "sector urbano").to_numpy()
    assert np.isnan(rates[~urban]).all() and np.isfinite(rates[urban]).all()
    expected = 1000 * specific["n"].reindex(terr["slug"]).to_numpy()[urban] / terr["poblacion"].to_numpy(dtype=float)[urban]
    assert np.allclose(rates[urban], expected)
    assert rate_decimals == mapview.RATE_DECIMALS and rate_breaks[-1] >= np.nanmax(rates)
    assert "1.000 habitantes" in mapview.count_label(True, True)
    assert mapview.count_legend_title(True, True)[0] == "Iniciativas por 1.000 habitantes"


def test_rate_classes_and_labels():
    breaks = symbology.rate_breaks([0.0, float("nan"), 0.2013, 0.321, 0.377, 0.544, 1.149])
    assert breaks == sorted(set(breaks)) and breaks[-1] >= 1.149 and len(breaks) <= symbology.MAX_CLASSES
    labels = symbology.class_labels(breaks, minimum=0.2013, decimals=2)
    assert labels[0].startswith("0,20") and all("," in label for label in labels)
    rows = symbology.choropleth_legend(breaks, minimum=0.2, zero=True, decimals=2)
    assert rows[0] == ("0", symbology.ZERO_COLOR) and len(rows) == len(breaks) + 1
    assert symbology.rate_breaks([float("nan"), 0.0]) == []


# --------------------------------------------------------------------------- a selection drawn in place (views.restyle)


def update_of(shipped, display, ids, **kwargs) -> dict:
    text = mapview.selection_update(
        display["commune"], display["territories"], display["initiatives"], ids, shipped["relations"],
        strategies=shipped["strategies"], **kwargs,
    )
    return json.loads(text)


def legend_in(html_text: str) -> str:
    (html_js,) = re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', html_text)
    return json.loads(html_js)


@pytest.mark.parametrize("options", [
    {},
    {"specific_only": True},
    {"per_thousand": True, "color_by": "estado"},
    {"selected_territories": ["centro", "domeyko"]},
    {"filtered": False},
], ids=["plain", "specific", "rate-status", "chosen", "unfiltered"])
def test_a_selection_update_shows_what_a_new_document_would(shipped, display, options):
    """The JSON a map already open draws from carries what selection_map would draw for the same selection."""
    inits = shipped["initiatives"]
    ids = list(inits.loc[inits["estrategia"].isin(["E1", "E6"]), "id"])
    if options.get("per_thousand"):
        display = dict(display, territories=display["territories"].assign(
            poblacion=np.arange(len(display["territories"])) * 100.0))
    update = update_of(shipped, display, ids, **options)
    page = make_map(shipped, display, ids, **options).get_root().render()
    doc, geometry = territory_document(page)
    for key in ("v", "c", "k", "r", "pal"):
        assert update["t"][key] == doc[key], key
    assert update["s"] == sited_payload(page)
    assert update["lg"] == json.loads(decoded(json.dumps(legend_in(page))))
    fit = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", page, flags=re.S).group(1)
    assert update["fit"] == json.loads(fit)
    chosen = options.get("selected_territories", [])
    assert [display["territories"]["slug"].iloc[i] for i in update["o"]] == [
        s for s in display["territories"]["slug"] if s in chosen]
    assert {f["id"] for f in geometry["features"]} >= set(update["o"])  # the outline is drawn from the document's geometry


def test_a_selection_update_escapes_every_text(shipped, display):
    inits = display["initiatives"].copy()
    sited = inits.index[inits.geometry.notna()]
    inits.loc[sited[0], "nombre"] = XSS
    strategies = dict(shipped["strategies"], E1="Estrategia <i>uno</i>")
    text = mapview.selection_update(
        display["commune"], display["territories"], inits, list(inits.loc[sited, "id"]), shipped["relations"],
        strategies=strategies, references=[("Capa <b>ref</b>", {"point": 2, "line": 0, "polygon": 0})],
    )
    for raw_markup in ("<img", "<i>uno", "<b>ref", "</script"):
        assert raw_markup not in text  # not even inside JSON strings: < is written \u003c
    update = json.loads(text)
    assert "&lt;img src=x onerror=alert(1)&gt;" in json.dumps(update["s"], ensure_ascii=False)
    assert "Estrategia &lt;i&gt;uno&lt;/i&gt;" in update["lg"]
    assert "Capa &lt;b&gt;ref&lt;/b&gt;" in update["lg"]


def test_reference_kinds_are_the_legend_rows_of_the_drawn_layers(shipped, display):
    layer = mapview.reference_display(reference_layer(5))
    m = make_map(shipped, display, reference_layers={"Pozos": layer})
    kinds = mapview.reference_kinds({"Pozos": layer})
    assert kinds == [("Pozos", {"point": 6, "line": 2, "polygon": 1})]  # the collection is drawn part by part
    ids = list(shipped["initiatives"]["id"])
    update = update_of(shipped, display, ids, references=kinds)
    assert update["lg"] == json.loads(decoded(json.dumps(legend_in(m.get_root().render()))))
