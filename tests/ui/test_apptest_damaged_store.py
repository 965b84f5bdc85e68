"""The app on a damaged store shows one Spanish page saying what happened and what to do, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers import settings
from tests.layers.store._damage import damage, populate

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.mark.parametrize("kind", ["truncated", "garbage"])
def test_damaged_store_page(fresh_store, kind):
    populate()
    damage(settings.store_path(), kind)
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["El almacén de capas está dañado"]
    assert "revisión de integridad" in at.error[0].value
    codes = [c.value for c in at.code]
    assert "python cli.py build --reparar" in codes
    # Server paths and SQLite internals go to the server's log, never to visitors.
    shown = " ".join([*codes, *(m.value for m in at.markdown), *(e.value for e in at.error)])
    assert str(settings.store_path().parent) not in shown and "btree" not in shown.lower()
    assert any("copia de respaldo" in m.value for m in at.markdown)
