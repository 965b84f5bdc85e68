"""The smallest Streamlit page: a title and nothing else, the floor of ``bench/bench_app.py``.

Every page of either app pays what this page pays before it shows anything of its own:
Streamlit's frontend (its HTML, about 80 code chunks, fonts), the websocket, one script run
and the garbage collection Streamlit runs after it. ``bench_app`` times this page in the
same runs as the 100× sector pages, with the same browser, harness and idea of *loaded*
(script idle, a title shown, no table, no map), so the table can show how much of a page's
time is the page's own: a page cannot load faster than this one on the same machine.

``bench_app`` starts it through :mod:`views.launch`, as ``make run`` starts the product, so
that the garbage collection after its run is as cheap as the product's. It reads no data
and needs no ``SIT_DATA_DIR``.
"""

import streamlit as st

st.title("SIT Vallenar")
