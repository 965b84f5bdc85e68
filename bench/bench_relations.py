"""Benchmark of the relation rule: before (one row per scope-wide pair) and after (a rule), side by side.

Synthetic municipality 100 times the shipped one, built here from the shipped data:

- territories: block-sized squares (about 10,000) tiling the urban area of the shipped
  data (the union of its ``sector urbano`` census zones), clipped to it, plus the rest
  of the commune as one ``resto rural`` territory; an imported layer, so the plan's
  named links are translated through the shipped territories;
- initiatives: the 194 of the catalogue (the real mix of scopes: 148 commune-wide, 23
  urban, 12 rural) and 20,000 sited ones, points inside the commune (80 % in the urban
  area, where plans put most works).

``antes`` is :func:`layers.links.relate` as it was before issue 15, read from git
(commit ``BEFORE``); ``después`` is today's. Steps: ``relacionar`` relates every
initiative to every territory (what the first visit after an import waits for), then
the questions pages ask of it: ``conteo`` (initiatives per territory for the choropleth,
all selected), ``filtro`` (initiatives of one territory), ``sector`` (relations of one
territory for the sector page). Each is the median of ``RUNS`` runs; the answers of both
are compared. Memory: rows (and MB) each keeps. Last, the sector page's map of a block and
of the rural remainder (thousands of sites) built and rendered to HTML with
``views/sectorview.py`` before (git, one folium marker and tooltip per point) and after.

Run with ``python bench/bench_relations.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from geo.crs import UTM19S, WGS84  # noqa: E402
from layers import links  # noqa: E402

#: Commit whose ``layers/links.py`` materialised scope-wide relations (the "before").
BEFORE = "6909af1"
N_BLOCKS = 10_000
N_SITES = 20_000
URBAN_SHARE = 0.8
RUNS = 5
SEED = 15


def old_links() -> types.ModuleType:
    """``layers/links.py`` at :data:`BEFORE`, loaded as a module from git."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:layers/links.py"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("links_before")
    exec(compile(source, f"{BEFORE}:layers/links.py", "exec"), module.__dict__)  # our own file, from our history
    return module


def blocks(city_utm: shapely.Geometry, commune_utm: shapely.Geometry, n: int) -> gpd.GeoDataFrame:
    """About ``n`` squares tiling ``city_utm`` (EPSG:32719) clipped to it, and the rest of the commune."""
    side = float(np.sqrt(city_utm.area / n))
    x0, y0, x1, y1 = city_utm.bounds
    xs, ys = np.meshgrid(np.arange(x0, x1, side), np.arange(y0, y1, side))
    cells = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + side, ys.ravel() + side)
    tree = shapely.STRtree(cells)
    hit = tree.query(city_utm, predicate="intersects")
    cells = shapely.intersection(cells[hit], city_utm)
    cells = cells[~shapely.is_empty(cells) & (shapely.area(cells) > 1.0)]
    rest = shapely.difference(commune_utm, city_utm)
    slugs = [f"manzana-{k:05d}" for k in range(len(cells))] + ["resto"]
    tipos = ["sector urbano"] * len(cells) + ["resto rural"]
    layer = gpd.GeoDataFrame({"slug": slugs, "nombre": slugs, "tipo": tipos}, geometry=[*cells, rest], crs=UTM19S)
    return layer.to_crs(WGS84)


def points_in(area: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random points inside ``area`` (rejection sampling, vectorised)."""
    shapely.prepare(area)
    x0, y0, x1, y1 = area.bounds
    out: list[np.ndarray] = []
    while sum(len(o) for o in out) < n:
        pts = shapely.points(rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n))
        out.append(pts[shapely.contains(area, pts)])
    return np.concatenate(out)[:n]


def synthetic(shipped_inits: gpd.GeoDataFrame, territories: gpd.GeoDataFrame, commune: gpd.GeoDataFrame) -> dict:
    """The 100× municipality (see the module docstring)."""
    rng = np.random.default_rng(SEED)
    urban = territories[territories["tipo"] == "sector urbano"].to_crs(UTM19S)
    city = shapely.union_all(urban.geometry.array)
    com = commune.to_crs(UTM19S).geometry.iloc[0]
    layer = blocks(city, com, N_BLOCKS)
    n_city = int(N_SITES * URBAN_SHARE)
    pts = np.concatenate([points_in(city, n_city, rng), points_in(com, N_SITES - n_city, rng)])
    # Catalogue fields (name, strategy, plan, type) of initiatives drawn at random, as sited works.
    sites = shipped_inits.iloc[rng.integers(0, len(shipped_inits), N_SITES)].reset_index(drop=True)
    sites = sites.assign(id=[f"S-{k:05d}" for k in range(N_SITES)], alcance="territorial", territorios="")
    sites = sites.set_geometry(gpd.GeoSeries(pts, crs=UTM19S).to_crs(WGS84).array)
    inits = pd.concat([shipped_inits, sites], ignore_index=True)
    return {"initiatives": gpd.GeoDataFrame(inits, geometry=shipped_inits.geometry.name, crs=WGS84), "territories": layer}


def grouped_sites(inits: gpd.GeoDataFrame, catalogue: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The catalogue with the synthetic points laid over it as one multipoint per initiative.

    As an imported site layer arrives (:func:`layers.initiatives.with_sites`): sites carry
    catalogue ids, so most sited initiatives keep their commune-wide scope, and a
    programme's sites are one multipoint. Points go to 60 % of the catalogue, with a long
    tail (a few initiatives hold thousands).
    """
    rng = np.random.default_rng(SEED)
    sites = inits[inits["id"].str.startswith("S-")]
    chosen = catalogue["id"].to_numpy()[rng.permutation(len(catalogue))[: int(0.6 * len(catalogue))]]
    weights = 1.0 / np.arange(1, len(chosen) + 1)
    owner = rng.choice(chosen, size=len(sites), p=weights / weights.sum())
    merged = gpd.GeoSeries(sites.geometry.array, crs=WGS84).groupby(owner).agg(lambda g: shapely.MultiPoint(list(g)))
    out = catalogue.copy()
    hit = out["id"].isin(merged.index)
    out.loc[hit, out.geometry.name] = merged.reindex(out.loc[hit, "id"]).to_numpy()
    return out


def median_time(fn, runs: int = RUNS) -> tuple[object, float]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def main() -> None:
    from layers import store

    store.ensure_store()
    before = old_links()
    data = synthetic(store.read_layer("iniciativas"), store.read_layer("territorios"), store.read_layer("comuna"))
    inits, layer, reference = data["initiatives"], data["territories"], store.read_layer("territorios")
    ids = inits["id"]
    slug = str(layer["slug"].iloc[len(layer) // 2])
    print(f"Municipio sintético: {len(layer):,} territorios (manzanas de "
          f"{np.sqrt(layer.to_crs(UTM19S).area.iloc[:-1].median()):.0f} m de lado), {len(inits):,} iniciativas "
          f"({int(inits.geometry.notna().sum()):,} con lugar; "
          f"{int((inits['alcance'] == 'comunal').sum())} comunales)", flush=True)

    old, t_old = median_time(lambda: before.relate(inits, layer, reference=reference), runs=2)
    new, t_new = median_time(lambda: links.relate(inits, layer, reference=reference), runs=RUNS)
    rows = [("relacionar (primera visita tras importar)", t_old, t_new)]
    grouped = grouped_sites(inits, store.read_layer("iniciativas"))
    g_old, t1 = median_time(lambda: before.relate(grouped, layer, reference=reference), runs=1)
    g_new, t2 = median_time(lambda: links.relate(grouped, layer, reference=reference), runs=RUNS)
    rows.append(("relacionar, sitios como multipuntos", t1, t2))
    same_grouped = g_new.pairs().equals(g_old.reset_index(drop=True))

    def old_counts():
        return old[old["id"].isin(set(ids))].groupby(["slug", "relacion"]).size().unstack(fill_value=0).reindex(
            index=layer["slug"], columns=list(links.RELACIONES), fill_value=0)

    c_old, t1 = median_time(old_counts)
    c_new, t2 = median_time(lambda: new.counts(ids, layer["slug"]))
    rows.append(("conteo por territorio (coropleta)", t1, t2))
    f_old, t1 = median_time(lambda: set(old.loc[old["slug"] == slug, "id"]))
    f_new, t2 = median_time(lambda: set(new.ids_concerning([slug])))
    rows.append(("filtro por un territorio", t1, t2))
    s_old, t1 = median_time(lambda: old.loc[old["slug"] == slug, ["id", "relacion"]].reset_index(drop=True))
    s_new, t2 = median_time(lambda: new.of_territory(slug))
    rows.append(("relaciones de un sector", t1, t2))

    same = (
        same_grouped
        and (c_old.astype("int64").to_numpy() == c_new.to_numpy()).all()
        and f_old == f_new
        and s_old.sort_values("id").to_numpy().tolist() == s_new.sort_values("id").to_numpy().tolist()
    )
    print(f"\n{'paso':<44} {'antes s':>9} {'después s':>10} {'razón':>8}")
    for name, a, b in rows:
        print(f"{name:<44} {a:>9.3f} {b:>10.3f} {a / b if b else float('inf'):>7.0f}×")
    mb_old = old.memory_usage(deep=True).sum() / 1e6
    kept = (new.specific, new.scoped, new.cover)
    mb_new = sum(f.memory_usage(deep=True).sum() for f in kept) / 1e6
    print(f"\nfilas guardadas: antes {len(old):,} ({mb_old:.0f} MB), después {sum(len(f) for f in kept):,} "
          f"({mb_new:.1f} MB: {len(new.specific):,} pares específicos, {len(new.scoped)} de alcance, "
          f"{len(new.cover):,} territorios)")
    print(f"mismas respuestas (pares de los multipuntos, conteos, filtro, sector «{slug}»): {'sí' if same else 'NO'}")
    if not same:
        raise SystemExit(1)
    sector_maps(inits, layer, new, store.read_layer("comuna"), [slug, "resto"])


def old_sectorview() -> types.ModuleType:
    """``views/sectorview.py`` at :data:`BEFORE` (one folium marker and tooltip per point)."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:views/sectorview.py"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("sectorview_before")
    exec(compile(source, f"{BEFORE}:views/sectorview.py", "exec"), module.__dict__)
    return module


def sector_maps(inits, layer, relations, commune, slugs) -> None:
    """The sector page's map of ``slugs``, built and rendered to HTML before and after."""
    from layers import sector
    from views import sectorview

    before = old_sectorview()
    no_status = pd.DataFrame(columns=["estado", "avance_fisico"])
    print(f"\n{'mapa de sector (construir + HTML)':<44} {'antes s':>9} {'después s':>10} {'razón':>8}  puntos  HTML antes/después")
    for slug in slugs:
        summary = sector.sector_summary(slug, inits, layer, relations, monitoring=no_status)
        html_old, t_old = median_time(lambda: before.sector_map(summary, commune, layer).get_root().render(), runs=1)
        html_new, t_new = median_time(lambda: sectorview.sector_map(summary, commune, layer).get_root().render(), runs=3)
        print(f"{'«' + slug + '»':<44} {t_old:>9.3f} {t_new:>10.3f} {t_old / t_new:>7.0f}×  {len(summary.sited):>6,}  "
              f"{len(html_old) / 1e6:.1f} MB / {len(html_new) / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
