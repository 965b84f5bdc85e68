"""bench/bench_server_visits.py finds the map document's address in the messages a page sends."""

from __future__ import annotations

import html

from bench import bench_server_visits as visits
from views import mapframe


def test_the_map_address_is_read_from_the_serialised_html_element():
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    address = "/sit/app/static/mapas/123-0a0b0c0d/" + "f" * 32 + ".html?r=1"
    message = ForwardMsg()
    message.delta.new_element.html.body = mapframe.mount(address, 580, 'Mapa "de" <Vallenar>')
    message.delta.new_element.html.unsafe_allow_javascript = True
    found = visits._DATA_SRC.search(message.SerializeToString())
    assert found and html.unescape(found.group(1).decode()) == address
