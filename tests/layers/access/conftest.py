"""Access tests that write editable tables run on both store backends (GeoPackage and a throw-away PostGIS)."""

from tests.pg import backend, fresh_store, pg_server, pg_template  # noqa: F401
from tests.pg import parametrize_backends as pytest_generate_tests  # noqa: F401
