"""Link rules between initiatives and territories, on the shipped data and on corrupted copies."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from layers import catalogue, commune, initiatives, links, territories
from layers._errors import DataValidationError


@pytest.fixture(scope="module")
def source():
    terr = territories.load_territories()
    geom = commune.load_commune().geometry.iloc[0]
    return {
        "initiatives": catalogue.load_initiatives(),
        "scopes": links.load_scopes(),
        "sites": links.load_sites(),
        "territories": terr,
        "commune": geom,
        "layer": initiatives.load_shipped(terr, geom),
    }


def test_shipped_links_are_valid(source):
    links.validate_links(source["initiatives"], source["scopes"], source["sites"], source["territories"], source["commune"])


def test_every_initiative_has_one_scope(source):
    scopes = source["scopes"]
    assert sorted(scopes["id"]) == sorted(source["initiatives"]["id"])
    assert set(scopes["alcance"]) == set(links.ALCANCES)


# Initiatives whose place the plan names and the territory each must fall in.
SITED = {
    "Construcción Complejo Deportivo La Turbina": {"la-turbina"},
    "Jardín Infantil Vista Alegre": {"vista-alegre"},
    "Centro Abierto Villa El Edén": {"villa-el-eden"},
    "Centro Comunitario Familiar en Población Hermanos Carrera y Rafael Torreblanca": {"hermanos-carrera", "rafael-torreblanca"},
    "Mejoramiento Integral Barrio Estación": {"barrio-estacion"},
    "Reconversión Macromanzana (Plaza de Armas y su entorno)": {"centro"},
    "Habilitación Plaza Pablo Neruda": None,
    "Habilitación Paseos Peatonales centro de la ciudad": {"centro"},
    "Solución ingreso norte y sur (camino a Huasco) de la ciudad": {"acceso-norte", "acceso-sur"},
}


@pytest.mark.parametrize("name, expected", SITED.items())
def test_named_places_are_sited_in_their_territory(source, name, expected):
    layer = source["layer"].set_index("nombre")
    row = layer.loc[name]
    assert row.geometry is not None and not row.geometry.is_empty
    assert row["alcance"] == "territorial"
    assert row["fuente_geometria"] and row["precision_m"] > 0
    derived = set(row["territorios"].split(";"))
    if expected is not None:
        assert derived == expected
    else:
        assert len(derived) == 1


def test_geometry_types(source):
    layer = source["layer"].set_index("nombre")
    assert layer.loc["Habilitación Paseos Peatonales centro de la ciudad"].geometry.geom_type == "LineString"
    assert layer.loc["Reconversión Macromanzana (Plaza de Armas y su entorno)"].geometry.geom_type == "Polygon"
    assert layer.loc["Construcción Complejo Deportivo La Turbina"].geometry.geom_type == "Point"


RURAL = [
    "Construcción agua potable rural, diversos sectores",
    "Construcción alcantarillado rural, diversos sectores",
    "Instalación luminarias calles diversas localidades rurales",
    "Mejoramiento Caminos Básicos 5000",
    "Saneamiento Básico diversas localidades rurales",
    "Planes Seccionales Rurales",
    "Establecer Límites Urbanos Localidades Rurales",
]


@pytest.mark.parametrize("name", RURAL)
def test_rural_programmes_link_to_every_rural_locality(source, name):
    layer = source["layer"]
    iid = layer.loc[layer["nombre"] == name, "id"].item()
    assert layer.loc[layer["id"] == iid, "alcance"].item() == "rural"
    pairs = links.relate(layer, source["territories"])
    got = set(pairs.loc[pairs["id"] == iid, "slug"])
    terr = source["territories"]
    rural = set(terr.loc[terr["tipo"].map(territories.is_rural), "slug"])
    assert got == rural and "domeyko" in got and "centro" not in got


def test_extracomunal_concerns_no_territory(source):
    layer = source["layer"]
    row = layer[layer["nombre"].str.contains("La Serena")]
    assert row["alcance"].item() == "extracomunal"
    pairs = links.relate(layer, source["territories"])
    assert row["id"].item() not in set(pairs["id"])


def test_relations_one_per_pair_most_specific(source):
    pairs = links.relate(source["layer"], source["territories"])
    assert not pairs.duplicated(["id", "slug"]).any()
    n_terr = len(source["territories"])
    comunal = source["layer"].loc[source["layer"]["alcance"] == "comunal", "id"]
    assert (pairs[pairs["id"].isin(comunal)].groupby("id").size() == n_terr).all()
    paseos = source["layer"].loc[source["layer"]["nombre"].str.startswith("Habilitación Paseos"), "id"].item()
    assert pairs.loc[pairs["id"] == paseos, "relacion"].tolist() == ["ubicada"]


def test_polygon_touching_a_neighbour_does_not_concern_it(source):
    terr = source["territories"]
    centro = terr.loc[terr["slug"] == "centro"].geometry.item()
    layer = gpd.GeoDataFrame(
        {"id": ["X"], "alcance": ["territorial"], "territorios": [""]}, geometry=[centro], crs=4326
    )
    pairs = links.relate(layer, terr)
    assert set(pairs["slug"]) == {"centro"}


def test_relink_to_another_territory_layer(source):
    """Links named in the table are translated by overlap when the active layer is another one."""
    terr = source["territories"]
    # A coarse replacement layer: the commune split into a west and an east half.
    com = source["commune"]
    minx, miny, maxx, maxy = com.bounds
    mid = -70.9
    halves = [shapely.clip_by_rect(com, minx, miny, mid, maxy), shapely.clip_by_rect(com, mid, miny, maxx, maxy)]
    other = gpd.GeoDataFrame({"slug": ["oeste", "este"], "tipo": ["localidad rural", "sector urbano"]}, geometry=halves, crs=4326)
    layer = source["layer"]
    pairs = links.relate(layer, other, reference=terr)
    linked = pairs[pairs["relacion"] == "vinculada"]
    carretera = layer.loc[layer["alcance"].eq("territorial") & layer.geometry.isna(), "id"]
    assert set(linked["id"]) == set(carretera)
    # domeyko (lon -70.885) is east of -70.9, incahuasi (lon -71.03) is west.
    assert set(linked["slug"]) == {"oeste", "este"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({("scopes", "E1-P1-08", "territorios"): "la-turbina"}, "se derivan, no se escriben"),
        ({("scopes", "E1-P1-08", "alcance"): "comunal"}, "tiene geometría pero alcance"),
        ({("scopes", "E1-P4-09", "territorios"): "atlantida"}, "territorios desconocidos: atlantida"),
        ({("scopes", "E1-P4-09", "territorios"): ""}, "no nombra territorios"),
        ({("scopes", "E2-P1-01", "territorios"): "domeyko"}, "no debe nombrar territorios"),
        ({("scopes", "E2-P1-01", "alcance"): "galáctico"}, "alcance desconocido"),
        ({("scopes", "E2-P1-01", "nombre"): "Otro nombre"}, "el nombre no coincide"),
        ({("sites", "E1-P1-08", "geometry"): Point(-75.0, -28.5)}, "fuera de la comuna"),
    ],
)
def test_validate_links_refuses_broken_tables(source, change, message):
    scopes = source["scopes"].copy()
    sites = source["sites"].copy()
    for (table, iid, column), value in change.items():
        frame = scopes if table == "scopes" else sites
        idx = frame.index[frame["id"] == iid]
        if column == "geometry":
            sites = sites.set_geometry(sites.geometry.where(sites["id"] != iid, value))
        else:
            frame.loc[idx, column] = value
    with pytest.raises(DataValidationError, match=message):
        links.validate_links(source["initiatives"], scopes, sites, source["territories"], source["commune"])


def test_validate_links_refuses_missing_and_duplicate_rows(source):
    scopes = source["scopes"]
    with pytest.raises(DataValidationError, match="iniciativas sin alcance: E8-P4-02"):
        links.validate_links(source["initiatives"], scopes[scopes["id"] != "E8-P4-02"], source["sites"], source["territories"], source["commune"])
    doubled = pd.concat([scopes, scopes.head(1)])
    with pytest.raises(DataValidationError, match="ids repetidos"):
        links.validate_links(source["initiatives"], doubled, source["sites"], source["territories"], source["commune"])
