"""The printable report of a territory: self-contained, escaped, complete."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from layers import sector
from tests.htmltext import outline
from views import report

EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
DAY = dt.date(2025, 3, 5)



def build(shipped, slug, initiatives=None, territories=None):
    inits = shipped["initiatives"] if initiatives is None else initiatives
    terr = shipped["territories"] if territories is None else territories
    summary = sector.sector_summary(slug, inits, terr, shipped["relations"], shipped["strategies"])
    html = report.sector_report_html(summary, shipped["commune"], generated=DAY, territories=terr)
    return summary, html


class _Collector(HTMLParser):
    """Tags, attributes and the <li> of initiative lists of a document."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.in_list = 0
        self.items: list[str] = []
        self._item: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "ul" and "iniciativas" in (attrs.get("class") or ""):
            self.in_list += 1
        if tag == "li" and self.in_list:
            self._item = []

    def handle_endtag(self, tag):
        if tag == "ul" and self.in_list:
            self.in_list -= 1
        if tag == "li" and self._item is not None:
            self.items.append(" ".join("".join(self._item).split()))
            self._item = None

    def handle_data(self, data):
        self.text.append(data)
        if self._item is not None:
            self._item.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def test_names_from_data_are_escaped(shipped):
    inits = shipped["initiatives"].copy()
    inits.loc[inits["id"] == "E1-P1-03", "nombre"] = EVIL
    inits.loc[inits["id"] == "E1-P1-03", "fuente_geometria"] = EVIL
    terr = shipped["territories"].copy()
    terr.loc[terr["slug"] == "centro", "nombre"] = EVIL
    terr.loc[terr["slug"] == "plaza-de-armas", "nombre"] = EVIL  # a neighbour: labelled on the map
    terr.loc[terr["slug"] == "centro", "fuente"] = EVIL
    _, html = build(shipped, "centro", inits, terr)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    # Jinja2's autoescape (markupsafe) writes a double quote as &#34;.
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img" in html
    doc = parse(html)
    assert {tag for tag, _ in doc.tags} >= {"html", "head", "style", "body", "svg", "path"}
    assert not any(tag in {"script", "img", "iframe", "link", "object", "embed"} for tag, _ in doc.tags)
    # The text a person reads is the name as written.
    text = "".join(doc.text)
    assert EVIL in text
    assert any(EVIL in item for item in doc.items)


def test_report_references_nothing_outside(shipped):
    _, html = build(shipped, "centro")
    assert "http://" not in html and "https://" not in html
    assert "//" not in re.sub(r"<style>.*?</style>", "", html, flags=re.S).replace("<!DOCTYPE html>", "")
    assert not re.search(r"\b(src|href|xlink:href)\s*=", html)
    assert "@import" not in html and "url(http" not in html and "@font-face" not in html
    for _, attrs in parse(html).tags:
        for name, value in attrs.items():
            assert not (value or "").strip().lower().startswith(("http", "//", "javascript:")), (name, value)


@pytest.mark.parametrize("slug", ["centro", "domeyko", "norte-4-2", "resto-rural"])
def test_map_is_an_inline_svg_drawn_from_the_geometries(shipped, slug):
    summary, html = build(shipped, slug)
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 1
    root = ET.fromstring(svgs[0])  # well-formed XML
    paths = root.findall(".//path")
    classes = [p.get("class") for p in paths]
    assert classes.count("territorio") == 1
    assert classes.count("vecino") == len(summary.neighbours) > 0
    assert (classes.count("otro") > 0) == (slug != "domeyko")  # Domeyko only sees the remainder
    assert all(re.fullmatch(r"(M-?[\d.]+ -?[\d.]+( L-?[\d.]+ -?[\d.]+)*( Z)? ?)+", p.get("d").strip())
               for p in paths if p.get("class") in ("territorio", "vecino"))
    territory_d = next(p.get("d") for p in paths if p.get("class") == "territorio")
    assert territory_d.count("L") >= 3
    # North arrow and a scale bar in metres or kilometres.
    assert root.find(".//*[@class='norte']") is not None
    scale = root.find(".//*[@class='escala']")
    labels = [t.text for t in scale.iter("text")]
    assert labels[0] == "0" and re.fullmatch(r"\d+( m| km)", labels[1])
    # Sited initiatives: one numbered mark per point (in view), coloured by strategy.
    marks = root.findall(".//*[@class='iniciativa-punto']")
    assert (len(marks) > 0) == (len(summary.sited) > 0)
    for mark in marks:
        fill = mark.find("circle").get("fill")
        assert fill in set(report.strategy_colors(list(summary.sited["estrategia"])).values())


def test_scale_bar_length_matches_the_drawing(shipped):
    summary, html = build(shipped, "centro")
    root = ET.fromstring(re.search(r"<svg\b.*?</svg>", html, flags=re.S).group(0))
    scale = root.find(".//*[@class='escala']")
    rects = [r for r in scale.iter("rect") if r.get("class", "").startswith("escala-") and r.get("class") != "escala-fondo"]
    bar_px = sum(float(r.get("width")) for r in rects)
    label = [t.text for t in scale.iter("text")][1]
    metres = float(label.split()[0]) * (1000 if label.endswith("km") else 1)
    # The territory's drawn width (px) over its width in EPSG:32719 (m) gives the map scale.
    import geopandas as gpd

    from geo.crs import UTM19S, WGS84

    own = gpd.GeoSeries([summary.territory.geometry], crs=WGS84).to_crs(UTM19S).iloc[0]
    d = next(p.get("d") for p in root.iter("path") if p.get("class") == "territorio")
    xs = [float(v) for v in re.findall(r"[ML](-?[\d.]+) ", d)]
    px_per_m = (max(xs) - min(xs)) / (own.bounds[2] - own.bounds[0])
    assert bar_px == pytest.approx(metres * px_per_m, rel=0.01)


def test_nice_lengths():
    assert report._nice_length(1234) == 1000
    assert report._nice_length(2600) == 2000
    assert report._nice_length(740) == 500
    assert report._nice_length(49_000) == 20_000
    assert report._length_label(500) == "500 m"
    assert report._length_label(2000) == "2 km"
    assert report._length_label(1458) == "1,5 km"


@pytest.mark.parametrize("slug", ["centro", "domeyko"])
def test_lists_are_complete_and_grouped(shipped, slug):
    summary, html = build(shipped, slug)
    doc = parse(html)
    assert len(doc.items) == summary.counts["total"]
    for iid, name in zip(summary.initiatives["id"], summary.initiatives["nombre"]):
        assert any(item.endswith(iid) and name in item for item in doc.items), iid
    for group in summary.by_relation:
        assert f'id="grupo-{group.key}"' in html
        assert f"<h3>{group.label} ({group.n})</h3>" in html
    # Relation groups come in their fixed order.
    positions = [html.index(f'id="grupo-{g.key}"') for g in summary.by_relation]
    assert positions == sorted(positions)
    # Summary table by strategy: one row per strategy, totals agree.
    for group in summary.by_strategy:
        assert f"{group.key} · {group.label}" in html
    assert f'<td class="n">{summary.counts["total"]}</td></tr></tfoot>' in html


def test_domeyko_report_lists_rural_water_not_the_city_walks(shipped):
    _, html = build(shipped, "domeyko")
    rural = html[html.index('id="grupo-programa"'):html.index('id="grupo-comunal"')]
    assert "Construcción agua potable rural, diversos sectores" in rural
    assert "Programas rurales (12)" in rural
    assert "Paseos Peatonales" not in html


def test_sources_and_date(shipped):
    summary, html = build(shipped, "centro")
    text = "".join(parse(html).text)
    t = summary.territory
    assert f"±{t['precision_m']} m" in text
    assert str(t["fuente_geometria"]) in text
    assert str(t["fuente"]) in text
    for value in summary.sited["fuente_geometria"]:
        assert value in text
    assert "PLADECO" in text
    assert "División Político Administrativa 2023" in text
    assert "EPSG:32719" in text
    assert "5 de marzo de 2025" in text and "2025-03-05" in text
    assert '<html lang="es-CL">' in html and '<meta charset="utf-8">' in html
    assert "@media print" in html and "@page" in html


def test_spanish_date_and_contrast():
    assert report.spanish_date(dt.date(2024, 12, 1)) == "1 de diciembre de 2024"
    assert report.text_color("#F0E442") == "#111111"  # yellow: dark text
    assert report.text_color("#000000") == "#ffffff"


@pytest.mark.parametrize("by", ["relacion", "estrategia"])
def test_lists_give_every_initiative_once(shipped, by):
    summary, _ = build(shipped, "domeyko")
    blocks = report.sector_lists_html(summary, by=by)
    outer = summary.by_relation if by == "relacion" else summary.by_strategy
    assert len(blocks) == len(outer)
    assert all(b.startswith('<section class="sit-lista">') for b in blocks)
    entries = [outline(b) for b in blocks]
    items = [text for block in entries for tag, text in block if tag == "li"]
    assert len(items) == summary.counts["total"]
    for iid in summary.initiatives["id"]:
        assert sum(text.endswith(f" · {iid}") for text in items) == 1
    assert all(block[0][0] == "h4" for block in entries)  # each block opens with its heading
    headings = [(tag, text) for block in entries for tag, text in block if tag in ("h4", "h5")]
    if by == "relacion":
        rural = next(i for i, b in enumerate(entries) if ("h4", "Programas rurales (12)") in b)
        assert any("Construcción agua potable rural, diversos sectores" in t for _, t in entries[rural])
        assert ("h5", "E1 · Desarrollo Territorial (12)") in entries[rural]
        assert ("p", sector.EXPLICACION["programa"]) in entries[rural]
    else:
        assert headings[0][1].startswith("E1 · Desarrollo Territorial (")
        assert ("h5", "Programas rurales (12)") in entries[0]
        assert not any(tag == "p" for block in entries for tag, _ in block)  # explanations go with relations
    with pytest.raises(ValueError):
        report.sector_lists_html(summary, by="tipo")


def test_lists_write_names_as_text(shipped):
    name = "**gratis** [aquí](javascript:x) $1$ :material/home: " + EVIL
    inits = shipped["initiatives"].copy()
    inits.loc[inits["id"] == "E1-P4-05", "nombre"] = name
    summary, _ = build(shipped, "domeyko", inits)
    html = "".join(report.sector_lists_html(summary))
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    items = [text for tag, text in outline(html) if tag == "li"]
    assert any(text.startswith(" ".join(name.split()) + " — ") for text in items), items


def test_lists_stylesheet_is_one_style_element():
    from pathlib import Path

    css = (Path(report.__file__).parent / "templates" / "sector_lists.css").read_text(encoding="utf-8")
    assert report.sector_lists_css() == f"<style>{css}</style>"
    assert ".sit-lista" in css


def test_stylesheet_is_the_template_file_inlined(shipped):
    from pathlib import Path

    _, html = build(shipped, "domeyko")
    css = (Path(report.__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    style = re.search(r"<style>(.*?)</style>", html, flags=re.S).group(1)
    assert style.strip() == css.strip()
    assert "{{" not in html and "{%" not in html  # every template construct was rendered


def test_the_report_says_the_zone_population(shipped):
    from views.report import population_text

    zone = shipped["territories"].set_index("slug").loc["norte-4-2"]
    assert population_text(zone) == f"{int(zone['poblacion']):,} habitantes (Censo 2017)".replace(",", ".")
    assert population_text(shipped["territories"].set_index("slug").loc["domeyko"]) == ""
