"""bench/bench_app.py in a real browser: when a page counts as loaded, and "the same page without a map"."""

from __future__ import annotations

import json
from pathlib import Path

from bench import bench_app

APP = Path(__file__).resolve().parents[2] / "app.py"


def _frame_text(visit) -> list[str]:
    return [frame.evaluate("() => document.documentElement.outerHTML") for frame in visit.page.frames[1:]]


def test_a_blank_frames_visit_keeps_the_page_and_leaves_out_only_the_map(browser, streamlit_server, data_dir):
    server = streamlit_server.get(APP, env={"SIT_DATA_DIR": str(data_dir)})
    address = bench_app.url(server, "mapa")

    seconds, whole = bench_app.load(browser, address, {"map": True, "minFeatures": 1}, timeout_s=90, keep=True)
    try:
        assert seconds is not None
        assert whole.blanked == []
        assert any("L.map(" in text for text in _frame_text(whole))
        widgets = whole.page.evaluate("() => document.querySelectorAll('[data-testid^=\"stMultiSelect\"]').length")
    finally:
        whole.close()

    seconds, bare = bench_app.load(browser, address, {"map": False, "blankFrames": True}, timeout_s=90, keep=True)
    try:
        assert seconds is not None
        assert len(bare.blanked) == 1 and "/app/static/mapas/" in bare.blanked[0]  # the map's document only
        assert bare.page.locator("iframe.sit-mapa-frame").count() == 1  # the frame is there, empty
        assert _frame_text(bare) == [bench_app.BLANK_FRAME.removeprefix("<!DOCTYPE html>")]
        assert bare.page.evaluate("() => window.__bench.last.loaded") == 0
        assert bare.page.evaluate("() => document.querySelectorAll('[data-testid^=\"stMultiSelect\"]').length") == widgets
        assert bare.page.locator('[data-testid="stDataFrame"] canvas').count() >= 1  # the table is drawn
    finally:
        bare.close()


def _ready_after(page, ms: int):
    page.wait_for_timeout(ms)
    return page.evaluate(bench_app.STATUS_JS)["ready"]


def test_a_page_is_loaded_only_once_the_tables_it_shows_are_there_and_drawn(browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content('<div data-testid="stApp" data-test-script-state="notRunning"><h1>Mapa</h1></div>')
        page.add_script_tag(content=bench_app.WATCH_JS.replace("COND", json.dumps({"map": False, "tables": 1})))
        assert _ready_after(page, 300) is None  # idle with its title, but the table has not come yet
        page.evaluate("""() => { const t = document.createElement('div');
            t.setAttribute('data-testid', 'stDataFrame'); document.querySelector('h1').after(t); }""")
        assert _ready_after(page, 200) is None  # there, not drawn
        page.evaluate("() => document.querySelector('[data-testid=stDataFrame]').append(document.createElement('canvas'))")
        assert _ready_after(page, 200) is not None

        page.set_content('<div data-testid="stApp" data-test-script-state="notRunning"><h1>Sector</h1></div>')
        page.add_script_tag(content=bench_app.WATCH_JS.replace("COND", json.dumps({"map": False})))
        assert _ready_after(page, 200) is not None  # a page without tables
    finally:
        context.close()
