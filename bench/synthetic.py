"""A synthetic municipality 100 times the shipped data, to import with ``cli.py import``.

Two GeoPackages, deterministic for a seed:

- **territories** (``--as territorios``): about 10,000 polygons the size of city lots and
  small blocks, made by cutting every census block of the shipped store (``manzanas``,
  INE Censo 2017) into Voronoi cells of seeds drawn inside it, as many per block as its
  share of the blocks' area asks for. The layer therefore covers exactly the census
  city, like an imported cadastre or a layer of neighbourhood units would. Boundaries
  are densified to one vertex every :data:`DENSIFY_M` metres, as digitised layers are.
  Fields ``codigo`` (unique id, gives the slug) and ``nombre``.
- **sites** (``--as iniciativas``): about 20,000 initiative sites whose ``id`` is an
  initiative of the shipped catalogue, so the scopes stay the plan's (most initiatives
  commune-wide). Each sited initiative has one geometry family (points for most of
  them, lines for some, small areas for a few, as the shipped sites); the number of
  sites per initiative follows a long tail (a few programmes have thousands of sites,
  e.g. lighting or paving points). 90 % of the sites fall inside the census city, the
  rest anywhere in the commune.

All geometry is computed in WGS 84 / UTM 19S (EPSG:32719) and written in WGS 84
(EPSG:4326). Run ``python bench/synthetic.py OUT_DIR`` (``SIT_DATA_DIR`` names the
store whose blocks and catalogue are used).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from geo.crs import UTM19S, WGS84  # noqa: E402

SEED = 20261130
N_TERRITORIES = 10_000
N_SITES = 20_000
#: Vertex spacing of the territory boundaries, metres.
DENSIFY_M = 8.0
#: Share of sites inside the census city (the rest anywhere in the commune).
URBAN_SHARE = 0.9
#: Share of the catalogue's initiatives that get sites, and the families of those.
SITED_SHARE = 0.6
FAMILY_SHARES = {"point": 0.75, "line": 0.15, "polygon": 0.10}
TERRITORY_FILE = "territorios_100x.gpkg"
SITES_FILE = "ubicaciones_100x.gpkg"
TERRITORY_LAYER = "bench_territorios"
SITES_LAYER = "bench_ubicaciones"


@dataclass(frozen=True)
class Synthetic:
    """Paths of the written files and what they hold."""

    territories: Path
    sites: Path
    n_territories: int
    n_sites: int


def _points_in(polygons: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """``counts[i]`` random points inside ``polygons[i]`` (rejection sampling in the bounds).

    Parameters
    ----------
    polygons : numpy.ndarray of shapely.Polygon
        Metric CRS (EPSG:32719).
    counts : numpy.ndarray of int
    rng : numpy.random.Generator

    Returns
    -------
    list of numpy.ndarray
        One ``(counts[i], 2)`` array of x, y (metres) per polygon.
    """
    out = []
    for poly, n in zip(polygons, counts):
        xmin, ymin, xmax, ymax = poly.bounds
        got = np.empty((0, 2))
        shapely.prepare(poly)
        while len(got) < n:
            xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(max(8, 3 * (n - len(got))), 2))
            inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
            got = np.vstack([got, xy[inside]])
        out.append(got[:n])
    return out


def subdivide_blocks(blocks: gpd.GeoSeries, n_target: int, rng: np.random.Generator) -> gpd.GeoSeries:
    """Cut polygons into about ``n_target`` Voronoi cells, each block by its share of the area.

    Parameters
    ----------
    blocks : geopandas.GeoSeries
        Census blocks, EPSG:32719.
    n_target : int
        Cells wanted in total (the result is within a few percent).
    rng : numpy.random.Generator

    Returns
    -------
    geopandas.GeoSeries
        Polygons, EPSG:32719, densified to :data:`DENSIFY_M`.
    """
    geoms = shapely.make_valid(blocks.to_numpy())
    areas = shapely.area(geoms)
    counts = np.maximum(1, np.round(n_target * areas / areas.sum())).astype(int)
    seeds = _points_in(geoms, counts, rng)
    cells = []
    for block, xy in zip(geoms, seeds):
        if len(xy) == 1:
            cells.append(block)
            continue
        voronoi = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=block)
        parts = shapely.intersection(shapely.get_parts(voronoi), block)
        cells.extend(p for p in parts if shapely.area(p) > 1.0)
    polys = np.array([_largest_polygon(c) for c in cells], dtype=object)
    polys = shapely.segmentize(polys, DENSIFY_M)
    return gpd.GeoSeries(polys, crs=blocks.crs)


def _largest_polygon(geom):
    """The largest polygon of a (multi)polygon or collection (clipping may leave slivers)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area)


def _line_at(xy: np.ndarray, rng: np.random.Generator) -> shapely.LineString:
    """A street-like polyline of 3-6 vertices and 100-400 m from ``xy`` (metres)."""
    n = int(rng.integers(3, 7))
    heading = rng.uniform(0, 2 * np.pi)
    steps = rng.uniform(100, 400) / (n - 1)
    angles = heading + np.cumsum(rng.normal(0, 0.3, n - 1))
    pts = np.vstack([xy, xy + np.cumsum(np.c_[np.cos(angles), np.sin(angles)] * steps, axis=0)])
    return shapely.LineString(pts)


def _area_at(xy: np.ndarray, rng: np.random.Generator) -> shapely.Polygon:
    """A rotated rectangle of 20-60 m a side centred on ``xy`` (metres): a plaza, a court."""
    w, h = rng.uniform(20, 60, 2)
    box = shapely.box(-w / 2, -h / 2, w / 2, h / 2)
    angle = rng.uniform(0, np.pi)
    c, s = np.cos(angle), np.sin(angle)
    return shapely.affinity.affine_transform(box, [c, -s, s, c, xy[0], xy[1]])


def make_sites(
    ids: list[str], city: shapely.Geometry, commune: shapely.Geometry, n_sites: int, rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Initiative sites with catalogue ids, one geometry family per initiative.

    Parameters
    ----------
    ids : list of str
        Catalogue initiative ids (``E1-P1-08``).
    city, commune : shapely geometry
        Census city (union of blocks) and commune, EPSG:32719.
    n_sites : int
    rng : numpy.random.Generator

    Returns
    -------
    geopandas.GeoDataFrame
        ``id``, ``tipo_sitio`` and geometry, EPSG:4326.
    """
    sited = list(rng.choice(ids, size=max(1, round(SITED_SHARE * len(ids))), replace=False))
    families = rng.choice(list(FAMILY_SHARES), size=len(sited), p=list(FAMILY_SHARES.values()))
    weights = 1.0 / np.arange(1, len(sited) + 1) ** 0.9  # long tail: a few programmes, many sites
    weights[families != "point"] *= 0.15  # lines and areas are fewer, as in the shipped data
    owner = rng.choice(len(sited), size=n_sites, p=weights / weights.sum())
    n_urban = int(round(URBAN_SHARE * n_sites))
    xy = np.vstack([
        _points_in(np.array([city]), np.array([n_urban]), rng)[0],
        _points_in(np.array([commune]), np.array([n_sites - n_urban]), rng)[0],
    ])
    xy = xy[rng.permutation(n_sites)]
    geoms = []
    for site_xy, k in zip(xy, owner):
        family = families[k]
        if family == "point":
            geoms.append(shapely.Point(site_xy))
        elif family == "line":
            geoms.append(_line_at(site_xy, rng))
        else:
            geoms.append(_area_at(site_xy, rng))
    frame = gpd.GeoDataFrame(
        {"id": [sited[k] for k in owner], "tipo_sitio": [families[k] for k in owner]},
        geometry=geoms, crs=UTM19S,
    )
    return frame.to_crs(WGS84)


def generate(out_dir: Path, seed: int = SEED, n_territories: int = N_TERRITORIES,
             n_sites: int = N_SITES) -> Synthetic:
    """Write the synthetic territories and sites GeoPackages into ``out_dir``.

    Reads the census blocks, the commune and the initiatives' ids from the store of
    ``SIT_DATA_DIR`` (built from ``data/`` when missing).

    Parameters
    ----------
    out_dir : pathlib.Path
    seed : int
        Same seed, same files.
    n_territories, n_sites : int
        Targets (territories come within a few percent).

    Returns
    -------
    Synthetic
    """
    from layers import store

    store.ensure_store()
    rng = np.random.default_rng(seed)
    blocks = store.read_layer("manzanas").to_crs(UTM19S).sort_values("manzent").geometry
    commune = store.read_layer("comuna").to_crs(UTM19S).geometry.union_all()
    ids = list(store.read_layer("iniciativas")["id"])
    cells = subdivide_blocks(blocks.reset_index(drop=True), n_territories, rng)
    codes = [f"bt{i:05d}" for i in range(1, len(cells) + 1)]
    territories = gpd.GeoDataFrame(
        {"codigo": codes, "nombre": [f"Lote sintético {i:05d}" for i in range(1, len(cells) + 1)]},
        geometry=cells, crs=UTM19S,
    ).to_crs(WGS84)
    city = shapely.union_all(shapely.make_valid(blocks.to_numpy()))
    sites = make_sites(ids, city, commune, n_sites, rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    tpath, spath = out_dir / TERRITORY_FILE, out_dir / SITES_FILE
    for path in (tpath, spath):
        path.unlink(missing_ok=True)
    territories.to_file(tpath, layer="territorios", driver="GPKG", engine="pyogrio")
    sites.to_file(spath, layer="ubicaciones", driver="GPKG", engine="pyogrio")
    return Synthetic(tpath, spath, len(territories), len(sites))


def import_commands(python: str, synthetic: Synthetic) -> list[list[str]]:
    """The ``cli.py import`` command lines that load the synthetic layers into a store."""
    cli = str(PROJECT_DIR / "cli.py")
    return [
        [python, cli, "import", str(synthetic.territories), "--as", "territorios", "--layer", TERRITORY_LAYER,
         "--name-field", "nombre", "--id-field", "codigo", "--precision", "5"],
        [python, cli, "import", str(synthetic.sites), "--as", "iniciativas", "--layer", SITES_LAYER,
         "--id-field", "id", "--precision", "10"],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    result = generate(args.out_dir, seed=args.seed)
    print(f"{result.n_territories} territories -> {result.territories}")
    print(f"{result.n_sites} sites -> {result.sites}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
