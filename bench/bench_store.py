"""Scale of the store: GeoPackage and PostGIS side by side, shipped data and a municipality 100 times larger.

Usage::

    python bench/bench_store.py            # throw-away PostgreSQL (tests/pg.py) in a temporary folder
    SIT_BENCH_DATABASE_URL=postgresql://…/vacia python bench/bench_store.py   # an existing empty database

Sizes
-----
``incluidos``
    The layers built from ``data/`` (194 initiatives, 31 territories, no blocks).
``x100``
    A synthetic municipality: 20,000 initiatives (the shipped ones repeated with new
    ids, points jittered inside the commune, as many without a site as shipped),
    7,000 territories (a grid of cells over the commune) and 80,000 blocks (small
    squares). Seeded: every run draws the same data.

Operations, each timed once on each backend (seconds, wall clock)
-----------------------------------------------------------------
``construir``       write every layer into an empty store (one transaction);
``leer``            read the whole ``iniciativas`` layer;
``filtrar``         initiatives and blocks of one territory (bounding-box read, then
                    intersection with the territory);
``actualizar``      one monitoring change with its history (:func:`layers.monitoring.history.apply_changes`);
``exportar``        initiatives with their monitoring fields to GeoJSON (:func:`layers.exchange.export.export_layer`);
``ogc_arranque``    start of ``cli.py ogcapi`` until it answers (it loads every served layer once);
``ogc_1000_frío``   the OGC API's first page of 1,000 initiatives after the server started;
``ogc_1000``        the same page again (median of 5; the served frame is cached per store version).

Reads, the update and the export are the median of 3 runs; the machine's other load
shows in single figures, so compare columns rather than trust the third decimal.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers import settings, store  # noqa: E402
from layers.store import seed  # noqa: E402

#: Sizes of the synthetic municipality.
N_INITIATIVES, N_TERRITORIES, N_BLOCKS = 20_000, 7_000, 80_000
OPERATIONS = ("construir", "leer", "filtrar", "actualizar", "exportar", "ogc_arranque", "ogc_1000_frío", "ogc_1000")
#: Runs of each repeated operation (the median is reported).
REPEAT = 3


def _grid(bounds: tuple[float, float, float, float], n: int, fill: float = 1.0) -> np.ndarray:
    """``n`` square cells (or smaller squares centred in them when ``fill`` < 1) over ``bounds``."""
    xmin, ymin, xmax, ymax = bounds
    side = int(np.ceil(np.sqrt(n)))
    dx, dy = (xmax - xmin) / side, (ymax - ymin) / side
    i, j = np.divmod(np.arange(n), side)
    x0, y0 = xmin + j * dx, ymin + i * dy
    pad_x, pad_y = dx * (1 - fill) / 2, dy * (1 - fill) / 2
    return shapely.box(x0 + pad_x, y0 + pad_y, x0 + dx - pad_x, y0 + dy - pad_y)


def synthetic(built: dict) -> dict:
    """The shipped layers scaled up (see the module docstring); same registry metadata."""
    rng = np.random.default_rng(12019)
    commune = built["comuna"][0]
    bounds = tuple(commune.total_bounds)
    cells = _grid(bounds, N_TERRITORIES)
    terr = gpd.GeoDataFrame({
        "slug": [f"t{k:05d}" for k in range(N_TERRITORIES)],
        "nombre": [f"Territorio {k}" for k in range(N_TERRITORIES)],
        "tipo": "sector urbano", "fuente": seed.REFERENCIAL, "precision_m": 50,
    }, geometry=cells, crs="EPSG:4326")
    blocks = gpd.GeoDataFrame({
        "manzana": [f"m{k:06d}" for k in range(N_BLOCKS)],
        "personas": rng.integers(0, 400, N_BLOCKS),
    }, geometry=_grid(bounds, N_BLOCKS, fill=0.8), crs="EPSG:4326")
    shipped = built["iniciativas"][0]
    reps = int(np.ceil(N_INITIATIVES / len(shipped)))
    inits = pd.concat([shipped] * reps, ignore_index=True).iloc[:N_INITIATIVES].copy()
    inits["id"] = [f"{i}-{k // len(shipped):03d}" for k, i in enumerate(inits["id"])]
    sited = inits.geometry.notna().to_numpy()
    x = rng.uniform(bounds[0], bounds[2], N_INITIATIVES)
    y = rng.uniform(bounds[1], bounds[3], N_INITIATIVES)
    inits = inits.set_geometry(np.where(sited, shapely.points(x, y), None)).set_crs("EPSG:4326", allow_override=True)
    inits["territorios"] = [f"t{k:05d}" for k in rng.integers(0, N_TERRITORIES, N_INITIATIVES)]
    out = dict(built)
    out["territorios"] = (terr, built["territorios"][1])
    out["iniciativas"] = (inits, built["iniciativas"][1])
    out["manzanas"] = (blocks, {"titulo": "Manzanas (sintéticas)", "clase": "referencia", "descripcion": "Banco de pruebas"})
    return out


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _median(fn: Callable[[], object]) -> float:
    return statistics.median(_timed(fn) for _ in range(REPEAT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ogc(env: dict, n: int) -> tuple[float, float, float]:
    """Start-up, cold and warm (median of 5) time of one page of 1,000 initiatives (of ``n``) from ``cli.py ogcapi``."""
    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "ogcapi", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    page = f"{base}/collections/iniciativas/items?f=json&limit=1000"

    def get(url: str) -> dict:
        with urllib.request.urlopen(url, timeout=300) as answer:  # noqa: S310 - loopback only
            return json.load(answer)

    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                get(f"{base}/conformance?f=json")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the OGC API server did not start") from None
                time.sleep(0.1)
        startup = time.perf_counter() - started
        cold = _timed(lambda: get(page))
        warm = statistics.median(_timed(lambda: get(page)) for _ in range(5))
        assert len(get(page)["features"]) == min(1000, n)
        return startup, cold, warm
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(layers: dict, env: dict, workdir: Path) -> dict[str, float]:
    """Every operation on the store that ``env`` selects (empty when the run starts)."""
    from layers import monitoring
    from layers.exchange import export
    from layers.monitoring import history

    os.environ.update(env)
    if not env.get("SIT_DATABASE_URL"):
        os.environ.pop("SIT_DATABASE_URL", None)
    backend = store.backend()
    put = {name: (frame, {"origen": store.SHIPPED, **meta}) for name, (frame, meta) in layers.items()}
    times = {"construir": _timed(lambda: backend.write_layers(put, state={"huella": seed.fingerprint(), "construido": "bench"}))}
    history.ensure_tables()
    times["leer"] = _median(lambda: store.read_layer("iniciativas"))
    terr = layers["territorios"][0]
    shape = terr.geometry.iloc[len(terr) // 2]

    def by_territory() -> None:
        for name in ("iniciativas", "manzanas") if "manzanas" in layers else ("iniciativas",):
            frame = store.read_layer(name, bbox=tuple(shape.bounds))
            frame[frame.intersects(shape)]

    times["filtrar"] = _median(by_territory)
    first = layers["iniciativas"][0]["id"].iloc[0]
    steps = iter(range(REPEAT))

    def update() -> None:
        change = pd.DataFrame({"estado": ["en ejecución"], "avance_fisico": [25.0 + next(steps)]},
                              index=pd.Index([first], name="id"), dtype=object)
        assert len(history.apply_changes(change, "Banco de pruebas", "medición").entries) > 0

    times["actualizar"] = _median(update)
    times["exportar"] = _median(lambda: export.export_layer(monitoring.with_monitoring(store.read_layer("iniciativas")),
                                                            workdir / f"i-{time.monotonic_ns()}.geojson", "geojson",
                                                            layer="iniciativas"))
    times["ogc_arranque"], times["ogc_1000_frío"], times["ogc_1000"] = _ogc(dict(os.environ), len(layers["iniciativas"][0]))
    return times


def main() -> None:
    from tests.pg import Server

    workdir = Path(tempfile.mkdtemp(prefix="sit-bench-store-"))
    server = None
    given = os.environ.get("SIT_BENCH_DATABASE_URL")
    if not given:
        server = Server()
    try:
        print("Construyendo las capas incluidas y el municipio sintético…", flush=True)
        built = seed.build_layers()
        sizes = {"incluidos": built, "x100": synthetic(built)}
        results: dict[tuple[str, str], dict[str, float]] = {}
        for size, layers in sizes.items():
            counts = {k: len(v[0]) for k, v in layers.items() if k in ("iniciativas", "territorios", "manzanas")}
            print(f"{size}: {counts}", flush=True)
            gpkg_dir = workdir / f"gpkg-{size}"
            gpkg_dir.mkdir()
            results[(size, "GeoPackage")] = run(layers, {"SIT_DATA_DIR": str(gpkg_dir), "SIT_DATABASE_URL": ""}, workdir)
            url = given if given else server.create_database()
            if given and size != "incluidos":
                raise SystemExit("con SIT_BENCH_DATABASE_URL se mide solo un tamaño por base vacía")
            results[(size, "PostGIS")] = run(layers, {"SIT_DATA_DIR": str(workdir / f"pg-{size}"), "SIT_DATABASE_URL": url}, workdir)
        columns = list(results)
        print()
        print(f"{'operación (s)':<16}" + "".join(f"{size + ' ' + name:>22}" for size, name in columns))
        for op in OPERATIONS:
            print(f"{op:<16}" + "".join(f"{results[c][op]:>22.3f}" for c in columns))
        print(f"\nPostgreSQL {'dado' if given else 'temporal (borrado al terminar)'}; GeoPackage en una carpeta temporal.")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    settings.validate()
    main()
