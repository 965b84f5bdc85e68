"""Run the store's tests on both backends: the GeoPackage and a throw-away PostGIS server (tests/pg.py)."""

from __future__ import annotations

import pytest

from tests.pg import backend, fresh_store, parametrize_backends, pg_server, pg_template

__all__ = ["backend", "fresh_store", "pg_server", "pg_template"]

#: Tests about the GeoPackage file itself (SQLite damage, GDAL on the file, its R-tree): one backend.
GPKG_ONLY = (
    "test_damaged_store_is_detected_with_its_code", "test_empty_file_is_damaged",
    "test_repair_rebuilds_and_reports_every_layer", "test_repair_recovers_all_that_the_damage_spared",
    "test_repair_of_a_sound_store_keeps_everything", "test_store_stays_a_valid_geopackage_after_row_level_writes",
    "test_gdal_reads_editable_table",
    "test_copy_to_postgis_and_back_keeps_layers_tables_and_history",  # copies a GeoPackage to PostGIS itself
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc, gpkg_only=GPKG_ONLY)
