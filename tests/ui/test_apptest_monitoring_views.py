"""Monitoring seen on the other pages (issue 13, item 4): map, sector page and report, plan page.

AppTest runs ``app.py`` on a private copy of the store where a planner recorded the
status and progress of three sited initiatives with :func:`layers.monitoring.history.apply_changes`.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest

from layers.monitoring import history
from tests.htmltext import outline
from tests.ui.conftest import app_test, frame_document, map_frames, map_selection
from views import symbology


@pytest.fixture
def record(fresh_store):
    """E1-P1-08 (a point) in execution at 30,5 %, E1-P1-03 (a line) finished, E3-P4-03 (a point) applied for."""
    values = pd.DataFrame.from_dict({
        "E1-P1-08": {"estado": "en ejecución", "avance_fisico": 30.5, "monto_aprobado_clp": 1_200_000_000,
                     "fecha_termino_plan": "2025-12-31"},
        "E1-P1-03": {"estado": "terminada", "avance_fisico": 100.0, "monto_aprobado_clp": 85_000_000,
                     "fecha_termino_plan": "2025-06-30"},
        "E3-P4-03": {"estado": "postulada", "avance_fisico": None, "monto_aprobado_clp": None,
                     "fecha_termino_plan": None},
    }, orient="index").astype(object)
    values = values.where(values.notna(), None)
    history.apply_changes(values, "Ana Pérez", "Informe trimestral",
                          now=dt.datetime(2026, 3, 15, 13, 20, tzinfo=dt.UTC))
    return fresh_store


def no_failure(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def map_document(at) -> str:
    """The HTML document of the map the page drew (published by views.mapframe)."""
    (frame,) = map_frames(at)
    return frame_document(frame)


def sited_document(at) -> dict:
    """The JSON document of the sited initiatives that the map sends to the browser (marks ``pt``, records ``r``)."""
    page, decoder = map_document(at), json.JSONDecoder()
    docs = [decoder.raw_decode(page, m.end())[0] for m in re.finditer(r"var d = (?=\{)", page)]
    (doc,) = [d for d in docs if "pt" in d and "r" in d]
    return doc


def legend_of(at) -> str:
    (html_js,) = re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', map_document(at))
    return json.loads(html_js)


def records_by_id(doc: dict) -> dict[str, list]:
    return {r[1]: r for r in doc["r"]}


# --------------------------------------------------------------------------- map


def test_map_colours_by_status_from_the_link(record):
    at = app_test("pages/mapa.py", {"colorear": "estado"}).run()
    no_failure(at)
    assert at.radio(key="mapa_colorear").value == "estado"
    assert at.query_params["colorear"] == ["estado"] or at.query_params["colorear"] == "estado"
    doc = sited_document(at)
    assert doc["cb"] == "estado"
    assert doc["s"][:8] == list(symbology.ESTADO_COLORS)
    assert doc["sc"][:8] == list(symbology.ESTADO_COLORS.values())
    rows = records_by_id(doc)
    assert doc["s"][rows["E1-P1-08"][8]] == "en ejecución" and rows["E1-P1-08"][9] == "30,5 %"
    assert doc["s"][rows["E1-P1-03"][8]] == "terminada" and rows["E1-P1-03"][9] == "100,0 %"
    assert doc["s"][rows["E3-P4-03"][8]] == "postulada" and rows["E3-P4-03"][9] == ""
    assert doc["s"][rows["E6-P1-06"][8]] == "sin iniciar"  # no record: the starting status
    # The status colour of a mark: «en ejecución» is orange, «terminada» black.
    assert doc["sc"][rows["E1-P1-08"][8]] == "#E69F00" and doc["sc"][rows["E1-P1-03"][8]] == "#000000"
    legend = legend_of(at)
    assert "Iniciativas ubicadas, por estado" in legend
    for estado, color in symbology.ESTADO_COLORS.items():
        assert estado.capitalize() in legend and color in legend
    assert "Iniciativas ubicadas, por estrategia" not in legend


def test_map_by_strategy_still_shows_status_in_popups(record):
    at = app_test("pages/mapa.py").run()
    no_failure(at)
    assert "colorear" not in at.query_params
    doc = sited_document(at)
    assert doc["cb"] == "estrategia"
    assert doc["s"][records_by_id(doc)["E1-P1-08"][8]] == "en ejecución"
    assert "Iniciativas ubicadas, por estrategia" in legend_of(at)
    at.radio(key="mapa_colorear").set_value("estado").run()
    no_failure(at)
    update = map_selection(at)  # drawn in the map already open (views.restyle)
    assert update["s"]["cb"] == "estado"
    assert update["s"]["s"][records_by_id(update["s"])["E1-P1-08"][8]] == "en ejecución"
    assert "Iniciativas ubicadas, por estado" in update["lg"]
    assert "colorear" in at.query_params
    # New colours, same filters: the map keeps its view (the extent's key is the document's own).
    (opened_key,) = re.findall(r'fitted = "([0-9a-f]*)"', map_document(at))
    assert update["fk"] == opened_key and opened_key
    at.multiselect(key="mapa_estrategia").set_value(["E1"]).run()
    assert map_selection(at)["fk"] != opened_key  # new filters: the map fits their extent


def test_unknown_colour_mode_is_named_and_ignored(record):
    at = app_test("pages/mapa.py", {"colorear": "<b>rojo</b>"}).run()
    assert not at.exception
    assert at.radio(key="mapa_colorear").value == "estrategia"
    assert any("Se ignoró el color de las iniciativas" in w.value for w in at.warning)


def test_unknown_colouring_values_in_the_link_are_named(record):
    """?color= and ?tasa= with values the map cannot follow are said, not silently dropped."""
    at = app_test("pages/mapa.py", {"color": "xyz", "tasa": "1e9"}).run()
    assert not at.exception
    said = " ".join(w.value for w in at.warning).replace("\\", "")  # shown literally: Markdown escaped
    assert "color=xyz" in said and "tasa=1e9" in said
    assert at.query_params.get("color", "") in ("", []) and at.query_params.get("tasa", "") in ("", [])


def test_popup_script_shows_status_and_progress(record):
    at = app_test("pages/mapa.py", {"colorear": "estado"}).run()
    html = map_document(at)
    assert 'row("Estado", d.s[r[8]])' in html and 'row("Avance físico", r[9])' in html
    assert "avance físico" in html  # the tooltip line


# --------------------------------------------------------------------------- sector page and report


def page_text(at) -> str:
    """Markdown, captions and subheaders, and the text of the sector page's lists (``st.html`` blocks)."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.subheader]
    parts = [str(p).replace("\\", "") for p in parts]
    return "\n".join(parts + [text for e in at.html for _, text in outline(e.value)])


def test_sector_page_shows_status_and_progress(record):
    # The complex's referential point was brought into the census zone nearest to it (data/README.md).
    at = app_test("pages/sector.py", {"territorio": "oriente-3-4"}).run()
    no_failure(at)
    text = page_text(at)
    assert "Construcción Complejo Deportivo La Turbina — Proyecto · en ejecución · avance físico 30,5 % · E1-P1-08" \
        in text.splitlines()
    assert re.search(r"Estado según el registro de seguimiento: \d+ sin iniciar · 1 en ejecución\.", text)
    assert any(p.proto.page == "pages/seguimiento.py" or "seguimiento" in p.proto.page for p in at.get("page_link"))


def test_sector_report_shows_status_and_progress(record):
    at = app_test("pages/sector.py", {"territorio": "centro"}).run()
    no_failure(at)
    from pages import _shared as shared

    html = shared.sector_files("centro")["html"]
    item = re.search(r"<li>[^\n]*?Habilitación Paseos Peatonales centro de la ciudad.*?</li>", html, flags=re.S).group(0)
    assert "terminada · avance físico 100,0 %" in item and item.endswith("E1-P1-03</span></li>")
    assert "<dt>Estado y avance</dt>" in html
    # Initiatives with no record read «sin iniciar».
    assert html.count("sin iniciar</span>") >= 1


def test_sector_downloads_carry_status(record):
    from pages import _shared as shared

    at = app_test("pages/sector.py", {"territorio": "vista-alegre"}).run()
    no_failure(at)
    csv = shared.sector_files("vista-alegre")["csv"]
    text = csv.decode("utf-8-sig") if isinstance(csv, bytes) else csv
    header = text.splitlines()[0]
    assert "estado" in header and "avance_fisico" in header
    assert "postulada" in text


# --------------------------------------------------------------------------- plan page


def test_plan_page_shows_progress_per_strategy(record):
    at = app_test("pages/plan.py").run()
    no_failure(at)
    table = next(d.value for d in at.dataframe if "Avance por conteo (%)" in d.value.columns)
    e1 = table[table["Estrategia"].str.startswith("E1 · ")].iloc[0]
    # E1 has 88 active initiatives: by count (30,5 + 100) / 88; by amount the two approved amounts weigh.
    assert e1["Avance por conteo (%)"] == pytest.approx(round(130.5 / 88, 1))
    assert e1["Avance ponderado por monto (%)"] == pytest.approx(round((30.5 * 1200 + 100 * 85) / 1285, 1))
    assert e1["Difieren"] == "sí" and e1["Atrasadas"] == 1
    e3 = table[table["Estrategia"].str.startswith("E3 · ")].iloc[0]
    assert e3["Avance por conteo (%)"] == 0 and pd.isna(e3["Avance ponderado por monto (%)"])
    m = {x.label: x.value for x in at.metric}
    assert m["Atrasadas (semáforo rojo)"] == "1"
    assert any("seguimiento" in p.proto.page for p in at.get("page_link"))
    text = page_text(at)
    assert "**Por conteo**" in text and "**Ponderado por monto**" in text
    # The plan of the two recorded initiatives (E1-P1) shows both figures in the tree.
    from layers import monitoring
    from layers.monitoring import progress
    from layers.text import format_number

    p1 = progress.progress(monitoring.joined(), "plan").set_index("clave").loc["E1-P1"]
    assert p1["difieren"]
    assert (f"avance {format_number(p1['avance_conteo'], 1)} % por conteo "
            f"({format_number(p1['avance_monto'], 1)} % ponderado por monto)") in text
    # A plan with no record: 0 % and one figure only.
    assert re.search(r"\*\*E1-P2 · [^*\n]+\*\* — \*\d+ iniciativas, [^*\n]+\* · \*avance 0,0 % por conteo\*\n", text)


def test_plan_page_without_records_is_all_zero(fresh_store):
    at = app_test("pages/plan.py").run()
    no_failure(at)
    table = next(d.value for d in at.dataframe if "Avance por conteo (%)" in d.value.columns)
    assert (table["Avance por conteo (%)"] == 0).all() and table["Avance ponderado por monto (%)"].isna().all()
    assert (table["Atrasadas"] == 0).all()


def test_a_former_sector_link_on_the_map_names_the_zone_that_shows_it(record):
    at = app_test("pages/mapa.py", {"territorio": "hermanos-carrera"}).run()
    assert not at.exception and not at.warning
    info = " ".join(str(i.value) for i in at.info).replace("\\", "")
    assert "«Población Hermanos Carrera» (dirección anterior «hermanos-carrera»)" in info
    assert "se muestra como «Norte del centro · zona censal 4-2», la zona censal más cercana" in info
