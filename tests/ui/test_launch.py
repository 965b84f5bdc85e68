"""The product's server as ``make run`` starts it (``python -m views.launch run app.py``)."""

from __future__ import annotations

import urllib.request

from tests.ui.conftest import PROJECT_DIR


def test_the_server_freezes_its_code_first_and_streamlit_keeps_its_command_line_options(browser, streamlit_server,
                                                                                        data_dir):
    server = streamlit_server.get(PROJECT_DIR / "app.py", env={"SIT_DATA_DIR": str(data_dir)})
    with urllib.request.urlopen(f"{server.base_url}/_stcore/health", timeout=30) as response:
        assert response.status == 200
    page = browser.new_page()
    try:
        page.goto(server.url(), wait_until="load")
        page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)  # a visitor's script ran
    finally:
        page.close()
    log = server.log()
    assert "código de las páginas precargado" in log
    # the freeze read no Streamlit configuration: the options of the command line (port, upload limit) apply
    assert "config option section was detected" not in log
    assert f":{server.port}" in log
    assert "views.launch" not in log  # app.py did not warn that the server was started without the freeze
