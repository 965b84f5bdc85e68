"""The sector page (``pages/sector.py``) with Streamlit's AppTest: URL in, URL out, readable lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.htmltext import outline
from tests.ui.conftest import app_test

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"
PICKER = "sector_territorio"
AGUA = "agua potable rural"
PASEOS = "Paseos Peatonales"


def open_page(territorio: str | None = None) -> AppTest:
    query = {"territorio": territorio} if territorio is not None else None
    return app_test("pages/sector.py", query).run()


def page_text(at: AppTest) -> str:
    """Everything written as markdown, headings and captions, and the lists' text (what a screen reader reads)."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.header] + [e.value for e in at.subheader]
    parts += [e.value for e in at.caption] + [e.value for e in at.title]
    parts += [text for tag, text in list_outline(at)]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def list_outline(at: AppTest) -> list[tuple[str, str]]:
    """``[(tag, text)]`` of the initiative lists (``st.html`` blocks), in page order."""
    return [entry for element in at.html for entry in outline(element.value)]


def url_territory(at: AppTest) -> str | None:
    value = at.query_params.get("territorio")
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(autouse=True)
def _store(data_dir):
    return data_dir


def test_default_view_shows_a_territory_and_writes_it_to_the_url():
    at = open_page()
    assert not at.exception
    assert not at.warning and not at.error
    slug = at.selectbox(key=PICKER).value
    assert slug == "centro"
    assert url_territory(at) == "centro"
    assert at.header[0].value.replace("\\", "") == "Centro"
    m = metrics(at)
    assert m["Con lugar en este territorio"] == "2"
    assert int(m["Iniciativas en total"]) == sum(
        int(m[k]) for k in ("Con lugar en este territorio", "Nombran este territorio", "Programas urbanos", "Para toda la comuna")
    )
    text = page_text(at)
    assert ("h4", "Con lugar en este territorio (2)") in list_outline(at)
    assert PASEOS in text and "Reconversión Macromanzana" in text
    # Both downloads are offered, named after the territory.
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Descargar el territorio y sus iniciativas (GeoPackage)", "Descargar la lista de iniciativas (CSV)",
                      "Descargar el informe imprimible (HTML)"]


def test_options_are_sorted_by_kind_then_name():
    at = open_page()
    options = at.selectbox(key=PICKER).options
    kinds = [o.rsplit(" — ", 1)[1] for o in options]
    order = ("sector urbano", "localidad rural", "resto rural")
    assert [order.index(k) for k in kinds] == sorted(order.index(k) for k in kinds)
    assert options[-1].startswith("Resto rural")


def test_link_to_domeyko_lists_rural_water_and_not_the_centre():
    at = open_page("domeyko")
    assert not at.exception and not at.warning
    assert at.selectbox(key=PICKER).value == "domeyko"
    text = page_text(at)
    assert AGUA in text
    assert ("h4", "Programas rurales (12)") in list_outline(at)
    assert PASEOS not in text
    assert metrics(at)["Programas rurales"] == "12"


def test_changing_the_picker_writes_the_url_back():
    at = open_page("domeyko")
    at.selectbox(key=PICKER).set_value("vista-alegre").run()
    assert not at.exception
    assert url_territory(at) == "vista-alegre"
    text = page_text(at)
    assert "Jardín Infantil Vista Alegre" in text
    assert AGUA not in text


def test_a_territory_chosen_here_follows_to_the_map_filtered_to_one():
    """Map filtered to Domeyko -> Mi sector -> Cachiyuyo -> the map shows Cachiyuyo; a map filtered to several keeps them."""
    at = open_page("domeyko")
    at.session_state["mapa_territorio"] = ["domeyko"]
    at.selectbox(key=PICKER).set_value("cachiyuyo").run()
    assert not at.exception and at.session_state["mapa_territorio"] == ["cachiyuyo"]
    at.session_state["mapa_territorio"] = ["domeyko", "centro"]
    at.selectbox(key=PICKER).set_value("domeyko").run()
    assert at.session_state["mapa_territorio"] == ["domeyko", "centro"]


@pytest.mark.parametrize(("old", "zone", "name", "note"), [
    ("hermanos-carrera", "norte-4-2", "Norte del centro · zona censal 4-2", "queda a 1.765 m de esta, la más cercana"),
    ("la-turbina", "oriente-3-4", "Oriente del centro · zona censal 3-4", "queda a 1.253 m de esta, la más cercana"),
])
def test_a_former_sector_slug_opens_its_census_zone_and_names_the_place(old, zone, name, note):
    at = open_page(old)
    assert not at.exception and not at.warning and not at.error
    assert at.selectbox(key=PICKER).value == zone
    assert url_territory(at) == old  # the shared link keeps working as it was given
    assert at.header[0].value.replace("\\", "") == name
    info = " ".join(str(i.value) for i in at.info).replace("\\", "")
    assert f"(dirección anterior «{old}»)" in info and note in info
    # The zone's census population is said under its name (2017 census, INE).
    assert any("habitantes (Censo 2017)" in str(c.value) for c in at.caption)


def test_unknown_territory_warns_and_the_picker_still_works():
    at = open_page("xyz")
    assert not at.exception
    assert len(at.warning) == 1
    message = at.warning[0].value.replace("\\", "")
    assert "Territorio desconocido: «xyz»" in message
    assert "elija su territorio en la lista" in message
    assert url_territory(at) == "xyz"  # left as given until the person chooses
    at.selectbox(key=PICKER).set_value("domeyko").run()
    assert not at.exception and not at.warning
    assert url_territory(at) == "domeyko"
    assert AGUA in page_text(at)


def test_misspelt_territory_suggests_the_right_one():
    at = open_page("domeiko")
    assert not at.exception
    assert "¿Quiso decir «domeyko»?" in at.warning[0].value.replace("\\", "")


def test_group_by_strategy():
    at = open_page("domeyko")
    at.radio(key="sector_agrupar").set_value("Estrategia").run()
    assert not at.exception
    text = page_text(at)
    headings = list_outline(at)
    assert any(tag == "h4" and t.startswith("E1 · Desarrollo Territorial (") for tag, t in headings)
    assert ("h5", "Programas rurales (12)") in headings
    assert AGUA in text


def test_neighbour_shortcut_moves_to_that_territory():
    at = open_page("domeyko")
    pills = at.button_group(key="vecino_domeyko")
    pills.set_value("resto-rural").run()
    assert not at.exception
    assert at.selectbox(key=PICKER).value == "resto-rural"
    assert url_territory(at) == "resto-rural"


def test_markdown_escape():
    from pages import _shared

    assert _shared.md_escape("*a* _b_ [c](d) $x$ <i> :red[e]") == (
        r"\*a\* \_b\_ \[c\]\(d\) \$x\$ \<i\> \:red\[e\]"
    )


@pytest.mark.skipif(
    not all((PROJECT / "pages" / f"{p}.py").exists() for p in ("mapa", "sector", "plan", "capas")) or not APP.exists(),
    reason="app.py and every page are needed for navigation",
)
def test_reached_through_the_app_navigation():
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params["territorio"] = "domeyko"
    at.run()
    at.switch_page("pages/sector.py").run()
    assert not at.exception
    assert at.selectbox(key=PICKER).value in {"domeyko", "centro"}
    at.selectbox(key=PICKER).set_value("domeyko").run()
    assert AGUA in page_text(at)


def test_a_second_visitor_of_a_territory_reuses_its_lists_and_its_address(monkeypatch):
    """The lists and what the address names are made once per territory and store version, not per visit."""
    from layers import query
    from views import report

    first = open_page("hermanos-carrera")  # a former slug: resolution and alias both needed
    assert not first.exception and not first.warning

    def refuse(*args, **kwargs):
        raise AssertionError("made again for a second visitor")

    monkeypatch.setattr(report, "sector_lists_html", refuse)
    monkeypatch.setattr(query, "check_territories", refuse)
    second = open_page("hermanos-carrera")
    assert not second.exception and not second.warning
    assert page_text(second) == page_text(first)
    assert [i.value for i in second.info] == [i.value for i in first.info]
    # Another grouping is another list: made once, then reused too.
    monkeypatch.undo()
    second.radio(key="sector_agrupar").set_value("Estrategia").run()
    assert not second.exception and "E1 · Desarrollo Territorial" in page_text(second)
    monkeypatch.setattr(report, "sector_lists_html", refuse)
    third = open_page("hermanos-carrera")
    third.radio(key="sector_agrupar").set_value("Estrategia").run()
    assert not third.exception and page_text(third) == page_text(second)


def test_an_unknown_address_is_answered_again_from_the_cache_with_its_suggestion(monkeypatch):
    from layers import query

    assert "¿Quiso decir «domeyko»?" in open_page("domeiko").warning[0].value.replace("\\", "")
    monkeypatch.setattr(query, "check_territories", lambda *a, **k: (_ for _ in ()).throw(AssertionError("again")))
    again = open_page("domeiko")
    assert not again.exception
    assert "¿Quiso decir «domeyko»?" in again.warning[0].value.replace("\\", "")


def test_the_page_shows_one_store_version_even_when_imports_land_during_its_run(monkeypatch):
    """The summary, its lists and the address are read at one version, read once per run.

    Here the store's version changes at every reading of it, as if an import landed between
    any two steps of the run: everything the page shows of the territory still comes from the
    version read at the start (without that, the lists of one version went under the groups of another).
    """
    from pages import _shared as shared

    counter = iter(range(10_000, 20_000))
    monkeypatch.setattr(shared, "store_version", lambda: next(counter))
    seen: list[tuple[str, int]] = []
    summary, address = shared._sector_summary, shared._territory_address

    def summary_spy(slug, layer, version, sites=None):
        seen.append(("summary", version))
        return summary(slug, layer, version, sites)

    def address_spy(requested, layer, version):
        seen.append(("address", version))
        return address(requested, layer, version)

    monkeypatch.setattr(shared, "_sector_summary", summary_spy)
    monkeypatch.setattr(shared, "_territory_address", address_spy)
    at = open_page("domeyko")
    assert not at.exception and not at.warning
    assert "domeyko" in page_text(at).lower()
    assert {kind for kind, _ in seen} == {"summary", "address"}
    assert len({version for _, version in seen}) == 1, seen  # the lists' summary too (_sector_blocks calls it)


# --------------------------------------------------------------------------- a layer of thousands of territories

SEARCH = "sector_buscar"


@pytest.fixture
def short_picker(monkeypatch):
    """The shipped 30 territories stand for a layer above the picker's limit (shared.PICKER_LIMIT)."""
    from pages import _shared

    monkeypatch.setattr(_shared, "PICKER_LIMIT", 5)
    return 5


def captions(at: AppTest) -> list[str]:
    return [str(c.value).replace("\\", "") for c in at.caption]


def test_a_small_layer_has_no_search_box():
    at = open_page("domeyko")
    assert not at.exception and not at.text_input
    assert len(at.selectbox(key=PICKER).options) == 30


def test_a_large_layer_lists_the_first_territories_and_the_one_shown(short_picker):
    at = open_page("domeyko")
    assert not at.exception and not at.warning
    picker = at.selectbox(key=PICKER)
    assert picker.value == "domeyko" and url_territory(at) == "domeyko"
    assert len(picker.options) == short_picker + 1  # the first five, and Domeyko, which is shown
    assert picker.options[0].startswith("Domeyko — ")
    assert "La lista muestra los primeros 5 de 30 territorios; busque el suyo arriba." in captions(at)
    assert AGUA in page_text(at)


def test_a_search_narrows_the_picker_without_accents_and_a_choice_follows_to_the_address(short_picker):
    at = open_page("domeyko")
    at.text_input(key=SEARCH).set_value("  EDEN ").run()
    assert not at.exception
    picker = at.selectbox(key=PICKER)
    assert picker.value == "domeyko"  # a search alone changes nothing shown
    assert [o.split(" — ")[0] for o in picker.options] == ["Domeyko", "Villa El Edén (Eden)"]
    assert "1 territorio coincide con «EDEN»." in captions(at)
    picker.set_value("villa-el-eden").run()
    assert not at.exception
    assert url_territory(at) == "villa-el-eden"
    assert at.header[0].value.replace("\\", "") == "Villa El Edén"
    # Words match anywhere in the name or the slug, all of them.
    at.text_input(key=SEARCH).set_value("hacienda compa").run()
    assert [o.split(" — ")[0] for o in at.selectbox(key=PICKER).options] == ["Villa El Edén (Eden)",
                                                                              "Hacienda Compañía (Compania)"]


def test_a_search_with_many_or_no_matches_says_so(short_picker):
    at = open_page("domeyko")
    at.text_input(key=SEARCH).set_value("e").run()
    assert not at.exception
    assert len(at.selectbox(key=PICKER).options) == short_picker + 1
    assert any(c.startswith("2") and "territorios coinciden con «e»; la lista muestra los primeros 5"
               in c for c in captions(at)), captions(at)
    # The kind that ends every label is not searched: «urbano» is no territory's name.
    at.text_input(key=SEARCH).set_value("urbano").run()
    assert "Ningún territorio coincide con «urbano»." in captions(at)
    at.text_input(key=SEARCH).set_value("*zz* [x](y)").run()
    assert not at.exception
    assert at.selectbox(key=PICKER).options == [at.selectbox(key=PICKER).options[0]]
    assert at.selectbox(key=PICKER).value == "domeyko"
    assert "Ningún territorio coincide con «*zz* [x](y)»." in captions(at)
    assert AGUA in page_text(at)
