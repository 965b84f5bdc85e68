"""views.escape: one escaping rule per output context."""

from __future__ import annotations

import html
import json
import math
import re

import pytest

from views import escape

HOSTILE = [
    "<img src=x onerror=alert(1)>", "${alert(document.domain)}", "`", "</script><script>alert(1)</script>",
    "![x](http://127.0.0.1:9/x.png)", "[Llame aquí](javascript:alert(1))", "javascript:alert(1)",
    '=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "**bold**", "$x$", "a\u2028b", "O'Higgins & \"Ñuñoa\"",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_html_text_leaves_no_markup(value):
    out = escape.html_text(value)
    assert not set("<>\"'") & set(out)
    assert re.sub(r"&(lt|gt|quot|#x27|amp);", "", out).count("&") == 0
    assert html.unescape(out) == value


@pytest.mark.parametrize("missing", [None, math.nan, float("nan")])
def test_missing_values_are_empty(missing):
    assert escape.html_text(missing) == "" and escape.markdown_text(missing) == ""


def test_html_attribute_cannot_end_the_attribute():
    assert escape.html_attribute('" onmouseover="alert(1)') == "&quot; onmouseover=&quot;alert(1)"


@pytest.mark.parametrize("value", HOSTILE)
def test_js_value_is_json_that_cannot_leave_the_script(value):
    out = escape.js_value({"n": value, "l": [value]})
    assert not set("<>&'\u2028\u2029") & set(out)
    assert json.loads(out) == {"n": value, "l": [value]}


def test_js_value_refuses_nan():
    with pytest.raises(ValueError):
        escape.js_value(math.nan)


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_escapes_every_special_character(value):
    out = escape.markdown_text(value)
    bare = re.sub(r"\\.", "", out)
    assert not set(bare) & escape.MARKDOWN_SPECIAL
    assert re.sub(r"\\(.)", r"\1", out).replace("\u2060", "") == value.replace("\n", " ")


@pytest.mark.parametrize("value", [":material/warning:", "x :material_home: y", ":MATERIAL/x:", "a :streamlit: b"])
def test_markdown_text_keeps_icon_shortcodes_literal(value):
    out = escape.markdown_text(value)
    assert ":material/" not in out and ":material_" not in out and ":streamlit:" not in out
    assert re.sub(r"\\(.)", r"\1", out).replace("\u2060", "") == value


@pytest.mark.parametrize("value", ["Llame a www.evil.example o https://evil.example/pago", "WWW.X.CL", "HTTP://x.cl",
                                   "escriba a jefe@evil.example", "[enlace](http://example.com)"])
def test_markdown_text_keeps_bare_addresses_unlinked(value):
    out = escape.markdown_text(value)
    plain = re.sub(r"\\(.)", r"\1", out)
    assert not re.search(r"(?i)www\.|https?://|@[a-z]", plain), plain
    assert plain.replace("\u2060", "") == value


def test_markdown_text_keeps_one_line():
    assert escape.markdown_text("a\nb\r\nc\rd") == "a b c d"


@pytest.mark.parametrize(("value", "span"), [
    ("E1-P1-08", "`E1-P1-08`"), ("a`b", "``a`b``"), ("`x", "`` `x ``"), ("a```b", "````a```b````"),
])
def test_markdown_code_cannot_be_closed_early(value, span):
    assert escape.markdown_code(value) == span


def test_shorten_bounds_an_echo():
    assert escape.shorten("x" * 500, 80) == "x" * 79 + "…"
    assert escape.shorten("corto", 80) == "corto"
