"""One legend element (views/legend.py) for the plan map and the sector map."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from layers import links, sector
from views import legend, mapview, sectorview
from views.legend import Legend, Section, Swatch

EVIL = '<img src=x onerror=alert(1)> & "q"'


def decoded(text: str) -> str:
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&").replace("\\u0027", "'")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    tags.close()
    return tags


def legends_of(m) -> list[Legend]:
    return [c for c in m._children.values() if isinstance(c, Legend)]


def test_titles_and_labels_are_text_not_markup():
    html = legend.legend_html([
        Section(EVIL, [(Swatch("point", "#E69F00"), EVIL)], subtitle=EVIL),
        Section(None, [], note=EVIL),
    ])
    doc = parse(html)
    assert doc.tags.count("img") == 0 and "script" not in doc.tags
    assert "".join(doc.text).count(EVIL) == 4  # shown as written
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;q&#34;" in html


def test_swatch_colours_must_be_colours():
    assert Swatch("area", "#F6D7B0", stroke="#B3261E", weight=2).style == "background:#F6D7B0;border:2px solid #B3261E"
    assert Swatch("outline", "#222", weight=2, dashed=True).style == "border:2px dashed #222"
    for bad in ("red;background:url(x)", "#12345", "expression(alert(1))"):
        with pytest.raises(ValueError):
            legend.legend_html([Section("t", [(Swatch("point", bad), "x")])])
    with pytest.raises(ValueError):
        _ = Swatch("star", "#000000").style


def test_element_script_holds_the_html_as_a_safe_string():
    element = Legend([Section("Capas", [(Swatch("line", "#4D4D4D", weight=2), "</script><b>x</b>")])])
    assert "<" not in element.html_js and ">" not in element.html_js
    assert json.loads(decoded(element.html_js)) == element.html
    assert "&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in element.html
    assert element.css_class == "sit-legend"
    # Readable on any theme: the panel sets its own text and background colours.
    assert "color:#1d1d1b" in element.css and "background:rgba(255,255,255,0.95)" in element.css


def test_both_maps_use_the_one_legend_element(shipped):
    strategies = dict(zip(shipped["strategies"]["id"], shipped["strategies"]["nombre"]))
    display_t = mapview.display_geometries(shipped["territories"], ["slug", "nombre", "tipo"])
    plan_map = mapview.selection_map(
        mapview.display_geometries(shipped["commune"], ["nombre"]), display_t,
        mapview.display_geometries(shipped["initiatives"], tolerance_m=5),
        list(shipped["initiatives"]["id"]), shipped["relations"], strategies=strategies,
    )
    summary = sector.sector_summary(
        "centro", shipped["initiatives"], shipped["territories"], shipped["relations"], shipped["strategies"]
    )
    sector_map = sectorview.sector_map(summary, shipped["commune"], shipped["territories"])
    (plan_legend,) = legends_of(plan_map)
    (sector_legend,) = legends_of(sector_map)
    assert type(plan_legend) is type(sector_legend) is Legend
    assert sector_legend.css_class == "sit-legend sit-sector-legend"
    plan_text = "".join(parse(plan_legend.html).text)
    assert "Iniciativas por territorio" in plan_text and "Iniciativas ubicadas, por estrategia" in plan_text
    sector_text = "".join(parse(sector_legend.html).text)
    assert "Territorios vecinos" in sector_text and "Límite comunal" in sector_text
    for sid in dict.fromkeys(summary.sited["estrategia"]):
        assert f"{sid} · " in sector_text
    for m in (plan_map, sector_map):
        page = m.get_root().render()
        # One legend panel; the plan map's other control (views.restyle's notice) is made only on a failure.
        assert page.count('L.DomUtil.create("div", "sit-legend') == 1


def test_sector_legend_escapes_strategy_names(shipped):
    strategies = shipped["strategies"].copy()
    strategies.loc[strategies["id"] == "E1", "nombre"] = EVIL
    summary = sector.sector_summary(
        "centro", shipped["initiatives"], shipped["territories"],
        links.relate(shipped["initiatives"], shipped["territories"]), strategies,
    )
    html = legend.legend_html(sectorview.legend_sections(summary))
    assert "<img" not in html and EVIL in "".join(parse(html).text)
