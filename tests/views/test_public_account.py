"""The public-account HTML: figures shown, data escaped, self-contained and printable."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pandas as pd
import pytest

from layers import links
from layers.monitoring import fields as F
from layers.monitoring import progress as P
from layers.monitoring import report
from views import public_account

EVIL = '<script>alert("x")</script> & <u>'


def _figures() -> dict:
    inits = pd.DataFrame({
        "id": ["A1", "A2", "B1"], "estrategia": ["E1", "E1", "E2"], "plan": ["E1-P1", "E1-P1", "E2-P1"],
        "padre": [None, None, None], "nombre": [EVIL, "Plaza Domeyko", "Estudio"], "tipo": "Proyecto",
        "estrategia_nombre": ["Territorio", "Territorio", "Economía"], "plan_nombre": ["Espacios", "Espacios", "Empleo"],
        "alcance": "territorial",
    })
    matrix = pd.DataFrame(index=pd.Index(["A1", "A2", "B1"], name="id"), columns=[*F.FIELD_NAMES, "version"], dtype=object)
    matrix["estado"] = ["en ejecución", "terminada", "sin iniciar"]
    matrix.loc["A1", ["avance_fisico", "monto_aprobado_clp", "fuente_financiamiento", "fecha_termino_plan"]] = [
        40.0, 1_250_000, "FNDR", "2026-01-31"]
    matrix.loc["A2", ["monto_aprobado_clp", "monto_ejecutado_clp", "fecha_termino_real", "unidad_responsable"]] = [
        250_000, 240_000, "2026-04-02", "SECPLAN"]
    matrix.loc["A2", "actualizado_el"] = "2026-05-04T10:00:00-04:00"
    matrix = matrix.astype(object).where(matrix.notna(), None)
    relations = links.Relations(  # A1 sited in t1, nothing scope-wide
        specific=pd.DataFrame({"id": ["A1"], "slug": ["t1"], "relacion": ["ubicada"]}),
        scoped=pd.DataFrame(columns=["id", "alcance"]),
        cover=pd.DataFrame({scope: [False] for scope in links.SCOPE_RELATIONS}, index=pd.Index(["t1"], name="slug")),
    )
    territories = pd.DataFrame({"slug": ["t1"], "nombre": ["Población <Baquedano>"]})
    figures = report.public_account(P.join(inits, matrix), relations, territories, 2026, today=dt.date(2026, 6, 30))
    figures["fuentes_datos"] = ["Catálogo del PLADECO (data/catalogo)", "Fuente con <i>marcas</i>"]
    return figures


@pytest.fixture(scope="module")
def html() -> str:
    return public_account.render(_figures(), generated=dt.datetime(2026, 6, 30, 12, 0))


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.stack, self.unbalanced = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in {"meta", "br", "img", "link", "input", "hr"}:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.unbalanced.append(tag)


def test_data_is_escaped(html):
    assert "<script" not in html and "<u>" not in html and "<i>marcas" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;u&gt;" in html
    assert "Población &lt;Baquedano&gt;" in html


def test_self_contained_and_well_formed(html):
    parser = _Collector()
    parser.feed(html)
    assert not parser.unbalanced and not parser.stack
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert not [a for a in parser.attrs if a[0] in ("src", "href")]
    assert "url(" not in html and "@import" not in html and "http" not in html
    assert "@page" in html and "@media print" in html  # printable: A4 rules inlined


def test_figures_are_shown(html):
    assert "Avance del Plan de Desarrollo Comunal 2026" in html
    assert "Datos de seguimiento al 4 de mayo de 2026" in html
    assert "Fecha de referencia: 30 de junio de 2026" in html
    assert "$ 1.500.000" in html and "$ 240.000" in html  # total approved, executed
    # E1: count (40 + 100) / 2 = 70 %; by amount (40*1.25M + 100*0.25M) / 1.5M = 50 %: both shown, highlighted
    assert "70,0 %" in html and "50,0 %" in html and 'class="barra monto"' in html
    assert "sin montos registrados" in html  # E2 has no amount
    assert "Plaza Domeyko" in html and "2026-04-02" in html  # finished in the year
    assert 'class="rojo"' in html and ">150<" in html  # A1 delayed 150 days at 2026-06-30
    for title in report.TABLE_TITLES.values():
        assert title in html


def test_percent_and_pesos_format():
    assert public_account.percent(45.26) == "45,3 %" and public_account.percent(100) == "100,0 %"
    assert public_account.percent(float("nan")) == "—" and public_account.percent(None) == "—"
    assert public_account.pesos(1_250_000) == "$ 1.250.000" and public_account.pesos(None) == "—"


def test_prints_offline_in_a_real_browser(html, tmp_path, browser):
    """Chromium opens the file with every request blocked, asks for nothing, and prints it to A4 PDF pages."""
    path = tmp_path / "cuenta.html"
    path.write_text(html, encoding="utf-8")
    requests: list[str] = []
    page = browser.new_page()
    try:
        page.route("**/*", lambda route, req: (requests.append(req.url), route.continue_() if req.url.startswith("file:")
                                               else route.abort()))
        page.goto(path.as_uri())
        widths = page.eval_on_selector_all(".barra > span", "els => els.map(e => e.style.width)")
        pdf = page.pdf(format="A4", print_background=True)
    finally:
        page.close()
    assert requests == [path.as_uri()]
    assert "70%" in widths and "50%" in widths
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2
