"""The map is drawn with no internet: every asset comes from the app's own server.

The unit tests check what :mod:`views.webassets` does to a folium map; the browser
test runs ``tests/ui/offline_probe_app.py`` with ``streamlit run`` and Debian's
chromium, aborts every request to a non-loopback address, and requires a drawn
Leaflet map, no blocked request and no console error.
"""

from __future__ import annotations

from pathlib import Path

import folium
import pytest
from folium.plugins import MarkerCluster

from views import webassets

PROBE_APP = Path(__file__).with_name("offline_probe_app.py")


def _sample_map() -> folium.Map:
    m = folium.Map(location=[-28.578, -70.76], zoom_start=13, tiles=None)
    webassets.osm_tile_layer().add_to(m)
    cluster = MarkerCluster().add_to(m)
    folium.CircleMarker([-28.578, -70.76], popup=folium.Popup("x")).add_to(cluster)
    folium.LayerControl().add_to(m)
    return m


def test_localize_map_uses_only_local_urls():
    m = webassets.localize_map(_sample_map())
    js, css = webassets.asset_links(m)
    urls = webassets.asset_urls()
    assert js == [urls["leaflet"], urls["jquery"], urls["markerclusterjs"]]
    assert css == [urls["leaflet_css"], urls["markerclustercss"], urls["markerclusterdefaultcss"]]
    assert all(u.startswith("/app/static/vendor/") for u in js + css)


def test_a_map_whose_elements_do_not_call_jquery_does_not_load_it():
    m = folium.Map(location=[-28.578, -70.76], zoom_start=13, tiles=None)
    cluster = MarkerCluster().add_to(m)
    folium.CircleMarker([-28.578, -70.76], tooltip="sin popup").add_to(cluster)
    js, _ = webassets.asset_links(webassets.localize_map(m))
    urls = webassets.asset_urls()
    assert js == [urls["leaflet"], urls["markerclusterjs"]]
    folium.Marker([-28.578, -70.76], popup="con popup").add_to(m)  # folium builds popups with $()
    assert urls["jquery"] in webassets.asset_links(webassets.localize_map(m))[0]


def test_localize_map_is_idempotent_and_leaves_folium_untouched():
    before = list(folium.Map.default_js)
    m = webassets.localize_map(webassets.localize_map(_sample_map()))
    assert webassets.asset_links(m)[0] == [
        webassets.asset_urls()[n] for n in ("leaflet", "jquery", "markerclusterjs")
    ]
    # The map's own lists are per instance: folium's Map class keeps its CDN links.
    assert folium.Map.default_js == before
    assert folium.Map().default_js[0][1].startswith("https://")
    # The vendored plugin's class lists point at the app, for every MarkerCluster of any map.
    urls = webassets.asset_urls()
    assert MarkerCluster.default_js == [("markerclusterjs", urls["markerclusterjs"])]
    assert [u for _, u in MarkerCluster().default_css] == [urls["markerclustercss"], urls["markerclusterdefaultcss"]]


def test_localize_map_reads_no_private_attribute():
    source = Path(webassets.__file__).read_text(encoding="utf-8")
    assert "_children" not in source and "_parent" not in source


def test_localize_map_refuses_assets_it_cannot_serve():
    m = _sample_map()
    folium.Marker([-28.578, -70.76], icon=folium.Icon(color="red")).add_to(m)
    with pytest.raises(webassets.OfflineAssetError):
        webassets.localize_map(m)

    m = _sample_map()
    m.add_child(folium.plugins.Fullscreen())  # a plugin that is not vendored
    with pytest.raises(webassets.OfflineAssetError, match="Fullscreen") as refused:
        webassets.localize_map(m)
    assert refused.value.code == "map_asset_not_served" and refused.value.data == {"element": "Fullscreen"}

    import branca.colormap

    m = _sample_map()
    m.add_child(branca.colormap.LinearColormap(["#ffffff", "#000000"]))  # d3 from a CDN
    with pytest.raises(webassets.OfflineAssetError):
        webassets.localize_map(m)


def test_localize_map_gives_a_tileless_map_a_max_zoom():
    m = webassets.localize_map(folium.Map(tiles=None))
    assert m.options["max_zoom"] == webassets.DEFAULT_MAX_ZOOM
    m = webassets.localize_map(webassets.offline_map([-28.578, -70.76], max_zoom=17))
    assert m.options["max_zoom"] == 17
    assert '"maxZoom": 17' in m.get_root().render()


def test_localize_map_sets_the_default_icon_path_first():
    m = webassets.localize_map(webassets.localize_map(_sample_map()))
    names = [child["name"] for child in m.to_dict()["children"].values()]
    assert names[0] == "LeafletImagePath" and names.count("LeafletImagePath") == 1
    html = m.get_root().render()
    assert 'L.Icon.Default.imagePath = "/app/static/vendor/leaflet/images/";' in html


def test_asset_urls_follow_base_url_path(monkeypatch):
    from streamlit import config

    monkeypatch.setattr(config, "get_option", lambda name: "/sit/" if name == "server.baseUrlPath" else None)
    assert webassets.asset_url("leaflet/leaflet.js") == "/sit/app/static/vendor/leaflet/leaflet.js"


def test_missing_assets_are_reported_in_spanish(monkeypatch, tmp_path):
    assert webassets.missing_assets_message() == "Faltan los recursos del mapa: ejecute make setup"
    monkeypatch.setattr(webassets, "VENDOR_DIR", tmp_path)
    assert not webassets.assets_installed()
    assert len(webassets.missing_files()) == len(webassets.required_files())
    with pytest.raises(webassets.MapAssetsMissingError, match="ejecute make setup"):
        webassets.ensure_assets_installed()


def _map_frame(probe, wanted, timeout_s: float = 60.0):
    """The first frame whose address ``wanted(url)`` accepts once it holds a Leaflet map."""
    for _ in range(int(timeout_s * 4)):
        for frame in probe.page.frames:
            try:
                if wanted(frame.url) and frame.locator(".leaflet-container").count():
                    return frame
            except Exception:  # detached while the page re-rendered: look again
                continue
        probe.page.wait_for_timeout(250)
    raise AssertionError(f"no such map frame: {[f.url for f in probe.page.frames]}")


@pytest.mark.browser
def test_map_draws_with_no_internet(streamlit_server, browser_page, artifacts_dir):
    if not webassets.assets_installed():
        pytest.fail(webassets.missing_assets_message())
    probe = browser_page
    probe.goto(streamlit_server(PROBE_APP))
    probe.page.get_by_text("Sonda lista").wait_for(timeout=60_000)

    frame = _map_frame(probe, lambda url: "streamlit_folium" in url)  # the st_folium component
    counts = probe.wait_for_features(frame, minimum=3)
    probe.settle()
    counts = probe.wait_for_features(frame, minimum=3)
    probe.page.screenshot(path=str(artifacts_dir / "offline_probe.png"), full_page=True)
    print(f"\nleaflet counts: {counts}\nblocked: {probe.blocked}\nconsole errors: "
          f"{probe.console_errors}\npage errors: {probe.page_errors}\nhttp errors: {probe.http_errors}")

    # Leaflet and MarkerCluster came from the app and drew the project's layers.
    assert counts["leaflet_version"] == "1.9.4"
    assert counts["marker_cluster"] is True
    assert counts["paths"] >= 2  # the GeoJson polygon and unclustered CircleMarkers
    assert counts["clusters"] >= 1  # the three nearby points are clustered
    assert counts["markers"] >= 1  # default marker, icon image from leaflet.css
    assert counts["layer_controls"] == 1
    assert counts["tiles"] == 0  # OpenStreetMap is optional and off by default
    assert frame.locator(".sit-legend").count() == 1

    # The stylesheets were applied (not only requested).
    assert frame.evaluate(
        "() => getComputedStyle(document.querySelector('.leaflet-container')).overflow"
    ) == "hidden"
    assert "rgba(181, 226, 140" in frame.evaluate(
        "() => getComputedStyle(document.querySelector('.marker-cluster-small')).backgroundColor"
    )
    assert any(u.endswith("/app/static/vendor/leaflet/images/layers.png") for u in probe.local_requests)
    assert any(u.endswith("/app/static/vendor/leaflet/images/marker-icon.png") for u in probe.local_requests)

    # Nothing outside the machine was needed, and nothing went wrong.
    assert probe.blocked == []
    assert probe.http_errors == []
    assert probe.console_errors == []
    assert probe.page_errors == []


@pytest.mark.browser
def test_published_map_frame_draws_with_no_internet(streamlit_server, browser_page):
    """The map page's way (views.mapframe): the document published under static/mapas/ loads in a frame,
    and Leaflet and MarkerCluster load from the app."""
    if not webassets.assets_installed():
        pytest.fail(webassets.missing_assets_message())
    probe = browser_page
    probe.goto(streamlit_server(PROBE_APP))
    probe.page.get_by_text("Sonda lista").wait_for(timeout=60_000)
    frame = _map_frame(probe, lambda url: "/app/static/mapas/" in url and url.endswith(".html"))
    counts = probe.wait_for_features(frame, minimum=1)
    probe.settle()
    assert frame.frame_element().get_attribute("title") == "Mapa de la sonda en un marco"
    assert counts["leaflet_version"] == "1.9.4" and counts["marker_cluster"] is True
    assert counts["clusters"] >= 1 and counts["tiles"] == 0 and frame.locator(".sit-legend").count() == 1
    assert frame.evaluate("() => getComputedStyle(document.querySelector('.leaflet-container')).overflow") == "hidden"
    assert probe.blocked == [] and probe.http_errors == [] and probe.console_errors == [] and probe.page_errors == []
