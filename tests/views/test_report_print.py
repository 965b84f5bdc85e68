"""The printed sector report (views.report): no map label sits under the locator inset, the north arrow or the scale."""

from __future__ import annotations

import re

import pytest

from layers import sector
from views import report


def _boxes(svg: str) -> list[tuple[float, float, float, float]]:
    """Pixel boxes of the inset (locator) and the north arrow drawn over the map."""
    boxes = []
    inset = re.search(r'<g class="ubicacion" transform="translate\(([\d.]+) ([\d.]+)\)">.*?width="([\d.]+)"', svg)
    if inset:
        x, y, size = (float(v) for v in inset.groups())
        boxes.append((x, y, x + size, y + size))
    north = re.search(r'<g class="norte" transform="translate\(([\d.]+) ([\d.]+)\)"', svg)
    if north:
        x, y = (float(v) for v in north.groups())
        boxes.append((x - 4, y - 6, x + 26, y + 48))
    scale = re.search(r'<rect class="escala-fondo" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg)
    if scale:
        x, y, w, h = (float(v) for v in scale.groups())
        boxes.append((x, y, x + w, y + h))
    return boxes


def _labels(svg: str) -> list[tuple[float, float, str]]:
    return [(float(x), float(y), text) for x, y, text in
            re.findall(r'<text class="etiqueta-vecino" x="([\d.]+)" y="([\d.]+)">([^<]*)</text>', svg)]


def test_no_label_under_the_inset_or_the_arrow(shipped):
    checked = 0
    from layers import store

    boundary = store.read_layer("comuna").geometry.iloc[0]
    for slug in shipped["territories"]["slug"]:
        summary = sector.sector_summary(slug, shipped["initiatives"], shipped["territories"], shipped["relations"])
        svg = report.sector_map_svg(summary, boundary, territories=shipped["territories"])
        boxes = _boxes(svg)
        for x, y, text in _labels(svg):
            half = 3.3 * len(text) + 4
            for bx0, by0, bx1, by1 in boxes:
                overlaps = x + half > bx0 and x - half < bx1 and y + 4 > by0 and y - 11 < by1
                assert not overlaps, (slug, text, (x, y), (bx0, by0, bx1, by1))
            checked += 1
    if not checked:
        pytest.skip("no territory of the store gets neighbour labels")
