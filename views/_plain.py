"""Map elements whose rendered script is written into the page as it is.

branca's :class:`~branca.element.MacroElement` renders an element's ``script`` macro and
then wraps the text in a new ``Element``, which compiles it as a Jinja2 template and
renders it once more when the page is written. For elements that carry large JSON
documents (thousands of territories, tens of thousands of points) that second pass
tokenises megabytes of data; and any ``{{``, ``{%`` or ``{#`` left in data would run as
template code (:mod:`views.escape` neutralises them too). :class:`PlainMacroElement`
renders its macros once and adds the text as it is.
"""

from __future__ import annotations

from branca.element import Element, Figure, MacroElement

__all__ = ["PlainMacroElement"]


class _Text(Element):
    """A piece of the page that is written as it is (never read as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Text"
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class PlainMacroElement(MacroElement):
    """A :class:`~branca.element.MacroElement` whose ``header``, ``html`` and ``script``
    macros are rendered once, their text added to the page without a second template pass."""

    def render(self, **kwargs) -> None:
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("A map element renders only inside a Figure (a folium map).")
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:
                getattr(figure, part).add_child(_Text(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)
