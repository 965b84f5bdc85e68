"""Regenerate the referential territory layer ``data/territorios/territorios.geojson``.

Reads ``data/territorios/semillas.csv`` and ``data/territorios/area_urbana_referencial.csv``,
draws the territories with :func:`layers.territories.build_territories` against the
official commune boundary, validates them and writes RFC 7946 GeoJSON (6 decimals).

Usage (from the repository root)::

    .venv/bin/python scripts/build_territories.py [--salida RUTA] [--comprobar]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers import territories  # noqa: E402  (after the path set-up above)
from layers._errors import SitError  # noqa: E402
from layers.commune import commune_geometry  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Build, validate and write the layer; return the exit status."""
    parser = argparse.ArgumentParser(description="Regenera la capa referencial de territorios.")
    parser.add_argument("--salida", type=Path, default=territories.TERRITORIES_PATH, help="archivo GeoJSON de salida")
    parser.add_argument(
        "--comprobar", action="store_true",
        help="no escribe: sólo compara lo generado con el archivo existente",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        commune = commune_geometry()
        built = territories.build_territories(commune_geom=commune)
        territories.validate_territories(built, commune)
        if args.comprobar:
            shipped = territories.load_territories(args.salida)
            same = list(shipped["slug"]) == list(built["slug"]) and all(
                a.normalize().equals_exact(b.normalize(), 1e-6)
                for a, b in zip(shipped.geometry, built.geometry)
            )
            print("La capa publicada coincide con la regenerada." if same else "La capa publicada NO coincide.")
            return 0 if same else 1
        path = territories.write_territories(built, args.salida)
    except SitError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    for row in built.itertuples(index=False):
        print(f"{row.slug:24s} {row.tipo:16s} {row.area_km2:12.4f} km²  ±{row.precision_m} m")
    print(f"{len(built)} territorios, {built['area_km2'].sum():.2f} km², escritos en {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
