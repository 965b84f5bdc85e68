"""The shipped territories (layers/territories.py, data/territorios/): census zones in the city,
referential rural localities and the rural remainder; and the referential builder of the localities."""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import affinity
from shapely.geometry import Point, Polygon

from geo import partition
from layers import census, commune, territories
from layers._errors import DataValidationError

UTM = "EPSG:32719"
#: Urban territories named by the places of the plan and of local usage that lie in a census zone.
URBAN_SLUGS = ("centro", "quinta-valle", "vista-alegre", "villa-el-eden", "barrio-estacion")
RURAL_SLUGS = ("domeyko", "cachiyuyo", "incahuasi", "camarones", "longomilla", "el-donkey", "hacienda-compania")


@pytest.fixture(scope="module")
def commune_geom():
    return commune.commune_geometry()


@pytest.fixture(scope="module")
def commune_m(commune_geom):
    return gpd.GeoSeries([commune_geom], crs="EPSG:4326").to_crs(UTM).iloc[0]


@pytest.fixture(scope="module")
def terr() -> gpd.GeoDataFrame:
    return territories.load_territories()


@pytest.fixture(scope="module")
def metric(terr) -> gpd.GeoSeries:
    return terr.geometry.to_crs(UTM)


@pytest.fixture()
def layer(terr) -> gpd.GeoDataFrame:
    return terr.copy()


def _urban_area_m():
    """The city as the 2017 census drew it: the union of the urban census zones (EPSG:32719)."""
    return shapely.union_all(census.load_zones().to_crs(UTM).geometry.array)


# --------------------------------------------------------------------------- contents


def test_fields_types_and_crs(terr):
    assert list(terr.columns) == [*territories.FIELDS, *territories.EXTRA_FIELDS, "geometry"]
    assert terr.crs == "EPSG:4326"
    assert terr["precision_m"].dtype == "int64"
    assert terr["area_km2"].dtype == "float64"
    for col in ("slug", "nombre", "tipo", "fuente", "fuente_geometria"):
        assert pd.api.types.is_string_dtype(terr[col])
    assert terr["slug"].is_unique
    assert terr["slug"].str.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*").all()
    assert set(terr["tipo"]) == set(territories.TIPOS_TERRITORIO)


def test_shipped_layer_passes_validation(terr, commune_geom):
    territories.validate_territories(terr, commune_geom)


def test_urban_sectors_named_in_plan_and_usage(terr):
    urban = terr[terr["tipo"] == "sector urbano"]
    assert len(urban) == 13
    assert set(URBAN_SLUGS) <= set(urban["slug"])
    # The other names of the plan resolve to a zone (data/territorios/alias_sectores.csv).
    for old in census.OLD_URBAN_SLUGS:
        assert census.resolve_slug(old, terr["slug"]) in set(urban["slug"]), old


def test_rural_localities_named_in_press(terr):
    rural = terr[terr["tipo"] == "localidad rural"]
    assert len(rural) >= 15
    assert set(RURAL_SLUGS) <= set(rural["slug"])
    assert {"imperial", "imperial-alto", "imperial-bajo"} & set(rural["slug"])
    rest = terr[terr["tipo"] == "resto rural"]
    assert rest["slug"].tolist() == [territories.RESTO_SLUG]


def test_each_sector_and_locality_is_one_valid_polygon(terr):
    assert terr.is_valid.all() and not terr.is_empty.any()
    single = terr[terr["tipo"] != "resto rural"]
    assert (single.geom_type == "Polygon").all()
    assert terr.loc[terr["tipo"] == "resto rural"].geom_type.isin(["Polygon", "MultiPolygon"]).all()


def test_territories_lie_inside_commune(metric, commune_m):
    # Coordinates are rounded to 1e-6 degree (about 0.1 m): allow 1 m.
    assert shapely.covered_by(metric.array, commune_m.buffer(1.0)).all()


def test_no_two_territories_overlap(metric):
    tree = shapely.STRtree(metric.array)
    left, right = tree.query(metric.array, predicate="intersects")
    keep = left < right
    overlap = shapely.area(shapely.intersection(metric.array[left[keep]], metric.array[right[keep]]))
    assert overlap.max(initial=0.0) < 10.0  # m², rounding noise only
    assert overlap.sum() < 50.0


def test_territories_cover_the_commune(metric, commune_m):
    assert metric.area.sum() == pytest.approx(commune_m.area, rel=1e-4)
    union = shapely.union_all(metric.array)
    # The union is the commune: what differs are slivers narrower than 1 m left by
    # rounding the commune's vertices to 6 decimals.
    slivers = shapely.symmetric_difference(union, commune_m)
    assert shapely.area(slivers) < 1e-5 * commune_m.area
    assert shapely.buffer(slivers, -0.5).is_empty
    # Inside a 1 m strip along the edge nothing is left uncovered.
    assert shapely.area(shapely.difference(commune_m.buffer(-1.0), union)) < 100.0


def test_urban_sectors_tile_the_urban_area(terr, metric):
    urban_area = _urban_area_m()
    sectors = metric[(terr["tipo"] == "sector urbano").to_numpy()]
    union = shapely.union_all(sectors.array)
    assert shapely.area(shapely.symmetric_difference(union, urban_area)) < 100.0
    assert sectors.area.sum() == pytest.approx(urban_area.area, rel=1e-5)


def test_referential_builder_still_tiles_the_commune(commune_geom):
    # The rural localities of the shipped layer come from it (layers.census.build_census_territories).
    built = territories.build_territories(commune_geom=commune_geom)
    territories.validate_territories(built, commune_geom)
    urban = built[built["tipo"] == "sector urbano"].to_crs(UTM)
    referential = gpd.GeoSeries([territories.read_urban_area()], crs="EPSG:4326").to_crs(UTM).iloc[0]
    assert urban.area.sum() == pytest.approx(referential.area, rel=1e-5)
    assert set(census.OLD_URBAN_SLUGS) == set(urban["slug"])


def test_rural_localities_do_not_enter_the_city(terr, metric):
    urban_area = _urban_area_m()
    rural = metric[(terr["tipo"] != "sector urbano").to_numpy()]
    inside = shapely.intersection(rural.array, urban_area)
    # Only rounding slivers along the urban edge (sector corners snapped to 1e-6 degree).
    assert (shapely.area(inside) < territories.TOLERANCE_M2).all()
    assert shapely.is_empty(shapely.buffer(inside, -0.5)).all()
    localities = (terr["tipo"] == "localidad rural").to_numpy()
    assert shapely.area(shapely.intersection(metric.array[localities], urban_area)).max() < 1.0


def test_area_field_matches_recomputation(terr, metric):
    assert np.allclose(terr["area_km2"], metric.area / 1e6, atol=1e-3)


def test_precision_and_sources_are_given(terr):
    assert (terr["precision_m"] > 0).all()
    assert terr["fuente"].str.strip().str.len().gt(0).all()
    assert terr["fuente_geometria"].str.strip().str.len().gt(0).all()
    assert terr["fuente"].str.contains("referencial").all()
    # Urban sectors are more precise than the remainder.
    assert terr.loc[terr["tipo"] == "sector urbano", "precision_m"].max() < terr.loc[terr["tipo"] == "resto rural", "precision_m"].min()


def test_known_places_fall_in_their_territory(terr):
    plaza = Point(-70.759, -28.576)
    assert terr.loc[terr.covers(plaza), "slug"].tolist() == ["plaza-de-armas"]
    seeds = territories.read_seeds()
    rural = seeds[seeds["tipo"] == "localidad rural"]
    for slug, seed in zip(rural["slug"], rural.geometry):
        assert terr.loc[terr["slug"] == slug].geometry.iloc[0].covers(seed), slug
    places = census.load_places()
    inside = census.locate_places(places, census.load_zones())
    for slug in inside.loc[inside["dentro"], "slug"]:
        point = places.loc[places["slug"] == slug].geometry.iloc[0]
        zone = census.resolve_slug(slug, terr["slug"])
        assert terr.loc[terr["slug"] == zone].geometry.iloc[0].covers(point), slug


def test_is_rural_and_is_urban():
    assert territories.is_urban("sector urbano") and not territories.is_rural("sector urbano")
    assert territories.is_rural("localidad rural") and territories.is_rural("resto rural")
    assert not territories.is_urban("resto rural")


def test_shipped_file_is_small_rfc7946():
    path = territories.TERRITORIES_PATH
    assert path.stat().st_size < 1_000_000
    text = path.read_text(encoding="utf-8")
    assert '"crs"' not in text


def test_regenerating_gives_the_shipped_geometries(terr, commune_geom):
    built = census.build_census_territories(commune_geom=commune_geom)
    assert built["slug"].tolist() == terr["slug"].tolist()
    for col in ("nombre", "tipo", "fuente", "fuente_geometria", "precision_m"):
        assert built[col].tolist() == terr[col].tolist(), col
    assert np.allclose(built["area_km2"], terr["area_km2"])
    a = shapely.normalize(built.geometry.array)
    b = shapely.normalize(terr.geometry.array)
    same = shapely.equals_exact(a, b, tolerance=1e-6)
    assert same.all(), built.loc[~same, "slug"].tolist()


# --------------------------------------------------------------------------- validation


def _shift(layer, slug, dx_m, dy_m):
    i = layer.index[layer["slug"] == slug][0]
    geom_m = gpd.GeoSeries([layer.geometry[i]], crs="EPSG:4326").to_crs(UTM)
    moved = gpd.GeoSeries([affinity.translate(geom_m.iloc[0], dx_m, dy_m)], crs=UTM).to_crs("EPSG:4326")
    layer.loc[i, "geometry"] = moved.iloc[0]
    return layer


def test_validation_catches_overlap(layer, commune_geom):
    _shift(layer, "centro", 300, 0)
    with pytest.raises(DataValidationError, match="traslapan.*centro"):
        territories.validate_territories(layer, commune_geom)


def test_validation_catches_gap(layer, commune_geom):
    layer = layer[layer["slug"] != "domeyko"]
    with pytest.raises(DataValidationError, match="no cubren"):
        territories.validate_territories(layer, commune_geom)
    territories.validate_territories(layer, commune_geom, require_coverage=False)


def test_validation_catches_territory_outside_commune(layer, commune_geom):
    i = layer.index[layer["slug"] == "incahuasi"][0]
    layer.loc[i, "geometry"] = shapely.union(layer.geometry[i], Point(-71.5, -29.2).buffer(0.01))
    with pytest.raises(DataValidationError, match="salen de la comuna.*incahuasi"):
        territories.validate_territories(layer, commune_geom, require_coverage=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.assign(slug=g["slug"].where(g["slug"] != "vista-alegre", "centro")), "repetidos: centro"),
        (lambda g: g.assign(tipo=g["tipo"].replace("localidad rural", "aldea")), "tipo no válido"),
        (lambda g: g.drop(columns="fuente_geometria"), "faltan los campos: fuente_geometria"),
        (lambda g: g.assign(slug=g["slug"].replace("centro", "Centro Histórico")), "no válidos"),
        (lambda g: g.assign(precision_m=g["precision_m"].replace(census.PRECISION_M, 0)), "precision_m"),
        (lambda g: g.assign(fuente=g["fuente"].where(g["slug"] != "domeyko", " ")), "sin nombre o sin fuente: domeyko"),
    ],
)
def test_validation_catches_bad_attributes(layer, commune_geom, change, message):
    with pytest.raises(DataValidationError, match=message):
        territories.validate_territories(change(layer), commune_geom)


def test_validation_catches_invalid_and_empty_geometry(layer, commune_geom):
    i = layer.index[layer["slug"] == "camarones"][0]
    bad = layer.copy()
    bad.loc[i, "geometry"] = Polygon([(-70.66, -28.64), (-70.65, -28.66), (-70.65, -28.64), (-70.66, -28.66)])
    with pytest.raises(DataValidationError, match="no válida.*camarones"):
        territories.validate_territories(bad, commune_geom)
    bad.loc[i, "geometry"] = None
    with pytest.raises(DataValidationError, match="sin geometría: camarones"):
        territories.validate_territories(bad, commune_geom)


# --------------------------------------------------------------------------- inputs and loading


@pytest.fixture()
def source(tmp_path):
    for name in (territories.SEEDS_FILE, territories.URBAN_AREA_FILE):
        shutil.copy(territories.SOURCE_DIR / name, tmp_path / name)
    return tmp_path


def _edit_seeds(source, which, **values):
    path = source / territories.SEEDS_FILE
    seeds = pd.read_csv(path)
    for key, value in values.items():
        seeds.loc[seeds["slug"] == which, key] = value
    seeds.to_csv(path, index=False)


def test_build_rejects_seed_outside_commune(source, commune_geom):
    _edit_seeds(source, "el-donkey", lat=-27.5)
    with pytest.raises(DataValidationError, match="fuera de la comuna: el-donkey"):
        territories.build_territories(source, commune_geom)


def test_build_rejects_rural_seed_in_the_city(source, commune_geom):
    _edit_seeds(source, "perales-viejos", lat=-28.575, lon=-70.755)
    with pytest.raises(DataValidationError, match="perales-viejos"):
        territories.build_territories(source, commune_geom)


def test_build_rejects_urban_seed_outside_the_city(source, commune_geom):
    _edit_seeds(source, "la-turbina", lat=-28.62, lon=-70.70)
    with pytest.raises(DataValidationError, match="la-turbina"):
        territories.build_territories(source, commune_geom)


def test_seeds_need_radius_and_unique_slugs(source):
    _edit_seeds(source, "domeyko", radio_m=np.nan)
    with pytest.raises(DataValidationError, match="radio_m"):
        territories.read_seeds(source / territories.SEEDS_FILE)
    _edit_seeds(source, "domeyko", radio_m=1000, slug="cachiyuyo")
    with pytest.raises(DataValidationError, match="repetidos: cachiyuyo"):
        territories.read_seeds(source / territories.SEEDS_FILE)


def test_urban_area_must_be_a_valid_polygon(tmp_path):
    path = tmp_path / "area.csv"
    path.write_text("# comentario\norden,lon,lat\n1,-70.80,-28.55\n2,-70.72,-28.62\n3,-70.72,-28.55\n4,-70.80,-28.62\n")
    with pytest.raises(DataValidationError, match="no es un polígono válido"):
        territories.read_urban_area(path)


def test_load_reports_missing_file_and_fields(tmp_path, terr):
    with pytest.raises(DataValidationError, match="No se encontró"):
        territories.load_territories(tmp_path / "nada.geojson")
    path = tmp_path / "sin_tipo.geojson"
    terr.drop(columns="tipo").to_file(path, driver="GeoJSON", engine="pyogrio")
    with pytest.raises(DataValidationError, match="faltan los campos: tipo"):
        territories.load_territories(path)


def test_overlap_helper_agrees_with_validation(terr):
    assert partition.overlap_pairs(terr.geometry, min_area_m2=territories.TOLERANCE_M2).empty
