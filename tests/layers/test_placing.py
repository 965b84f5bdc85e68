"""Initiatives placed in the app (``layers/access/placing.py``): validation, record, history, default sites."""

from __future__ import annotations

import pytest
import shapely

from layers import initiatives, links, store
from layers.access import accounts, placing, roles, sessions
from layers.access.roles import AccessDenied

PASSWORD = "una clave bastante larga"
IDENT = "E1-P1-01"  # no shipped place
SITED = "E1-P1-08"  # shipped referential point
# A block of Vallenar's centre (lon, lat)
POINT = {"type": "Point", "coordinates": [-70.7575, -28.5765]}
LINE = {"type": "LineString", "coordinates": [[-70.7600, -28.5770], [-70.7560, -28.5760]]}
SQUARE = {"type": "Polygon", "coordinates": [[[-70.760, -28.578], [-70.758, -28.578], [-70.758, -28.576],
                                             [-70.760, -28.576], [-70.760, -28.578]]]}


@pytest.fixture
def planner(fresh_store):
    accounts.create("ana", roles.PLANIFICADOR, PASSWORD)
    accounts.create("vecina", roles.JUNTA, PASSWORD)
    return sessions.open_session(accounts.get("ana"))


def current(ident: str):
    return initiatives.with_sites(initiatives.default_sites()).set_index("id").loc[ident]


@pytest.mark.parametrize("drawn", [POINT, LINE, SQUARE])
def test_a_drawn_geometry_becomes_the_default_site_with_source_and_precision(planner, drawn):
    placing.place(planner, IDENT, drawn, 12, "Terreno definido por SECPLAN")
    assert initiatives.default_sites() == placing.LAYER
    row = current(IDENT)
    assert row.geometry.equals(shapely.geometry.shape(drawn))
    assert row["fuente_geometria"].startswith("dibujada por ana el 20") and row["precision_m"] == 12
    entry = placing.history(IDENT).iloc[-1]
    assert (entry["campo"], entry["autor"], entry["motivo"]) == ("ubicacion", "ana", "Terreno definido por SECPLAN")


def test_the_initiative_is_relinked_to_territories_at_once(planner, shipped):
    before = links.relate(initiatives.with_sites(initiatives.default_sites()), shipped["territories"]).pairs()
    assert set(before.loc[before["id"] == IDENT, "relacion"]) == {"urbano"}  # every urban territory, by scope
    placing.place(planner, IDENT, POINT, 8)
    rel = links.relate(initiatives.with_sites(initiatives.default_sites()), shipped["territories"]).pairs()
    placed = rel[(rel["id"] == IDENT) & (rel["relacion"] == "ubicada")]
    assert placed["slug"].tolist() == ["centro"]  # sited in the centre; the scope's links stay
    assert current(IDENT)["territorios"] == "centro"


def test_a_shipped_referential_site_is_replaced_and_can_be_removed(planner):
    before = current(SITED)
    assert before.geometry is not None and "dibujada" not in str(before["fuente_geometria"])
    placing.place(planner, SITED, POINT, 5)
    assert current(SITED).geometry.equals(shapely.geometry.shape(POINT))
    placing.remove(planner, SITED, "No corresponde a una obra")
    row = current(SITED)
    assert row.geometry is None and row["fuente_geometria"].startswith("retirada por ana")
    values = placing.history(SITED)[["valor_anterior", "valor_nuevo"]].values.tolist()
    assert values[0][0].startswith("punto · Punto digitado por el proyecto")  # the shipped site it replaced
    assert values[1][0].startswith("punto · dibujada por ana") and values[1][1].startswith("retirada por ana")


def test_a_point_added_beside_the_current_one_keeps_its_coarser_precision(planner):
    """The drawing tool starts from the current place: a kept part keeps the whole as imprecise as it was."""
    before = current(SITED)
    old = before.geometry
    both = {"type": "MultiPoint", "coordinates": [[old.x, old.y], POINT["coordinates"]]}
    placing.place(planner, SITED, both, 5, "Segundo acceso")
    row = current(SITED)
    assert row["precision_m"] == int(before["precision_m"]) > 5
    assert "sobre partes de la ubicación anterior (Punto digitado por el proyecto" in row["fuente_geometria"]
    elsewhere = {"type": "Point", "coordinates": [-70.7580, -28.5770]}
    placing.place(planner, SITED, elsewhere, 5, "Reemplazada")  # only a new point: its own precision
    assert current(SITED)["precision_m"] == 5 and "sobre partes" not in current(SITED)["fuente_geometria"]


@pytest.mark.parametrize("drawn, code", [
    ({"type": "Point", "coordinates": [-69.0, -27.0]}, "outside_commune"),
    ({"type": "Polygon", "coordinates": [[[-70.76, -28.57], [-70.75, -28.58], [-70.76, -28.58], [-70.75, -28.57],
                                          [-70.76, -28.57]]]}, "invalid_geometry"),
    ({"type": "GeometryCollection", "geometries": []}, "empty_geometry"),
    ({"type": "LineString", "coordinates": [[-70.76, -28.57], [-70.76, -28.57]]}, "invalid_geometry"),
    ({"type": "GeometryCollection", "geometries": [POINT, LINE]}, "bad_geometry_type"),
    ("no es geojson", "invalid_geometry"),
])
def test_bad_geometries_are_refused_and_nothing_is_written(planner, drawn, code):
    with pytest.raises(placing.PlacementError) as info:
        placing.place(planner, IDENT, drawn, 5)
    assert info.value.code == code
    assert placing.history().empty and placing.LAYER not in set(store.list_layers()["nombre"])


@pytest.mark.parametrize("who", [None, "vecina"])
def test_public_and_junta_cannot_place_or_remove(planner, who):
    session = None if who is None else sessions.open_session(accounts.get(who))
    with pytest.raises(AccessDenied):
        placing.place(session, IDENT, POINT, 5)
    with pytest.raises(AccessDenied):
        placing.remove(session, SITED)
    assert placing.history().empty


def test_drawings_merge_into_one_geometry():
    feature = lambda g: {"type": "Feature", "properties": {}, "geometry": g}  # noqa: E731
    assert placing.merge_drawings([]) is None
    assert placing.merge_drawings([feature(POINT), feature(POINT)])["type"] == "MultiPoint"
    assert placing.merge_drawings([feature(SQUARE)])["type"] == "Polygon"
    assert placing.merge_drawings([feature(POINT), feature(LINE)])["type"] == "GeometryCollection"


def test_click_precision_follows_the_zoom():
    assert placing.click_precision_m(18, -28.58) == 3  # 0.52 m per pixel
    assert placing.click_precision_m(13, -28.58) == 84
    assert placing.click_precision_m(10, -28.58) == 671


def test_an_imported_site_layer_stays_under_the_app_placements(planner, tmp_path):
    import geopandas as gpd

    sites = gpd.GeoDataFrame({"id": [SITED, "E3-P4-03"], "fuente_geometria": ["SECPLAN", "SECPLAN"],
                              "precision_m": [2, 2]}, geometry=[shapely.Point(-70.757, -28.577),
                                                              shapely.Point(-70.756, -28.578)], crs="EPSG:4326")
    store.save_layer("obras_secplan", sites, {"titulo": "Obras", "clase": initiatives.SITES_CLASE})
    placing.place(planner, SITED, POINT, 5)
    assert initiatives.default_sites() == placing.LAYER
    assert current("E3-P4-03")["fuente_geometria"] == "SECPLAN"  # kept from the imported layer
    assert current(SITED)["fuente_geometria"].startswith("dibujada por ana")
