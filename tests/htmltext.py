"""The readable outline of an HTML fragment, for tests of what a page or a report says."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements whose text the outline keeps, each as one entry.
OUTLINED = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li")


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[tuple[str, str]] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag in OUTLINED:
            self._open.append((tag, []))

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            name, parts = self._open.pop()
            self.entries.append((name, " ".join("".join(parts).split())))

    def handle_data(self, data):
        for _, parts in self._open:
            parts.append(data)


def outline(html: str) -> list[tuple[str, str]]:
    """``[(tag, text)]`` of the headings, paragraphs and list items of ``html``, in document order of their ends.

    Texts are unescaped (``&lt;b&gt;`` reads ``<b>``) with runs of white space made one space.
    """
    parser = _Outline()
    parser.feed(html)
    parser.close()
    return parser.entries


def read_markdown(markdown: object) -> str:
    """What people read of Markdown whose special characters are backslash-escaped.

    The escapes go, and so do the word joiners (U+2060, invisible) that
    :func:`views.escape.markdown_text` puts in icon shortcodes and bare addresses.
    """
    return re.sub(r"\\(.)", r"\1", str(markdown)).replace("\u2060", "")


def shown(text: str) -> str:
    """Text a browser gives (``inner_text``) as people read it: without word joiners (U+2060, invisible)."""
    return text.replace("\u2060", "")
