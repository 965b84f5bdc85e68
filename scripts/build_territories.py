"""Regenerate the shipped territory layer ``data/territorios/territorios.geojson``.

The layer's urban territories are the 2017 census zones (:func:`layers.census.build_census_territories`):
it reads ``data/censo/``, ``data/lugares/lugares.csv`` and, for the rural localities,
``data/territorios/semillas.csv`` and ``area_urbana_referencial.csv``; beside it, it writes
the alias table of the old urban sector slugs (``alias_sectores.csv``). With
``--referencial`` it draws instead the former referential layer (urban sectors as
Voronoi cells of the seeds, :func:`layers.territories.build_territories`) to the file
``--salida`` names. Both are validated against the official commune boundary and
written as RFC 7946 GeoJSON (6 decimals).

Usage (from the repository root)::

    .venv/bin/python scripts/build_territories.py [--comprobar]
    .venv/bin/python scripts/build_territories.py --referencial --salida RUTA
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers import census, territories  # noqa: E402  (after the path set-up above)
from layers._errors import SitError  # noqa: E402
from layers.commune import commune_geometry  # noqa: E402


def _same(path: Path, built) -> bool:
    """Whether the layer at ``path`` has the slugs, names and geometries (1e-6 degree) of ``built``."""
    shipped = territories.load_territories(path)
    return (
        list(shipped["slug"]) == list(built["slug"])
        and list(shipped["nombre"]) == list(built["nombre"])
        and all(a.normalize().equals_exact(b.normalize(), 1e-6) for a, b in zip(shipped.geometry, built.geometry))
    )


def _aliases():
    zones, places = census.load_zones(), census.load_places()
    return census.alias_table(places, zones, census.name_zones(zones, places))


def main(argv: list[str] | None = None) -> int:
    """Build, validate and write the layer; return the exit status."""
    parser = argparse.ArgumentParser(description="Regenera la capa de territorios (zonas censales urbanas del INE 2017).")
    parser.add_argument(
        "--referencial", action="store_true",
        help="dibuja la capa referencial anterior (sectores urbanos de Voronoi); exige --salida",
    )
    parser.add_argument("--salida", type=Path, default=None, help="archivo GeoJSON de salida")
    parser.add_argument(
        "--comprobar", action="store_true",
        help="no escribe: sólo compara lo generado con el archivo existente",
    )
    args = parser.parse_args(argv)
    if args.referencial and args.salida is None:
        parser.error("--referencial necesita --salida: la capa publicada es la de las zonas censales")
    args.censo = not args.referencial
    out_path = args.salida or territories.TERRITORIES_PATH
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        commune = commune_geometry()
        if args.censo:
            built = census.build_census_territories(commune_geom=commune)
        else:
            built = territories.build_territories(commune_geom=commune)
        territories.validate_territories(built, commune)
        if args.comprobar:
            same = _same(out_path, built)
            if args.censo:
                same = same and census.load_aliases().equals(_aliases())
            print("La capa publicada coincide con la regenerada." if same else "La capa publicada NO coincide.")
            return 0 if same else 1
        path = territories.write_territories(built, out_path)
        if args.censo:
            _aliases().to_csv(census.ALIASES_PATH, index=False, lineterminator="\n")
    except SitError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    for row in built.itertuples(index=False):
        print(f"{row.slug:24s} {row.tipo:16s} {row.area_km2:12.4f} km²  ±{row.precision_m} m")
    print(f"{len(built)} territorios, {built['area_km2'].sum():.2f} km², escritos en {path}")
    if args.censo:
        print(f"Alias de los sectores urbanos anteriores en {census.ALIASES_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
