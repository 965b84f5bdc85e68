"""The Jinja2 environment of the presentation package: templates under ``views/templates``.

Every template is rendered with autoescape on, so a value from data (a territory
name, a source, an initiative name) reaches HTML or SVG as text, never as markup.
Only markup this package builds itself is passed in as :class:`markupsafe.Markup`
(a rendered SVG map, a stylesheet read from ``views/templates``).
"""

from __future__ import annotations

import functools
import math

import jinja2
import pandas as pd
from markupsafe import Markup

__all__ = ["environment", "render", "stylesheet", "as_text", "Markup"]


def _px(value: float) -> str:
    """A coordinate in SVG pixels with at most one decimal, no trailing zeros (``12.0`` -> ``"12"``)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def as_text(value: object) -> str:
    """Text of a value from data; missing values (None, NaN, ``pd.NA``) become an empty string."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment: package loader, autoescape on, undefined names are errors.

    Filters: ``px`` (SVG coordinate, see :func:`_px`) and ``text`` (missing values
    as empty text, see :func:`as_text`).
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("views", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "svg", "xml"), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["px"] = _px
    env.filters["text"] = as_text
    return env


def render(name: str, **context: object) -> str:
    """Render the template ``views/templates/<name>`` with ``context`` (autoescaped)."""
    return environment().get_template(name).render(**context)


@functools.cache
def stylesheet(name: str) -> Markup:
    """The text of a stylesheet of ``views/templates``, to inline in a ``<style>`` element.

    Raises
    ------
    jinja2.TemplateNotFound
        If there is no such file.
    ValueError
        If the file could close the ``<style>`` element it is placed in.
    """
    env = environment()
    source, _, _ = env.loader.get_source(env, name)
    if "</" in source:
        raise ValueError(f"stylesheet {name} contains '</'")
    return Markup(source)
