"""The census layers, named places, zone names, old-slug aliases and the census-based territories
(layers/census.py, data/censo/, data/lugares/, data/territorios/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geo import partition
from layers import census, commune, territories
from layers._errors import DataValidationError, UnknownTerritoryError

UTM = "EPSG:32719"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "ine-censo-2017"


@pytest.fixture(scope="module")
def commune_geom():
    return commune.commune_geometry()


@pytest.fixture(scope="module")
def population():
    return census.load_population()


@pytest.fixture(scope="module")
def zones(population):
    return census.load_zones(population=population)


@pytest.fixture(scope="module")
def blocks():
    return census.load_blocks()


@pytest.fixture(scope="module")
def places():
    return census.load_places()


@pytest.fixture(scope="module")
def names(zones, places):
    return census.name_zones(zones, places)


@pytest.fixture(scope="module")
def layer():
    return territories.load_territories(census.CENSUS_TERRITORIES_PATH)


@pytest.fixture(scope="module")
def built(commune_geom):
    return census.build_census_territories(commune_geom)


# --------------------------------------------------------------------------- census data


def test_zones_are_the_13_urban_zones_of_the_census(zones):
    assert len(zones) == 13 and zones["geocodigo"].is_unique
    assert zones["geocodigo"].str.fullmatch(r"03301\d\d1\d{3}").all()
    assert (zones.geom_type == "Polygon").all() and zones.is_valid.all()
    assert zones["area_km2"].sum() == pytest.approx(12.61, abs=0.01)
    assert np.allclose(zones["area_km2"], zones.to_crs(UTM).area / 1e6, atol=1e-4)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared copy of the source is not on this machine")
@pytest.mark.parametrize(("shipped", "source", "key"), [
    (census.ZONES_PATH, "vallenar_zonas_censales.geojson", "geocodigo"),
    (census.BLOCKS_PATH, "vallenar_manzanas.geojson", "manzent"),
])
def test_shipped_census_layers_are_the_source_rounded_to_6_decimals(shipped, source, key):
    ours = gpd.read_file(shipped).set_index(key)
    theirs = gpd.read_file(SHARED / source).set_index(key)
    assert sorted(ours.index) == sorted(theirs.index)
    theirs = theirs.loc[ours.index]
    assert shapely.hausdorff_distance(ours.geometry.array, theirs.geometry.array).max() < 1e-6
    shared_table = pd.read_csv(SHARED / "vallenar_poblacion_zonas.csv", dtype=str)
    assert pd.read_csv(census.POPULATION_PATH, dtype=str).equals(shared_table)


def test_population_totals_and_which_total_is_used(population, zones):
    summary = census.population_summary(population)
    assert summary["total_tabla"] == 48_759
    assert summary["urbana"] == 42_610 == int(zones["poblacion"].sum())
    assert summary["comuna_menos_urbana"] == 48_759 - 42_610
    assert summary["rural"] + summary["sin_asignar"] == summary["comuna_menos_urbana"]
    assert summary["sin_asignar"] == 721
    assert summary["total_ine_publicado"] > summary["total_tabla"]
    ages = zones[list(census.AGE_GROUPS.values())].sum(axis=1)
    assert (ages == zones["poblacion"]).all()
    assert set(population["area"]) == {"urbana", "rural", "sin asignar"}


def test_rural_population_is_the_census_codes_with_people(population):
    rural = census.rural_population(population)
    assert (rural["area"] == "rural").all() and (rural["poblacion"] > 0).all()
    assert rural["poblacion"].sum() == census.population_summary(population)["rural"]
    assert len(rural) == census.population_summary(population)["codigos_rurales_con_poblacion"]
    assert rural["poblacion"].is_monotonic_decreasing


@pytest.mark.parametrize(("row", "message"), [
    ("03301011001,7 a 9,5\n", "grupos de edad"),
    ("03301011001,0 a 5,148\n", "repetidos"),
    ("05101011001,0 a 5,3\n", "no son de la comuna"),
    ("03301099999,0 a 5,-3\n", "entero no negativo"),
])
def test_population_table_errors(tmp_path, row, message):
    path = tmp_path / "p.csv"
    path.write_text(census.POPULATION_PATH.read_text(encoding="utf-8") + row, encoding="utf-8")
    with pytest.raises(DataValidationError, match=message):
        census.load_population(path)


def test_blocks_lie_in_their_zones(blocks, zones):
    assert len(blocks) == 801 and blocks["manzent"].is_unique
    assert blocks.is_valid.all() and (blocks.geom_type == "Polygon").all()
    assert set(blocks["geocodigo"]) == set(zones["geocodigo"])
    own = zones.set_index("geocodigo").geometry.loc[blocks["geocodigo"]].array
    # Every block's representative point lies in its own zone ...
    assert shapely.covers(own, blocks.geometry.representative_point().array).all()
    # ... and what sticks out (simplification of two layers apart) is small.
    bm = blocks.to_crs(UTM).geometry.array
    zm = gpd.GeoSeries(own, crs="EPSG:4326").to_crs(UTM).array
    outside = shapely.area(shapely.difference(bm, zm))
    assert outside.sum() < 0.005 * shapely.area(bm).sum()
    depth = np.array([shapely.distance(shapely.points(shapely.get_coordinates(b)), z).max() for b, z in zip(bm, zm)])
    assert np.percentile(depth, 95) < census.PRECISION_M
    assert depth.max() < 100.0


# --------------------------------------------------------------------------- named places and names


def test_places_have_source_and_accuracy_and_unplaced_ones_no_point(places):
    assert places["slug"].is_unique and set(places["tipo"]) <= set(census.PLACE_TYPES)
    assert places["fuente"].str.strip().str.len().gt(0).all()
    placed = places.geometry.notna()
    assert (places.loc[placed, "precision_m"] > 0).all()
    assert places.loc[~placed, "precision_m"].isna().all()
    assert "plaza-pablo-neruda" in set(places.loc[~placed, "slug"])
    assert set(census.OLD_URBAN_SLUGS) <= set(places.loc[placed, "slug"])


def test_places_file_errors(tmp_path):
    path = tmp_path / "l.csv"
    text = census.PLACES_PATH.read_text(encoding="utf-8")
    path.write_text(text + 'x,X,mercado,-28.57,-70.75,100,"prensa"\n', encoding="utf-8")
    with pytest.raises(DataValidationError, match="tipos desconocidos"):
        census.load_places(path)
    path.write_text(text + 'x,X,hito,-28.57,,100,"prensa"\n', encoding="utf-8")
    with pytest.raises(DataValidationError, match="lat y lon"):
        census.load_places(path)


def test_every_zone_has_a_name_people_can_read(names, zones):
    assert names["geocodigo"].tolist() == zones["geocodigo"].tolist()
    assert names["slug"].is_unique and names["nombre"].is_unique
    assert names["slug"].str.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*").all()
    # Never a bare code: every name has words.
    assert names["nombre"].str.contains(r"[A-Za-zÁÉÍÓÚáéíóú]{4}").all()
    assert not names["nombre"].str.fullmatch(r"[\d\s-]+").any()
    described = names["regla"] == "descripcion"
    assert names.loc[described, "nombre"].str.contains(" del centro · zona censal ").all()
    assert (names.loc[~described, "lugares"] != "").all()


def test_zones_are_named_by_the_places_that_lie_in_them(names, zones, places):
    by_code = names.set_index("geocodigo")
    for slug in ("centro", "quinta-valle", "barrio-estacion", "villa-el-eden", "vista-alegre"):
        point = places.loc[places["slug"] == slug].geometry.iloc[0]
        code = zones.loc[zones.covers(point), "geocodigo"].item()
        assert by_code.loc[code, "slug"] == slug
        assert places.loc[places["slug"] == slug, "nombre"].item() in by_code.loc[code, "nombre"]


def test_naming_prefers_neighbourhoods_and_joins_them(zones, places):
    centre = places.loc[places["slug"] == "centro"].geometry.iloc[0]
    extra = gpd.GeoDataFrame(
        {"slug": ["barrio-nuevo"], "nombre": ["Barrio Nuevo"], "tipo": ["barrio"], "precision_m": [50], "fuente": ["prueba"]},
        geometry=[shapely.Point(centre.x + 0.0005, centre.y - 0.0005)], crs="EPSG:4326",
    )
    more = pd.concat([places, extra], ignore_index=True)
    named = census.name_zones(zones, more).set_index("slug")
    assert named.loc["barrio-nuevo", "nombre"] == "Barrio Nuevo · Centro"  # most precise first
    without_centre = places[places["slug"] != census.CENTRE_PLACE]
    with pytest.raises(DataValidationError, match="plaza-de-armas"):
        census.name_zones(zones, without_centre)


# --------------------------------------------------------------------------- aliases of the old slugs


def test_every_old_urban_slug_resolves_to_the_zone_that_holds_or_is_nearest_its_place(zones, places, layer):
    aliases = census.load_aliases()
    zm = zones.to_crs(UTM).set_index("geocodigo").geometry
    for old in census.OLD_URBAN_SLUGS:
        target = census.resolve_slug(old, layer["slug"], aliases)
        row = layer.loc[layer["slug"] == target].iloc[0]
        assert row["tipo"] == "sector urbano"
        point = places.loc[places["slug"] == old].to_crs(UTM).geometry.iloc[0]
        distances = shapely.distance(zm.array, point)
        assert zm.index[distances.argmin()] == row["geocodigo"], old
        alias = aliases.loc[aliases["alias"] == old].iloc[0]
        assert alias["distancia_m"] == pytest.approx(distances.min(), abs=1)
        assert (alias["relacion"] == "dentro") == (distances.min() == 0)


def test_shipped_alias_table_follows_the_rule(zones, places, names):
    assert census.load_aliases().equals(census.alias_table(places, zones, names))


def test_resolve_slug_keeps_known_slugs_and_refuses_unknown(layer):
    assert census.resolve_slug("domeyko", layer["slug"]) == "domeyko"
    assert census.resolve_slug("hermanos-carrera", layer["slug"]) == "norte-4-2"
    with pytest.raises(UnknownTerritoryError) as info:
        census.resolve_slug("atlantida", layer["slug"])
    assert info.value.code == "unknown_territory" and info.value.data == {"slug": "atlantida"}


# --------------------------------------------------------------------------- the census-based territory layer


def test_urban_territories_are_the_census_zones(layer, zones):
    urban = layer[layer["tipo"] == "sector urbano"].set_index("geocodigo").loc[zones["geocodigo"]]
    assert len(urban) == 13
    same = shapely.equals_exact(
        shapely.normalize(urban.geometry.array), shapely.normalize(zones.geometry.array), tolerance=1e-6
    )
    assert same.all()
    for field in census.POPULATION_FIELDS:
        assert urban[field].tolist() == zones[field].tolist()
    assert int(urban["poblacion"].sum()) == 42_610
    assert np.allclose(urban["area_km2"], zones["area_km2"], atol=1e-3)
    assert (urban["precision_m"] == census.PRECISION_M).all()
    assert urban["fuente"].str.contains("INE").all() and urban["fuente"].str.contains("referencial").all()


def test_rural_territories_carry_no_invented_population(layer):
    rural = layer[layer["tipo"] != "sector urbano"]
    assert rural["geocodigo"].isna().all()
    for field in census.POPULATION_FIELDS:
        assert rural[field].isna().all()


def test_census_layer_passes_the_geometry_rules(layer, commune_geom):
    assert list(layer.columns) == [*territories.FIELDS, *territories.EXTRA_FIELDS, "geometry"]
    territories.validate_territories(layer, commune_geom)
    assert (layer.loc[layer["tipo"] != "resto rural"].geom_type == "Polygon").all()
    assert layer["slug"].is_unique
    assert partition.overlap_pairs(layer.geometry, min_area_m2=territories.TOLERANCE_M2).empty
    metric = layer.to_crs(UTM).geometry
    commune_m = gpd.GeoSeries([commune_geom], crs="EPSG:4326").to_crs(UTM).iloc[0]
    assert metric.area.sum() == pytest.approx(commune_m.area, rel=1e-4)
    assert shapely.area(shapely.difference(commune_m.buffer(-1.0), shapely.union_all(metric.array))) < 100.0
    assert np.allclose(layer["area_km2"], metric.area / 1e6, atol=1e-3)


def test_rural_localities_keep_their_shapes_outside_the_census_city(layer, zones):
    city = shapely.union_all(zones.to_crs(UTM).geometry.array)
    reference = territories.build_territories()
    ref = reference[reference["tipo"] == "localidad rural"].set_index("slug").to_crs(UTM).geometry
    ours = layer[layer["tipo"] == "localidad rural"].set_index("slug").to_crs(UTM).geometry
    assert ours.index.tolist() == ref.index.tolist()
    assert shapely.area(shapely.intersection(ours.array, city)).max() < 1.0
    expected = shapely.difference(ref.array, city)
    assert (shapely.area(shapely.symmetric_difference(ours.array, expected)) < 1.0).all()


def test_shipped_census_layer_is_what_the_builder_makes(layer, built):
    assert built["slug"].tolist() == layer["slug"].tolist()
    for col in ("nombre", "tipo", "fuente", "fuente_geometria", "precision_m", "geocodigo"):
        assert built[col].astype(object).where(built[col].notna(), None).tolist() == \
            layer[col].astype(object).where(layer[col].notna(), None).tolist(), col
    same = shapely.equals_exact(shapely.normalize(built.geometry.array), shapely.normalize(layer.geometry.array), 1e-6)
    assert same.all(), built.loc[~same, "slug"].tolist()
    text = census.CENSUS_TERRITORIES_PATH.read_text(encoding="utf-8")
    assert '"crs"' not in text and census.CENSUS_TERRITORIES_PATH.stat().st_size < 1_000_000


def test_builder_refuses_a_zone_outside_the_commune(zones, commune_geom):
    moved = zones.copy()
    moved.loc[0, "geometry"] = shapely.affinity.translate(moved.geometry[0], xoff=-2.0)
    with pytest.raises(DataValidationError, match="fuera de la comuna: 03301011001"):
        census.build_census_territories(commune_geom, zones=moved)


def test_build_script_checks_the_census_layer(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "t.geojson"
    shutil.copy(census.CENSUS_TERRITORIES_PATH, out)
    run = subprocess.run(
        [sys.executable, "scripts/build_territories.py", "--comprobar", "--salida", str(out)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "coincide" in run.stdout


def test_build_script_draws_the_former_referential_layer_only_on_request(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "scripts/build_territories.py", "--referencial"], cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2 and "--salida" in run.stderr
    out = tmp_path / "referencial.geojson"
    run = subprocess.run(
        [sys.executable, "scripts/build_territories.py", "--referencial", "--salida", str(out)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    old = territories.load_territories(out)
    assert set(census.OLD_URBAN_SLUGS) <= set(old["slug"]) and "geocodigo" not in old.columns


# --------------------------------------------------------------------------- population-based measures


def test_zone_equity_counts_specific_initiatives_per_thousand(layer):
    from layers import initiatives, links

    inits = initiatives.load_shipped(layer, commune.commune_geometry())
    rel = links.relate(inits, layer)
    equity = census.zone_equity(layer, rel)
    assert len(equity) == 13 and int(equity["poblacion"].sum()) == 42_610
    pairs = rel.pairs()
    specific = pairs[pairs["relacion"].isin(links.SPECIFIC_RELATIONS)].groupby("slug").size()
    assert (equity["especificas"].to_numpy() == specific.reindex(equity["slug"]).fillna(0).to_numpy()).all()
    assert np.allclose(equity["por_mil"], 1000 * equity["especificas"] / equity["poblacion"], atol=1e-3)
    assert equity["inversion_ubicada_clp"].isna().all()
    amounts = pd.Series({"E1-P1-03": 1_000_000, "E6-P1-06": 2_500_000})
    invested = census.zone_equity(layer, rel, amounts=amounts).set_index("slug")["inversion_ubicada_clp"]
    assert invested["centro"] == 3_500_000 and pd.isna(invested["vista-alegre"])
    imported = layer.drop(columns=list(census.POPULATION_FIELDS))
    assert census.zone_equity(imported, rel).empty


def test_per_thousand_leaves_territories_without_population_empty():
    rate = census.per_thousand([2, 3, 0], pd.array([4000, pd.NA, 0], dtype="Int64"))
    assert rate[0] == pytest.approx(0.5) and np.isnan(rate[1]) and np.isnan(rate[2])


def test_alias_note_says_where_the_place_lies(layer):
    entry = census.alias_entry("hermanos-carrera", layer["slug"])
    note = census.alias_note(entry)
    assert "Población Hermanos Carrera" in note and "1.765 m" in note and "hermanos-carrera" in note
    assert census.alias_entry("centro", layer["slug"]) is None  # a territory itself
    assert census.alias_entry("hermanos-carrera", ["uv-1"]) is None  # another layer


def test_exports_carry_population_as_integers(layer, tmp_path):
    from layers.exchange import export

    for fmt, ext in (("geojson", "geojson"), ("gpkg", "gpkg")):
        path = export.export_layer(layer.assign(poblacion=layer["poblacion"].astype(float)), tmp_path / f"t.{ext}", fmt, "territorios")
        back = gpd.read_file(path)
        assert int(back["poblacion"].sum()) == 42_610
        info = pyogrio.read_info(path)
        assert str(info["dtypes"][list(info["fields"]).index("poblacion")]).startswith("int")
