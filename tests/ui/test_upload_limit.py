"""Streamlit's own upload endpoint refuses files above the product's limit, for anonymous visitors too.

A real ``streamlit run app.py`` (``.streamlit/config.toml`` applies, as with ``make
run``), an anonymous visitor who never signs in: XSRF cookie,
websocket session, then PUTs to ``/_stcore/upload_file/<session>/<id>``, with the
helpers of ``bench/bench_upload_memory.py``. The server's resident memory is read from
``/proc``. Only loopback traffic.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from layers import settings

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_upload_memory", PROJECT / "bench" / "bench_upload_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server(streamlit_server, data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sit_data_upload")
    shutil.copyfile(data_dir / settings.STORE_FILENAME, folder / settings.STORE_FILENAME)
    return streamlit_server.get(APP, env={"SIT_DATA_DIR": str(folder), "SIT_UPLOAD_LIMIT_MB": ""})


def test_anonymous_uploads_above_the_limit_are_refused_before_reaching_memory(server, monkeypatch):
    monkeypatch.delenv("SIT_UPLOAD_LIMIT_MB", raising=False)
    bench = _bench()
    limit = settings.streamlit_upload_mb()
    assert limit == 50
    xsrf = bench.xsrf_cookie(server.base_url)
    with bench.open_stream(server.base_url, xsrf) as ws:
        sid = bench.session_id(ws)
        # The endpoint does take a small file from this anonymous session: the refusal below is the limit.
        assert bench.push(server.base_url, sid, xsrf, 1, 1) == [204]
        before = bench.settled_rss_mb(server.process.pid)  # after the first run of the page
        assert bench.push(server.base_url, sid, xsrf, limit + 10, 2) == [413, 413]
        after = bench.rss_mb(server.process.pid)
    assert after - before < 20, f"server memory grew {after - before:.0f} MB on refused uploads"
