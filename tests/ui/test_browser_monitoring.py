"""The plan map coloured by monitoring status, in a real Chromium on a real ``streamlit run`` (no internet).

The store is a private copy of the session store where a planner recorded that the
walkway line E1-P1-03 is finished (``terminada``, drawn black) at 100 %. The test
opens ``/mapa?colorear=estado``, finds that line by its status colour, opens its
popup and its tooltip, and reads the status and the progress.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.ui.test_browser import APP, assert_clean, open_page

#: Stroke of a ``terminada`` line (views.symbology.ESTADO_COLORS).
DONE_STROKE = "#000000"


@pytest.fixture(scope="module")
def recorded_dir(data_dir, tmp_path_factory):
    """A data directory holding a copy of the session store with one monitoring record."""
    import os

    from layers import settings
    from layers.monitoring import history

    path = tmp_path_factory.mktemp("sit_monitoring")
    shutil.copyfile(Path(data_dir) / settings.STORE_FILENAME, path / settings.STORE_FILENAME)
    saved = os.environ.get("SIT_DATA_DIR")
    os.environ["SIT_DATA_DIR"] = str(path)
    try:
        values = pd.DataFrame({"estado": ["terminada"], "avance_fisico": [100.0]}, index=["E1-P1-03"]).astype(object)
        history.apply_changes(values, "Ana Pérez", "Prueba", now=dt.datetime(2026, 3, 15, 13, 20, tzinfo=dt.UTC))
    finally:
        if saved is None:
            os.environ.pop("SIT_DATA_DIR", None)
        else:
            os.environ["SIT_DATA_DIR"] = saved
    return path


def test_map_coloured_by_status_with_popup_and_tooltip(streamlit_server, recorded_dir, browser_page):
    server = streamlit_server.get(APP, env={"SIT_DATA_DIR": str(recorded_dir)})
    probe = browser_page
    # Opened close to the line (?vista=lat,lon,zoom), so that it is large enough to point at.
    open_page(probe, server.base_url + "/mapa?colorear=estado&vista=-28.57540,-70.76020,17")
    frame = probe.wait_for_map()
    line = frame.locator(f'path.leaflet-interactive[stroke="{DONE_STROKE}"]')
    line.first.wait_for(state="attached", timeout=30_000)
    assert line.count() == 1  # the one finished initiative with a line
    legend = frame.locator(".sit-legend").inner_text()
    assert "Iniciativas ubicadas, por estado" in legend and "En ejecución" in legend and "Descartada" in legend
    # A 5 px line is hard to point at with the mouse: the events go to the path itself and bubble
    # to Leaflet's renderer as a pointer's would.
    line.first.dispatch_event("mouseover", {"bubbles": True})
    tooltip = frame.locator(".leaflet-tooltip", has_text="Habilitación Paseos Peatonales")
    tooltip.first.wait_for(timeout=10_000)
    assert "terminada · avance físico 100,0 %" in tooltip.first.inner_text()
    line.first.dispatch_event("click", {"bubbles": True})
    popup = frame.locator(".sit-popup")
    popup.wait_for(timeout=10_000)
    text = popup.inner_text()
    assert "Habilitación Paseos Peatonales" in text
    assert "Estado\tterminada" in text and "Avance físico\t100,0 %" in text
    assert_clean(probe)
