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


# Initiatives whose place the plan names and the territory each must fall in. Urban
# territories are the census zones; a referential point that lay outside the census city was
# brought inside the census zone nearest to it, as the old sector addresses are (data/README.md).
SITED = {
    # Point 1.25 km east of the census city, brought into the nearest zone.
    "Construcción Complejo Deportivo La Turbina": {"oriente-3-4"},
    "Jardín Infantil Vista Alegre": {"vista-alegre"},
    "Centro Abierto Villa El Edén": {"villa-el-eden"},
    # Both points on the northern plateau, 1.2 and 1.8 km from the census city, brought in.
    "Centro Comunitario Familiar en Población Hermanos Carrera y Rafael Torreblanca": {"norte-4-2", "quinta-valle"},
    # The former referential sector, shrunk: it spans three census zones.
    "Mejoramiento Integral Barrio Estación": {"barrio-estacion", "plaza-de-armas", "villa-el-eden"},
    # The Plaza de Armas lies on the border of two zones.
    "Reconversión Macromanzana (Plaza de Armas y su entorno)": {"centro", "plaza-de-armas"},
    "Habilitación Paseos Peatonales centro de la ciudad": {"centro", "plaza-de-armas"},
    # The two access points lay 0.4 and 0.2 km outside the census city, brought in.
    "Solución ingreso norte y sur (camino a Huasco) de la ciudad": {"quinta-valle", "villa-el-eden"},
}


@pytest.mark.parametrize("name, expected", SITED.items())
def test_named_places_are_sited_in_their_territory(source, name, expected):
    layer = source["layer"].set_index("nombre")
    row = layer.loc[name]
    assert row.geometry is not None and not row.geometry.is_empty
    assert row["alcance"] == "territorial"
    assert row["fuente_geometria"] and row["precision_m"] > 0
    assert set(row["territorios"].split(";")) == expected


def test_a_plaza_whose_place_the_plan_does_not_give_gets_no_point(source):
    """Plaza Pablo Neruda: the plan does not say where it is; it concerns the city, with no invented point."""
    row = source["layer"].set_index("nombre").loc["Habilitación Plaza Pablo Neruda"]
    assert row["alcance"] == "urbano"
    assert row.geometry is None or row.geometry.is_empty


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
    pairs = links.relate(layer, source["territories"]).pairs()
    got = set(pairs.loc[pairs["id"] == iid, "slug"])
    terr = source["territories"]
    rural = set(terr.loc[terr["tipo"].map(territories.is_rural), "slug"])
    assert got == rural and "domeyko" in got and "centro" not in got


def test_extracomunal_concerns_no_territory(source):
    layer = source["layer"]
    row = layer[layer["nombre"].str.contains("La Serena")]
    assert row["alcance"].item() == "extracomunal"
    pairs = links.relate(layer, source["territories"]).pairs()
    assert row["id"].item() not in set(pairs["id"])


def test_relations_one_per_pair_most_specific(source):
    pairs = links.relate(source["layer"], source["territories"]).pairs()
    assert not pairs.duplicated(["id", "slug"]).any()
    n_terr = len(source["territories"])
    comunal = source["layer"].loc[source["layer"]["alcance"] == "comunal", "id"]
    assert (pairs[pairs["id"].isin(comunal)].groupby("id").size() == n_terr).all()
    paseos = source["layer"].loc[source["layer"]["nombre"].str.startswith("Habilitación Paseos"), "id"].item()
    mine = pairs.loc[pairs["id"] == paseos]
    assert set(mine["relacion"]) == {"ubicada"} and set(mine["slug"]) == {"centro", "plaza-de-armas"}


def test_polygon_touching_a_neighbour_does_not_concern_it(source):
    terr = source["territories"]
    centro = terr.loc[terr["slug"] == "centro"].geometry.item()
    layer = gpd.GeoDataFrame(
        {"id": ["X"], "alcance": ["territorial"], "territorios": [""]}, geometry=[centro], crs=4326
    )
    pairs = links.relate(layer, terr).pairs()
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
    pairs = links.relate(layer, other, reference=terr).pairs()
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


# --------------------------------------------------------------------------- the rules on the store


def _import_units(folder):
    """Replace the shipped ``territorios`` by referential unidades vecinales (see ``city_units``)."""
    from layers.ingest import importer
    from tests.layers.ingest._import_fixtures import city_units, write

    path = write(city_units(), folder / "uv.geojson")
    importer.import_file(path, as_="territorios", layer="territorios", name_field="NOMBRE", id_field="COD_UV", replace=True)


def test_relation_rule_translates_links_after_territories_are_replaced(fresh_store, tmp_path):
    from layers import store, territory_layers

    inits = store.read_layer("iniciativas")
    shipped_layer, shipped_rel = territory_layers.relations(inits)
    pd.testing.assert_frame_equal(shipped_rel.pairs(), links.relate(inits, shipped_layer).pairs())
    assert territory_layers.is_shipped_as_shipped("territorios")

    _import_units(tmp_path)
    replaced = store.read_layer("territorios")
    assert not territory_layers.is_shipped_as_shipped("territorios")
    # Relating against the replaced layer alone cannot translate the plan's named links.
    with pytest.raises(DataValidationError, match="Faltan los territorios de referencia"):
        links.relate(inits, replaced)
    # The rule reads the layers through the caller's reader and registry (cached callers).
    read_names: list[str] = []

    def reader(name):
        read_names.append(name)
        return store.read_layer(name)

    layer, rel = territory_layers.relations(inits, "territorios", registry=store.list_layers(), read=reader)
    pairs = rel.pairs(ids=["E1-P4-09"])
    assert read_names == ["territorios"]  # the shipped reference comes from data/, not the replaced layer
    assert list(layer["slug"]) == list(replaced["slug"])
    linked = pairs[(pairs["id"] == "E1-P4-09")]
    assert linked.set_index("slug")["relacion"].to_dict() == {"uv-r1": "vinculada"}
    reference = territory_layers.shipped_territories()
    assert "domeyko" in set(reference["slug"]) and len(reference) == len(shipped_layer)


def _import_turbina(folder, layer):
    from layers import store
    from layers.ingest import importer
    from tests.layers.ingest._import_fixtures import write

    terr = store.read_layer("territorios")
    point = shapely.point_on_surface(terr.loc[terr["slug"] == "domeyko"].geometry.iloc[0])
    sites = gpd.GeoDataFrame({"codigo": ["E1-P1-08"]}, geometry=[point], crs="EPSG:4326")
    importer.import_file(write(sites, folder / f"{layer}.geojson"), as_="iniciativas", layer=layer, id_field="codigo")


def test_default_sites_are_the_newest_import(fresh_store, tmp_path):
    from layers import store
    from layers._errors import UnknownLayerError
    from layers.ingest import importer

    assert initiatives.site_layers() == [] and initiatives.default_sites() is None
    assert initiatives.choose_sites(None) is None and initiatives.choose_sites(" incluidas ") is None
    catalogue_layer = store.read_layer("iniciativas")
    pd.testing.assert_frame_equal(initiatives.with_sites(None), catalogue_layer)

    _import_turbina(tmp_path, "antiguas")
    _import_turbina(tmp_path, "nuevas")
    registry = store.list_layers()
    assert initiatives.site_layers(registry) == ["nuevas", "antiguas"]
    assert initiatives.default_sites(registry) == "nuevas"
    assert initiatives.choose_sites("", registry) == "nuevas"
    assert initiatives.choose_sites("antiguas", registry) == "antiguas"
    assert initiatives.choose_sites("incluidas", registry) is None
    with pytest.raises(UnknownLayerError, match="Capa de ubicaciones desconocida: «x»") as err:
        initiatives.choose_sites("x", registry)
    assert err.value.code == "unknown_sites" and err.value.data == {"layer": "x", "known": ["nuevas", "antiguas"]}

    merged = initiatives.with_sites("nuevas", registry=registry)
    row = merged.set_index("id").loc["E1-P1-08"]
    assert row["territorios"] == "domeyko" and "nuevas.geojson" in row["fuente_geometria"]
    assert list(merged["id"]) == list(catalogue_layer["id"]) and list(merged.columns) == list(catalogue_layer.columns)
    # The importer's overlay (kept for its callers) gives the same layer.
    shipped_terr = store.read_layer("territorios")
    pd.testing.assert_frame_equal(merged, importer.merge_sites(catalogue_layer, "nuevas", shipped_terr))


def test_a_multipart_site_concerns_the_territories_of_its_parts(source):
    """Parts are related one by one: a multipoint's envelope is not a place."""
    terr = source["territories"].set_index("slug")
    centro, domeyko = terr.geometry["centro"], terr.geometry["domeyko"]
    inner = shapely.Point(domeyko.representative_point().x, domeyko.representative_point().y).buffer(0.001)
    layer = gpd.GeoDataFrame(
        {"id": ["P", "A"], "alcance": ["territorial", "comunal"], "territorios": ["", ""]},
        geometry=[shapely.MultiPoint([centro.representative_point(), domeyko.representative_point()]),
                  shapely.MultiPolygon([centro, inner])],
        crs=4326,
    )
    rel = links.relate(layer, source["territories"])
    pairs = rel.pairs()
    assert set(pairs.loc[pairs["id"] == "P", "slug"]) == {"centro", "domeyko"}
    # Centro's polygon only touches its neighbours; the other part lies in Domeyko.
    mine = pairs[pairs["id"] == "A"].set_index("slug")["relacion"]
    assert mine[["centro", "domeyko"]].tolist() == ["ubicada", "ubicada"]
    assert (mine.drop(["centro", "domeyko"]) == "comunal").all() and len(mine) == len(terr)
    counts = rel.counts(["A"])
    assert counts.loc["centro", "ubicada"] == 1 and counts.loc["centro", "comunal"] == 0
    assert counts.loc["vista-alegre", "comunal"] == 1
