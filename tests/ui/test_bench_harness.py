"""bench/bench_app.py in a real browser: when a page counts as loaded, and "the same page without a map"."""

from __future__ import annotations

import json

import pytest

from bench import bench_app

APPS = {"product": bench_app.PRODUCT_APP, "naive": bench_app.NAIVE_APP}
#: The conditions bench_app's shipped phase loads /mapa with: whole, and without its map.
WHOLE = {"map": True, "minFeatures": 1, "tables": 1}
WITHOUT_MAP = {"map": False, "tables": 1, "blankFrames": True}


def _frame_text(visit) -> list[str]:
    return [frame.evaluate("() => document.documentElement.outerHTML") for frame in visit.page.frames[1:]]


def _widgets(visit) -> int:
    return visit.page.evaluate("() => document.querySelectorAll('[data-testid^=\"stMultiSelect\"]').length")


@pytest.mark.parametrize("app", list(APPS))
def test_a_blank_frames_visit_keeps_the_page_and_leaves_out_only_the_map(app, browser, streamlit_server, data_dir):
    server = streamlit_server.get(APPS[app], env={"SIT_DATA_DIR": str(data_dir)})
    address = bench_app.url(server, "mapa")

    seconds, whole = bench_app.load(browser, address, WHOLE, timeout_s=120, keep=True)
    try:
        assert seconds is not None
        assert whole.blanked == [] and whole.blocked == []
        assert whole.page.evaluate("() => window.__bench.last.loaded") == 1
        widgets = _widgets(whole)
    finally:
        whole.close()

    seconds, bare = bench_app.load(browser, address, WITHOUT_MAP, timeout_s=120, keep=True)
    try:
        assert seconds is not None
        assert len(bare.blanked) == 1 and bench_app.FRAME_DOCUMENTS.match(bare.blanked[0])  # the map's document only
        assert bare.page.locator("iframe").count() == 1  # the frame is there, empty
        assert _frame_text(bare) == [bench_app.BLANK_FRAME.removeprefix("<!DOCTYPE html>")]
        assert bare.page.evaluate("() => window.__bench.last.loaded") == 0
        assert _widgets(bare) == widgets
        assert bare.page.locator('[data-testid="stDataFrame"] canvas').count() >= 1  # the table is drawn
    finally:
        bare.close()


def test_a_visit_that_was_to_leave_out_the_map_and_did_not_is_refused(browser, streamlit_server, data_dir):
    server = streamlit_server.get(APPS["product"], env={"SIT_DATA_DIR": str(data_dir)})
    with pytest.raises(RuntimeError, match="without a map"):  # /capas has no map frame: nothing to blank
        bench_app.load(browser, bench_app.url(server, "capas"), WITHOUT_MAP, timeout_s=120)


def test_only_requests_that_leave_the_machine_are_routed():
    local = ["http://127.0.0.1:8501/", "http://localhost:9/static/js/main.js", "http://[::1]:80/x",
             "data:text/html,x", "blob:http://127.0.0.1/1", "about:blank"]
    remote = ["https://tile.openstreetmap.org/1/1/1.png", "http://127.0.0.2/", "http://example.org/127.0.0.1:1/"]
    assert not any(bench_app.NON_LOCAL_HTTP.match(u) for u in local)
    assert all(bench_app.NON_LOCAL_HTTP.match(u) for u in remote)


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
        assert page.evaluate(bench_app.STATUS_JS)["settled"] is None  # nor is it settled ("map kept" waits too)
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


def test_each_paired_run_also_times_the_bare_streamlit_page(browser, streamlit_server, data_dir):
    """The floor row: bench/floor_app.py loads in the harness, once per run, beside both apps' pages."""
    servers = {app: streamlit_server.get(path, env={"SIT_DATA_DIR": str(data_dir)}) for app, path in APPS.items()}
    floor = streamlit_server.get(bench_app.FLOOR_APP)
    lines: list[str] = []
    out = bench_app.paired_loads(browser, servers, {"capas": ("capas", None)}, 2,
                                 {"capas": {"map": False, "tables": 1}}, lines.append, floor=floor)
    assert [len(out[app]["capas"]) for app in APPS] == [2, 2]
    assert len(out["floor"]["page"]) == 2 and all(s is not None and s > 0 for s in out["floor"]["page"])
    # the bare page is first in even runs and last in odd ones, like the order of the apps
    assert "floor" in lines[0] and "floor" in lines[-1] and sum("floor" in line for line in lines) == 2
    # it is a bare page: a title, nothing to wait for beyond Streamlit itself
    seconds, visit = bench_app.load(browser, bench_app.url(floor, ""), bench_app.FLOOR_COND, timeout_s=60, keep=True)
    try:
        assert seconds is not None
        state = visit.page.evaluate("() => window.__bench.last")
        assert state["heading"] and state["tables"] == 0 and state["loaded"] == 0
    finally:
        visit.close()


def test_a_filter_change_drawn_in_place_counts_once_the_new_selection_is_drawn(browser, streamlit_server, data_dir):
    """views.restyle keeps the product's map: the harness waits for the map to show the new selection
    (not for the page to settle, as for a map kept unchanged) and sees the new marks."""
    server = streamlit_server.get(APPS["product"], env={"SIT_DATA_DIR": str(data_dir)})
    cond = {"map": True, "minFeatures": 30, "tables": 1}
    seconds, visit = bench_app.load(browser, bench_app.url(server, "mapa"), cond, timeout_s=120, keep=True)
    try:
        assert seconds is not None
        before = visit.page.evaluate("() => window.__bench.last.features")
        result = bench_app.filter_change(visit, bench_app.FILTER_TEXT, cond, timeout_s=120)
        assert result is not None and result[1] is False  # a new drawing, not a kept map
        shown = visit.page.evaluate("""() => window.__bench.maps().map(([m]) => m.__sitSelection)""")
        assert len(shown) == 1 and shown[0].endswith(".json")  # the same map, showing a selection document
        assert visit.page.evaluate("() => window.__bench.last.features") != before
    finally:
        visit.close()
