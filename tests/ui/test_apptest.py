"""The pages Mapa del plan, Plan and Capas, run in-process with Streamlit's AppTest.

Every test starts the real entry point (``app.py``, with ``st.navigation``) on the
session store built by the ``data_dir`` fixture, and checks what people see:
figures, warnings, the table and the download buttons, and the filter state that
goes in and out of the URL. Expected selections are computed independently with
:func:`layers.query.filter_initiatives`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.htmltext import read_markdown
from tests.ui.conftest import frame_document, map_frames, map_selection

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 60


def expected(shipped, **filters) -> pd.DataFrame:
    from layers import query

    return query.filter_initiatives(
        shipped["initiatives"], shipped["relations"], territories=shipped["territories"], **filters
    )


def run_app(query: dict[str, str] | None = None, page: str | None = "pages/mapa.py") -> AppTest:
    """The app opened on ``page`` (the map by default) by its address, with ``query`` in the link."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    at.run()
    return at


def rendered(markdown: str) -> str:
    """What people read of a Markdown text whose every special character is escaped."""
    return read_markdown(markdown)


def metrics(at: AppTest) -> dict[str, int]:
    return {m.label: int(m.value) for m in at.metric}


def table(at: AppTest) -> pd.DataFrame:
    assert len(at.dataframe) == 1, "the map page shows one table of the selection"
    return at.dataframe[0].value


def no_failure(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # The page ran inside app.py's navigation (not as a stand-alone pages/ script).
    assert any("SIT Vallenar" in c.value for c in at.sidebar.caption)


# --------------------------------------------------------------------------- map page


def test_default_view(data_dir, shipped):
    at = run_app()
    no_failure(at)
    assert at.title[0].value == "Mapa del plan"
    sited = shipped["initiatives"].geometry.notna().sum()
    assert metrics(at) == {
        "Iniciativas": len(shipped["initiatives"]),
        "Con lugar en el mapa": int(sited),
        "Sectores y localidades donde aplican": len(shipped["territories"]),
    }
    shown = table(at)
    assert list(shown.columns) == ["id", "tipo", "nombre", "estrategia", "plan", "alcance", "territorios"]
    assert list(shown["id"]) == list(shipped["initiatives"]["id"])
    assert not at.warning and not at.info
    assert dict(at.query_params) == {}
    labels = [b.label for b in at.download_button]
    assert labels == ["Descargar GeoJSON", "Descargar CSV", "Descargar GeoPackage"]
    # The map is drawn as one HTML document in a frame, and the session holds no map object.
    (frame,) = map_frames(at)
    assert "leaflet.js" in frame_document(frame) and frame.alt.startswith("Mapa del plan")
    assert not [k for k, v in at.session_state.to_dict().items() if "folium" in repr(type(v)) or "folium" in k]


def test_filter_by_strategy_updates_table_and_url(data_dir, shipped):
    at = run_app()
    at.multiselect(key="mapa_estrategia").set_value(["E1"]).run()
    no_failure(at)
    want = expected(shipped, estrategia="E1")
    shown = table(at)
    assert list(shown["id"]) == list(want["id"])
    assert shown["estrategia"].str.startswith("E1 · ").all()
    assert metrics(at)["Iniciativas"] == len(want)
    assert at.query_params["estrategia"] == "1"


def test_plan_options_follow_strategies(data_dir, shipped):
    at = run_app()
    at.multiselect(key="mapa_estrategia").set_value(["E3"]).run()
    options = at.multiselect(key="mapa_plan").options
    assert options and all(o.startswith("E3-P") for o in options)
    at.multiselect(key="mapa_plan").set_value(["E3-P2"]).run()
    no_failure(at)
    assert list(table(at)["id"]) == list(expected(shipped, estrategia="E3", plan="E3-P2")["id"])
    assert at.query_params["plan"] == "E3-P2"
    # Leaving the strategy drops its plans from the selection.
    at.multiselect(key="mapa_estrategia").set_value(["E1"]).run()
    no_failure(at)
    assert at.multiselect(key="mapa_plan").value == []
    assert "plan" not in at.query_params


@pytest.mark.parametrize(
    ("key", "value", "filters", "url"),
    [
        ("mapa_tipo", ["Estudio"], {"tipo": "Estudio"}, ("tipo", "Estudio")),
        ("mapa_alcance", ["rural"], {"alcance": "rural"}, ("alcance", "rural")),
        ("mapa_territorio", ["domeyko"], {"territorio": "domeyko"}, ("territorio", "domeyko")),
    ],
)
def test_each_multiselect_filter(data_dir, shipped, key, value, filters, url):
    at = run_app()
    at.multiselect(key=key).set_value(value).run()
    no_failure(at)
    want = expected(shipped, **filters)
    assert 0 < len(want) < len(shipped["initiatives"])
    assert list(table(at)["id"]) == list(want["id"])
    assert at.query_params[url[0]] == url[1]


def test_free_text_search(data_dir, shipped):
    at = run_app()
    at.text_input(key="mapa_q").set_value("  agua ").run()
    no_failure(at)
    want = expected(shipped, q="agua")
    assert len(want) > 0
    shown = table(at)
    assert list(shown["id"]) == list(want["id"])
    assert shown["nombre"].str.lower().str.contains("agua").all()
    assert at.query_params["q"] == "agua"


def test_query_params_set_the_filters(data_dir, shipped):
    at = run_app({"estrategia": "1,3", "territorio": "centro", "tipo": "proyecto"})
    no_failure(at)
    assert not at.warning
    assert at.multiselect(key="mapa_estrategia").value == ["E1", "E3"]
    assert at.multiselect(key="mapa_territorio").value == ["centro"]
    assert at.multiselect(key="mapa_tipo").value == ["Proyecto"]
    want = expected(shipped, estrategia=["E1", "E3"], territorio="centro", tipo="Proyecto")
    assert list(table(at)["id"]) == list(want["id"])
    # The URL is written back in its canonical form.
    assert at.query_params["estrategia"] == "1,3"
    assert at.query_params["tipo"] == "Proyecto"


def test_territory_and_search_from_url(data_dir, shipped):
    at = run_app({"territorio": "domeyko", "q": "agua"})
    no_failure(at)
    want = expected(shipped, territorio="domeyko", q="agua")
    assert list(table(at)["id"]) == list(want["id"])
    assert at.text_input(key="mapa_q").value == "agua"


def test_empty_result_is_a_message_not_an_error(data_dir):
    at = run_app({"q": "zzzz-nada-coincide"})
    no_failure(at)
    assert any("Ningún resultado" in i.value for i in at.info)
    assert metrics(at)["Iniciativas"] == 0
    assert len(at.dataframe) == 0 and len(at.download_button) == 0


def test_unknown_territory_is_named_and_the_rest_still_works(data_dir, shipped):
    at = run_app({"territorio": "domeyco", "estrategia": "2"})
    no_failure(at)
    messages = " ".join(rendered(w.value) for w in at.warning)
    assert "«domeyco»" in messages and "domeyko" in messages  # the bad value, and a suggestion
    assert list(table(at)["id"]) == list(expected(shipped, estrategia="E2")["id"])
    assert at.query_params.get("territorio") is None  # dropped from the shared link
    assert at.query_params["estrategia"] == "2"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"estrategia": "9"}, "«9»"),
        ({"plan": "E9-P1"}, "«E9-P1»"),
        ({"tipo": "pavimento"}, "«pavimento»"),
        ({"alcance": "regional"}, "«regional»"),
        ({"capa": "no_existe"}, "«no_existe»"),
        ({"estrategia": "E1", "plan": "E2-P1"}, "E2-P1"),
        ({"estrategia": "<script>alert(1)</script>", "q": "x" * 500}, "alert(1)"),
    ],
)
def test_invalid_values_warn_and_never_crash(data_dir, query, named):
    at = run_app(query)
    no_failure(at)
    assert any(named in rendered(w.value) for w in at.warning), [w.value for w in at.warning]
    assert at.metric  # the page is still drawn


def test_clear_filters_button(data_dir, shipped):
    at = run_app({"estrategia": "4", "q": "deporte"})
    at.button[0].click().run()
    no_failure(at)
    assert metrics(at)["Iniciativas"] == len(shipped["initiatives"])
    assert dict(at.query_params) == {}


def test_map_is_rendered_once_per_view_for_every_visitor(data_dir):
    from views import mapframe

    at = run_app()
    builds = mapframe.DOCUMENTS.builds
    first = frame_document(map_frames(at)[0])
    at.run()  # a rerun with nothing changed draws the same document without building it
    assert frame_document(map_frames(at)[0]) == first and mapframe.DOCUMENTS.builds == builds
    assert map_selection(at) is None
    other = run_app()  # another visitor on the same view gets the document already rendered
    assert frame_document(map_frames(other)[0]) == first and mapframe.DOCUMENTS.builds == builds
    # A new colouring or selection is drawn in the document already open (views.restyle): no new
    # document, one selection document per view, shared by the visitors who ask for it.
    updates = mapframe.SELECTIONS.builds
    at.toggle(key="mapa_todas").set_value(True).run()
    no_failure(at)
    assert frame_document(map_frames(at)[0]) == first and mapframe.DOCUMENTS.builds == builds
    coloured = map_selection(at)
    assert coloured is not None and mapframe.SELECTIONS.builds == updates + 1
    at.multiselect(key="mapa_estrategia").set_value(["E6"]).run()
    chosen = map_selection(at)
    assert chosen not in (None, coloured) and mapframe.SELECTIONS.builds == updates + 2
    assert frame_document(map_frames(at)[0]) == first and mapframe.DOCUMENTS.builds == builds
    other.multiselect(key="mapa_estrategia").set_value(["E6"]).run()
    other.toggle(key="mapa_todas").set_value(True).run()  # the view the first visitor drew
    assert map_selection(other) == chosen and mapframe.SELECTIONS.builds == updates + 3
    # A visitor who opens that view's link gets a document of its own, drawn once.
    linked = run_app({"estrategia": "6", "color": "todas"})
    assert frame_document(map_frames(linked)[0]) != first and mapframe.DOCUMENTS.builds == builds + 1
    assert map_selection(linked) is None


def test_a_former_sector_slug_filters_the_map_by_its_census_zone(data_dir, shipped):
    at = run_app({"territorio": "hermanos-carrera"})
    no_failure(at)
    assert not at.warning, [w.value for w in at.warning]
    assert at.multiselect(key="mapa_territorio").value == ["norte-4-2"]
    want = expected(shipped, territorio="norte-4-2")
    assert set(table(at)["id"]) == set(want["id"])


@pytest.mark.parametrize("value", ["domeyko,centro", ",domeyko", " , domeyko ,"])
def test_a_sector_link_with_several_territories_shows_the_first_one_named(data_dir, value):
    at = run_app({"territorio": value}, page="pages/sector.py")
    no_failure(at)
    assert not at.warning, [w.value for w in at.warning]
    assert "Domeyko" in at.header[0].value.replace("\\", "")
    assert at.selectbox(key="sector_territorio").value == "domeyko"


def test_colour_choice_lives_in_the_link(data_dir):
    at = run_app()
    no_failure(at)
    assert at.toggle(key="mapa_todas").value is False  # by default each territory's own initiatives
    assert at.toggle(key="mapa_por_mil").value is False
    assert "color" not in at.query_params and "tasa" not in at.query_params
    at = run_app({"color": "todas", "tasa": "mil"})
    no_failure(at)
    assert at.toggle(key="mapa_todas").value is True and at.toggle(key="mapa_por_mil").value is True
    assert at.query_params["color"] == ["todas"] or at.query_params["color"] == "todas"
    captions = " ".join(c.value for c in at.caption)
    assert "1.000 habitantes" in captions and "toda la comuna" in captions


# --------------------------------------------------------------------------- plan page


def test_plan_page_tree_and_charts(data_dir, shipped):
    at = run_app(page="pages/plan.py")
    no_failure(at)
    assert at.title[0].value == "Plan de desarrollo comunal"
    assert len(at.expander) == 8
    assert at.expander[0].label.startswith("1. Desarrollo Territorial — ")
    inits = shipped["initiatives"]
    figures = metrics(at)
    assert figures["Iniciativas"] == len(inits)
    assert figures["Con lugar en el mapa"] == int(inits.geometry.notna().sum())
    text = "\n".join(m.value for m in at.markdown)
    for iid in inits["id"]:
        assert f"`{iid}`" in text  # every initiative is listed once in the tree
    # A programme lists its children nested below it.
    child = inits[inits["padre"].notna()].iloc[0]
    assert f"    - `{child['id']}`" in text
    assert len(at.get("vega_lite_chart")) == 3  # strategies, territories and urban zones charts
    # Equity of the urban zones: population and specific initiatives per 1,000 inhabitants.
    equity = at.dataframe[-1].value
    assert len(equity) == 13 and int(equity["poblacion"].sum()) == 42_610
    assert (equity["por_mil"] - 1000 * equity["especificas"] / equity["poblacion"]).abs().max() < 0.001
    assert list(equity["por_mil"]) == sorted(equity["por_mil"], reverse=True)
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "42.610" in captions and "48.759" in captions and "51.900" in captions


# --------------------------------------------------------------------------- layers page


def test_capas_page_catalogue_and_downloads(data_dir, shipped):
    from layers.exchange import export

    at = run_app(page="pages/capas.py")
    no_failure(at)
    registry = at.dataframe[0].value
    assert list(registry["nombre"]) == list(shipped["registry"]["nombre"])
    assert {"titulo", "descripcion", "fuente", "fecha", "crs_origen", "n", "precision_m"} <= set(registry.columns)
    assert len(at.download_button) == len(export.FORMATS)  # one button per format, bytes made on click
    assert all(b.label.startswith("Descargar ") for b in at.download_button)
    at.selectbox(key="capas_capa").set_value("estrategias").run()
    no_failure(at)
    assert len(at.download_button) == len(export.FORMATS)


# --------------------------------------------------------------------------- failures and imported layers


def test_store_failure_is_a_spanish_message(data_dir, monkeypatch):
    from layers import store
    from pages import _shared

    def broken(*_args, **_kwargs):
        raise store.StoreError("El almacén está dañado.")

    _shared._ensure_store_once.clear()
    monkeypatch.setattr(store, "ensure_store", broken)
    try:
        at = run_app()
    finally:
        monkeypatch.undo()
        _shared._ensure_store_once.clear()
    assert not at.exception
    assert len(at.error) == 1
    assert "No se pudo preparar el almacén" in at.error[0].value and "dañado" in at.error[0].value
    assert not at.metric


def test_missing_map_assets_are_reported(data_dir, monkeypatch, tmp_path):
    from views import webassets

    monkeypatch.setattr(webassets, "VENDOR_DIR", tmp_path)
    at = run_app()
    assert not at.exception
    assert [e.value for e in at.error] == [webassets.missing_assets_message()]
    assert not map_frames(at)  # no map is drawn without its assets
    assert at.metric and len(at.dataframe) == 1  # the rest of the page works


def test_imported_territory_layer_can_be_chosen(tmp_path, monkeypatch, data_dir):
    from layers import store

    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path))
    store.ensure_store()
    shipped = store.read_layer("territorios")
    urban = shipped[shipped["tipo"] == "sector urbano"].reset_index(drop=True)
    urban["slug"] = [f"uv-{i + 1:02d}" for i in range(len(urban))]
    urban["nombre"] = [f"Unidad vecinal {i + 1}" for i in range(len(urban))]
    store.save_layer("unidades_vecinales", urban, {"titulo": "Unidades vecinales", "clase": "territorios"})

    at = run_app({"capa": "unidades_vecinales", "territorio": "uv-01"})
    no_failure(at)
    assert at.selectbox(key="mapa_capa").value == "unidades_vecinales"
    assert at.multiselect(key="mapa_territorio").options[0] == "Unidad vecinal 1"
    assert at.multiselect(key="mapa_territorio").value == ["uv-01"]
    assert at.query_params["capa"] == "unidades_vecinales"
    assert metrics(at)["Sectores y localidades donde aplican"] == 1  # follows the chosen territory
    # Back to the shipped layer: the territory of the other layer is dropped, nothing breaks.
    at.selectbox(key="mapa_capa").set_value("territorios").run()
    no_failure(at)
    assert at.multiselect(key="mapa_territorio").value == []
    assert "capa" not in at.query_params


# --------------------------------------------------------------------------- first page


def test_first_page_explains_with_the_configured_text(data_dir, shipped, monkeypatch, tmp_path):
    from pages import _shared

    text = tmp_path / "presentacion.toml"
    text.write_text('periodo = "2021-2026"\ncontacto = "SECPLAN, oficina 12 *no es Markdown*"\n', encoding="utf-8")
    monkeypatch.setattr(_shared, "PRESENTATION_FILE", text)
    at = run_app(page=None)
    no_failure(at)
    assert at.title[0].value.startswith("El plan de desarrollo de Vallenar")
    shown = rendered("\n".join(m.value for m in at.markdown))
    assert "Período del plan: **2021-2026**" in shown
    assert f"**{len(shipped['initiatives'])} iniciativas**" in shown
    assert "SECPLAN, oficina 12 *no es Markdown*" in shown  # shown literally
    assert at.selectbox(key="inicio_territorio").value is None


def test_first_page_without_its_text_file_still_explains(data_dir, monkeypatch, tmp_path):
    from pages import _shared

    monkeypatch.setattr(_shared, "PRESENTATION_FILE", tmp_path / "no-existe.toml")
    at = run_app(page=None)
    no_failure(at)
    shown = rendered("\n".join(m.value for m in at.markdown))
    assert "no dice sus años de vigencia" in shown


def test_a_root_link_with_filters_opens_the_map(data_dir, shipped):
    slug = shipped["territories"]["slug"].iloc[-1]
    at = run_app({"territorio": slug}, page=None)
    no_failure(at)
    assert at.title[0].value == "Mapa del plan"
    assert at.multiselect(key="mapa_territorio").value == [slug]


def test_plan_charts_keep_their_bars_on_a_phone(data_dir):
    import json

    at = run_app(page="pages/plan.py")
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        enc = spec.get("encoding") or spec["layer"][0]["encoding"]
        assert enc["y"]["axis"]["labelLimit"] <= 150
        if "color" in enc:  # the urban zones chart has one colour and no legend
            assert enc["color"]["legend"]["orient"] == "bottom"
        assert enc["description"]["field"] == "descripcion"
