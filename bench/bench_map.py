"""Benchmark of the plan's map: filter time, map build time and the HTML sent to the browser.

Two datasets, each drawn two ways in the same run:

- ``shipped``: the store built from ``data/`` (194 initiatives, 31 territories);
- ``sintético``: 7,000 territory polygons (Voronoi cells of random seeds clipped to
  the commune, boundaries densified with a vertex every 50 m as digitised layers
  have) and 20,000 sited initiatives inside the commune (60 % points, 25 % lines,
  15 % areas) with strategies, plans and types spread over the catalogue.

``optimizado`` is what the app does (:mod:`views.mapview`): display geometries
simplified in metres and rounded (prepared once per store version, timed apart),
a choropleth GeoJSON with only the drawn properties, points in a MarkerCluster and
the sited initiatives in one compact JSON document; ``optimizado + manzanas`` adds the 801
census blocks drawn under the map (:mod:`views.citycontext`), which shows what they cost in
HTML. ``ingenuo`` is a plain folium
map of the raw layers: ``folium.GeoJson`` of the full, unsimplified territories
with every attribute, and every initiative as its own ``CircleMarker`` (tooltip and
popup) at its representative point, no clustering, no rounding. Both go through
:func:`views.webassets.localize_map` before they are measured.

Columns: ``filtro`` is :func:`layers.query.filter_initiatives` plus the relations
lookup that feeds the choropleth (:func:`views.mapview.territory_counts`), median
of several runs; ``construir`` builds the folium map; ``render`` is
``m.get_root().render()`` (what streamlit-folium does on each rerun); ``HTML`` is
the size of that document.

Run with ``make bench`` or ``python bench/bench_map.py`` (about 2-3 minutes on 2 cores).
"""

from __future__ import annotations

import html
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

import folium  # noqa: E402
import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from geo.crs import UTM19S, WGS84  # noqa: E402
from layers import catalogue, links, query  # noqa: E402
from views import citycontext, mapview, webassets  # noqa: E402
from views.escape import js_value  # noqa: E402

N_TERRITORIES = 7_000
N_INITIATIVES = 20_000
SEED = 20240601
FILTER_RUNS = 5


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def median_time(fn, runs: int = FILTER_RUNS) -> float:
    times = []
    for _ in range(runs):
        _, t = timed(fn)
        times.append(t)
    return statistics.median(times)


# --------------------------------------------------------------------------- data


def shipped_data() -> dict:
    from layers import store

    store.ensure_store()
    strategies = store.read_layer("estrategias")
    return {
        "commune": store.read_layer("comuna"),
        "territories": store.read_layer("territorios"),
        "initiatives": store.read_layer("iniciativas"),
        "strategies": dict(zip(strategies["id"], strategies["nombre"])),
        "blocks": store.read_layer("manzanas"),
    }


def _random_points_in(region_m, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random points inside a polygon (metric CRS), by rejection sampling."""
    xmin, ymin, xmax, ymax = region_m.bounds
    shapely.prepare(region_m)
    out: list[np.ndarray] = []
    count = 0
    while count < n:
        xy = rng.uniform([xmin, ymin], [xmax, ymax], size=(2 * (n - count) + 100, 2))
        pts = shapely.points(xy)
        inside = pts[shapely.contains(region_m, pts)]
        out.append(inside)
        count += len(inside)
    return np.concatenate(out)[:n]


def synthetic_territories(commune_m, rng: np.random.Generator) -> gpd.GeoDataFrame:
    seeds = _random_points_in(commune_m, N_TERRITORIES, rng)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=commune_m, ordered=True))
    clipped = shapely.intersection(cells, commune_m)
    # Keep one polygon per seed (the largest part) so that every territory is a polygon.
    parts = [max(shapely.get_parts(g), key=lambda p: p.area) if g.geom_type != "Polygon" else g for g in clipped]
    dense = shapely.segmentize(np.asarray(parts, dtype=object), 50.0)
    urban = rng.random(len(dense)) < 0.4
    gdf = gpd.GeoDataFrame(
        {
            "slug": [f"t-{i:04d}" for i in range(len(dense))],
            "nombre": [f"Territorio sintético {i}" for i in range(len(dense))],
            "tipo": np.where(urban, "sector urbano", "localidad rural"),
            "fuente": "Sintético (benchmark)",
            "fuente_geometria": "Celda de Voronoi de una semilla aleatoria, recortada a la comuna",
            "precision_m": 100,
            "area_km2": shapely.area(dense) / 1e6,
        },
        geometry=dense,
        crs=UTM19S,
    )
    return gdf.to_crs(WGS84)


WORDS = ("agua potable", "plaza", "sede social", "alumbrado", "pavimentación", "escuela", "posta", "ciclovía",
         "mirador", "áreas verdes", "multicancha", "alcantarillado", "biblioteca", "centro cultural")


def synthetic_initiatives(commune_m, rng: np.random.Generator) -> gpd.GeoDataFrame:
    plans = catalogue.load_plans()
    strategies = catalogue.load_strategies()
    n = N_INITIATIVES
    anchors = _random_points_in(commune_m.buffer(-600), n, rng)
    xy = shapely.get_coordinates(anchors)
    kind = rng.choice(["point", "line", "polygon"], size=n, p=[0.60, 0.25, 0.15])
    geoms = np.empty(n, dtype=object)
    geoms[kind == "point"] = anchors[kind == "point"]
    for i in np.flatnonzero(kind == "line"):
        steps = rng.normal(0, 150, size=(rng.integers(2, 6), 2))
        geoms[i] = shapely.linestrings(np.vstack([xy[i], xy[i] + np.cumsum(steps, axis=0)]))
    for i in np.flatnonzero(kind == "polygon"):
        geoms[i] = shapely.buffer(anchors[i], rng.uniform(40, 250), quad_segs=4)
    plan_rows = plans.sample(n=n, replace=True, random_state=SEED).reset_index(drop=True)
    strategy_names = strategies.set_index("id")["nombre"]
    tipos = rng.choice(list(catalogue.TIPOS), size=n, p=[0.5, 0.35, 0.1, 0.05])
    names = [f"{t} de {WORDS[i % len(WORDS)]} en el sector {i % 977}" for i, t in enumerate(tipos)]
    fuentes = [
        "Punto digitado por el proyecto; ubicación aproximada",
        "Línea digitada por el proyecto sobre el eje de la calle",
        "Polígono digitado por el proyecto sobre imagen satelital",
        "Coordenadas entregadas por la unidad municipal",
    ]
    ids = [f"S{i:05d}" for i in range(n)]
    padre = [ids[i - 1] if i % 10 == 1 else None for i in range(n)]
    frame = pd.DataFrame({
        "id": ids,
        "tipo": tipos,
        "nombre": names,
        "nombre_original": names,
        "estrategia": plan_rows["estrategia"].to_numpy(),
        "estrategia_nombre": plan_rows["estrategia"].map(strategy_names).to_numpy(),
        "plan": plan_rows["id"].to_numpy(),
        "plan_nombre": plan_rows["nombre"].to_numpy(),
        "padre": padre,
        "padre_nombre": [names[int(p[1:])] if p else None for p in padre],
        "encabezado": False,
        "alcance": "territorial",
        "territorios": "",
        "fuente_geometria": [fuentes[i % len(fuentes)] for i in range(n)],
        "precision_m": rng.choice([50, 100, 200, 500], size=n),
    })
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=UTM19S).to_crs(WGS84)


def synthetic_data(base: dict) -> dict:
    rng = np.random.default_rng(SEED)
    commune_m = base["commune"].to_crs(UTM19S).geometry.iloc[0]
    territories = synthetic_territories(commune_m, rng)
    initiatives = synthetic_initiatives(commune_m, rng)
    return {"commune": base["commune"], "territories": territories, "initiatives": initiatives,
            "strategies": base["strategies"]}


# --------------------------------------------------------------------------- maps


def naive_map(commune, territories, initiatives) -> folium.Map:
    """A plain folium map of the raw layers (the baseline)."""
    c = commune.geometry.iloc[0].centroid
    m = webassets.offline_map(location=[c.y, c.x], zoom_start=9)
    folium.GeoJson(commune, name="Comuna").add_to(m)
    folium.GeoJson(
        territories, name="Territorios",
        tooltip=folium.GeoJsonTooltip(fields=["nombre"]),
    ).add_to(m)
    sited = initiatives[initiatives.geometry.notna()]
    where = sited.geometry.representative_point()
    for row, pt in zip(sited.itertuples(index=False), where.array):
        body = (
            f"<b>{html.escape(str(row.nombre))}</b><br>id: {html.escape(str(row.id))}<br>tipo: {row.tipo}"
            f"<br>estrategia: {row.estrategia} {html.escape(str(row.estrategia_nombre))}"
            f"<br>plan: {row.plan} {html.escape(str(row.plan_nombre))}"
            f"<br>padre: {html.escape(str(row.padre))}<br>territorios: {html.escape(str(row.territorios))}"
            f"<br>fuente: {html.escape(str(row.fuente_geometria))}"
        )
        folium.CircleMarker(
            [pt.y, pt.x], radius=6, color="#333333", fill=True, fill_color="#E69F00",
            tooltip=html.escape(str(row.nombre)), popup=folium.Popup(body, max_width=320),
        ).add_to(m)
    folium.LayerControl().add_to(m)
    webassets.localize_map(m)
    return m


def measure(label: str, data: dict, filters: dict[str, dict]) -> list[dict]:
    rows = []
    commune, territories, initiatives = data["commune"], data["territories"], data["initiatives"]
    relations, t_rel = timed(links.relate, initiatives, territories)
    print(f"[{label}] relaciones iniciativa-territorio: {len(relations.specific):,} pares específicos en {t_rel:.2f} s", flush=True)
    (disp_c, disp_t, disp_i), t_disp = timed(lambda: (
        mapview.display_geometries(commune, ["nombre"]),
        mapview.display_geometries(territories, ["slug", "nombre", "tipo"]),
        mapview.display_geometries(initiatives, tolerance_m=5.0),
    ))
    raw_vertices = int(shapely.get_num_coordinates(territories.geometry.array).sum())
    disp_vertices = int(shapely.get_num_coordinates(disp_t.geometry.array).sum())
    print(f"[{label}] geometrías de despliegue (una vez por versión del almacén): {t_disp:.2f} s; "
          f"vértices de territorios {raw_vertices:,} -> {disp_vertices:,}", flush=True)

    for name, flt in filters.items():
        def run_filter(flt=flt):
            chosen = query.filter_initiatives(initiatives, relations, territories=territories, **flt)
            mapview.territory_counts(relations, chosen["id"], territories["slug"])
            return chosen

        chosen = run_filter()
        t_filter = median_time(run_filter)
        m, t_build = timed(
            mapview.selection_map, disp_c, disp_t, disp_i, chosen["id"], relations,
            strategies=data["strategies"], selected_territories=flt.get("territorio") or (), filtered=bool(flt),
        )
        page, t_render = timed(lambda: m.get_root().render())
        rows.append({
            "datos": label, "mapa": "optimizado", "selección": f"{name} ({len(chosen):,})",
            "filtro_ms": t_filter * 1000, "construir_s": t_build, "render_s": t_render,
            "html_mb": len(page.encode("utf-8")) / 1e6,
        })
        print(f"[{label}] optimizado, {name}: listo", flush=True)
        if name == "todo" and data.get("blocks") is not None:
            city, t_city = timed(citycontext.blocks_payload, data["blocks"])
            print(f"[{label}] manzanas censales: {len(data['blocks']):,} en {len(js_value(city)) / 1e3:.1f} kB "
                  f"de JSON ({t_city:.2f} s, una vez por versión del almacén)", flush=True)
            m, t_build = timed(
                mapview.selection_map, disp_c, disp_t, disp_i, chosen["id"], relations,
                strategies=data["strategies"], filtered=False, city=city,
            )
            page, t_render = timed(lambda: m.get_root().render())
            rows.append({
                "datos": label, "mapa": "optimizado + manzanas", "selección": f"{name} ({len(chosen):,})",
                "filtro_ms": t_filter * 1000, "construir_s": t_build, "render_s": t_render,
                "html_mb": len(page.encode("utf-8")) / 1e6,
            })
        if name == "todo":
            m, t_build = timed(naive_map, commune, territories, chosen)
            page, t_render = timed(lambda: m.get_root().render())
            rows.append({
                "datos": label, "mapa": "ingenuo", "selección": f"{name} ({len(chosen):,})",
                "filtro_ms": t_filter * 1000, "construir_s": t_build, "render_s": t_render,
                "html_mb": len(page.encode("utf-8")) / 1e6,
            })
            print(f"[{label}] ingenuo, {name}: listo", flush=True)
    return rows


def print_table(rows: list[dict]) -> None:
    headers = ("datos", "mapa", "selección", "filtro (ms)", "construir (s)", "render (s)", "HTML (MB)")
    lines = [
        (r["datos"], r["mapa"], r["selección"], f"{r['filtro_ms']:.1f}", f"{r['construir_s']:.2f}",
         f"{r['render_s']:.2f}", f"{r['html_mb']:.3f}")
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:{'<' if i < 3 else '>'}{w}}}" for i, w in enumerate(widths))
    print()
    print(fmt.format(*headers))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print(fmt.format(*line))


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    if "SIT_DATA_DIR" in os.environ:
        return run()
    with tempfile.TemporaryDirectory(prefix="sit-bench-") as tmp:
        os.environ["SIT_DATA_DIR"] = tmp
        return run()


def run() -> int:
    started = time.perf_counter()
    base = shipped_data()
    rows = measure("incluidos", base, {
        "todo": {},
        "estrategia 1": {"estrategia": "E1"},
        "territorio centro": {"territorio": ["centro"]},
    })
    synth, t_make = timed(synthetic_data, base)
    print(f"[sintético] {len(synth['territories']):,} territorios y {len(synth['initiatives']):,} iniciativas "
          f"generados en {t_make:.1f} s", flush=True)
    slugs = list(synth["territories"]["slug"].iloc[:3])
    rows += measure("sintético", synth, {
        "todo": {},
        "estrategia 1": {"estrategia": "E1"},
        "3 territorios": {"territorio": slugs},
        "q=agua": {"q": "agua"},
    })
    print_table(rows)
    print(f"\nTiempo total: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
