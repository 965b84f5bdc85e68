"""Shared fixtures: an isolated store per test session, built from the shipped data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("SIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh ``SIT_DATA_DIR`` for the whole session, with the store built in it."""
    path = tmp_path_factory.mktemp("sit_data")
    os.environ["SIT_DATA_DIR"] = str(path)
    from layers import store

    store.ensure_store()
    return path


@pytest.fixture
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ``SIT_DATA_DIR`` for tests that write to the store."""
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def fresh_store(data_dir: Path, isolated_data_dir: Path) -> Path:
    """A private copy of the session store (built once from data/), in ``SIT_DATA_DIR``."""
    import shutil

    from layers import settings, store

    shutil.copyfile(data_dir / settings.STORE_FILENAME, isolated_data_dir / settings.STORE_FILENAME)
    store.ensure_store()  # fingerprint matches: no rebuild
    return isolated_data_dir / settings.STORE_FILENAME


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def shipped(data_dir) -> dict:
    """The shipped layers read from the session store, with their relations, for expected values."""
    from layers import links, store

    inits = store.read_layer("iniciativas")
    terr = store.read_layer("territorios")
    return {
        "initiatives": inits,
        "territories": terr,
        "relations": links.relate(inits, terr),
        "strategies": store.read_layer("estrategias"),
        "objectives": store.read_layer("objetivos"),
        "plans": store.read_layer("planes"),
        "commune": store.read_layer("comuna"),
        "registry": store.list_layers(),
    }


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium launched through Playwright (no browser download), one for the whole session.

    Playwright's sync API allows one running instance per thread, so every browser test of the
    session (interface, views) shares this one.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (run 'make browser')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
