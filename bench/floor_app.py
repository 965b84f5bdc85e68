"""The smallest Streamlit page: a title and nothing else, the floor of ``bench/bench_app.py``.

Every page of either app pays what this page pays before it shows anything of its own:
Streamlit's frontend (its HTML, about 80 code chunks, fonts), the websocket, one script run
and the garbage collection Streamlit runs after it. ``bench_app`` times this page in the
same runs as the 100× sector pages, with the same browser, harness and idea of *loaded*
(script idle, a title shown, no table, no map), so the table can show how much of a page's
time is the page's own: a page cannot load faster than this one on the same machine.

``bench_app`` starts it through :mod:`views.launch`, as ``make run`` starts the product, so
that the garbage collection after its run is as cheap as the product's. It reads no data
and needs no ``SIT_DATA_DIR``. Like the product's ``app.py`` it sets ``TCP_NODELAY`` on the
server's connections (:mod:`views.serving`): without it every file after the first on a
kept-alive connection waits for the browser's delayed acknowledgement, and this page loaded
about 0.3 s later than it needs to (1.05 s against 0.76 s, 9 paired runs, 2026-12-02), so it
was no floor for the product's pages. The naive app does not set it: a plain Streamlit app
does not.
"""

import streamlit as st

from views import serving

serving.send_without_delay()
st.title("SIT Vallenar")
