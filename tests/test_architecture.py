"""The direction of imports of docs/arquitectura.md, checked on the source (AST, no import needed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
UI_LIBRARIES = ("streamlit", "streamlit_folium", "folium", "branca")
#: views/ modules allowed to read Streamlit's server configuration (not its widgets or session).
VIEWS_READING_SERVER_CONFIG = {
    "views/webassets.py": {"streamlit.config", "streamlit"},
    # The server's launcher hands its arguments to Streamlit's command line; it uses no session.
    "views/launch.py": {"streamlit.web", "streamlit.web.cli"},
}


def _imports(path: Path) -> set[str]:
    """Every module name imported by a file (``import a.b`` and ``from a.b import c`` give ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


def _sources(package: str) -> list[Path]:
    return sorted((PROJECT / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["geo", "layers"])
def test_domain_imports_no_ui_library(package):
    offenders = {
        str(path.relative_to(PROJECT)): sorted(n for n in _imports(path) if _top(n) in UI_LIBRARIES)
        for path in _sources(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", ["geo", "layers"])
def test_domain_imports_nothing_above_it(package):
    above = ("views", "pages", "app", "cli", "ogcapi")
    offenders = {
        str(path.relative_to(PROJECT)): sorted(n for n in _imports(path) if _top(n) in above)
        for path in _sources(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_geo_knows_no_domain():
    offenders = {
        str(path.relative_to(PROJECT)): sorted(n for n in _imports(path) if _top(n) == "layers")
        for path in _sources("geo")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_views_use_no_streamlit_session():
    offenders = {}
    for path in _sources("views"):
        rel = str(path.relative_to(PROJECT))
        allowed = VIEWS_READING_SERVER_CONFIG.get(rel, set())
        bad = sorted(n for n in _imports(path) if _top(n) in ("streamlit", "streamlit_folium", "pages") and n not in allowed)
        if bad:
            offenders[rel] = bad
    assert offenders == {}
