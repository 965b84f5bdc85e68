"""Property-based tests: whatever GeoJSON-ish bytes arrive, the importer refuses cleanly or stores exactly what it reports.

Inputs: random bytes, truncated valid files, random JSON, and valid
FeatureCollections whose coordinates, geometry types and properties are
mutated (huge numbers, NaN, infinities, "NaN" strings, nested garbage). The
importer may refuse, but only with a :class:`~layers._errors.SitError` whose
message is one non-empty line, and the store is then byte-identical; when it
accepts, the stored layer has exactly the reported number of features.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from layers import settings, store
from layers._errors import SitError
from layers.ingest import importer
from tests.layers.ingest._import_fixtures import store_hash

#: Examples per property (the whole file stays well under a minute); raise with SIT_FUZZ_EXAMPLES for a deeper run.
EXAMPLES = int(os.environ.get("SIT_FUZZ_EXAMPLES", "70"))
HYPO = hsettings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_store(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """One private store for the module (copied from the session store)."""
    folder = tmp_path_factory.mktemp("fuzz_store")
    shutil.copyfile(data_dir / settings.STORE_FILENAME, folder / settings.STORE_FILENAME)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIT_DATA_DIR", str(folder))
        store.ensure_store()
        yield folder


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz_files")


# --------------------------------------------------------------------------- strategies

LON = st.floats(min_value=-70.9, max_value=-70.6)
LAT = st.floats(min_value=-28.7, max_value=-28.5)
WILD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just("NaN"),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**25), max_value=10**25), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20,
)
GEOM_TYPES = ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection", "Polígono", "", None]


@st.composite
def position(draw):
    if draw(st.integers(0, 9)) == 0:
        return [draw(WILD) for _ in range(draw(st.integers(0, 4)))]
    pos = [draw(LON), draw(LAT)]
    if draw(st.booleans()):
        pos.append(draw(st.floats(min_value=-100, max_value=5000)))
    return pos


@st.composite
def coordinates(draw, gtype):
    """Mostly well-formed coordinates for ``gtype``, sometimes garbage."""
    if draw(st.integers(0, 7)) == 0:
        return draw(JSON)
    if gtype == "Point":
        return draw(position())
    if gtype in ("MultiPoint", "LineString"):
        return draw(st.lists(position(), min_size=0, max_size=5))
    if gtype == "Polygon" and draw(st.booleans()):
        x, y, d = draw(LON), draw(LAT), draw(st.floats(min_value=1e-9, max_value=0.05))
        return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]
    if gtype == "Polygon":
        ring = draw(st.lists(position(), min_size=0, max_size=6))
        if ring and draw(st.booleans()):
            ring = [*ring, ring[0]]  # usually closed
        return [ring]
    if gtype == "MultiLineString":
        return draw(st.lists(st.lists(position(), max_size=4), max_size=3))
    if gtype == "MultiPolygon":
        return [[draw(st.lists(position(), max_size=5))] for _ in range(draw(st.integers(0, 2)))]
    return draw(JSON)


@st.composite
def geometry(draw):
    gtype = draw(st.sampled_from(GEOM_TYPES))
    if draw(st.integers(0, 9)) == 0:
        return None
    if gtype == "GeometryCollection":
        return {"type": gtype, "geometries": [draw(geometry()) for _ in range(draw(st.integers(0, 2)))]}
    out = {"type": gtype, "coordinates": draw(coordinates(gtype))}
    if draw(st.integers(0, 9)) == 0:
        out.pop("coordinates")
    return out


@st.composite
def feature_collection(draw):
    features = []
    for _ in range(draw(st.integers(0, 6))):
        feature = {"type": "Feature", "properties": draw(st.one_of(st.none(), st.dictionaries(st.sampled_from(["nombre", "id", "n", "x", "Área", ""]), JSON, max_size=4))), "geometry": draw(geometry())}
        if draw(st.integers(0, 11)) == 0:
            feature = draw(JSON)
        features.append(feature)
    doc = {"type": "FeatureCollection", "features": features}
    if draw(st.integers(0, 7)) == 0:
        doc["crs"] = {"type": "name", "properties": {"name": draw(st.sampled_from(["urn:ogc:def:crs:EPSG::32719", "EPSG:4326", "urn:ogc:def:crs:EPSG::0", "garbage"]))}}
    return doc


def _dumps(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False, allow_nan=True).encode("utf-8")


# --------------------------------------------------------------------------- the property


def _check(path: Path, kind: str) -> None:
    before = store_hash()
    kwargs = {"name_field": "nombre"} if kind == "territorios" else {}
    try:
        report = importer.import_file(path, as_=kind, layer="fuzz", replace=True, **kwargs)
    except SitError as exc:
        event(f"rechazo: {type(exc).__name__}")
        text = str(exc)
        assert text and text.strip() == text and "\n" not in text, repr(text)
        assert store_hash() == before, f"store changed after a refusal: {text}"
        return
    event("importada")
    stored = store.read_layer("fuzz")
    assert len(stored) == report.n_stored > 0
    assert int(store.layer_info("fuzz")["n"]) == report.n_stored
    assert report.n_stored + sum(report.dropped.values()) <= report.n_read
    assert all(math.isfinite(v) for v in report.bbox_wgs84)
    assert stored.geometry.notna().all() and stored.geometry.is_valid.all()


@HYPO
@given(data=st.binary(max_size=3000), ext=st.sampled_from([".geojson", ".json", ".zip", ".kml", ".gpkg", ".csv"]))
def test_random_bytes(fuzz_store, work_dir, data, ext):
    path = work_dir / f"azar{ext}"
    path.write_bytes(data)
    _check(path, "referencia")


@HYPO
@given(doc=feature_collection(), cut=st.floats(min_value=0.0, max_value=1.0), kind=st.sampled_from(["referencia", "territorios"]))
def test_truncated_feature_collections(fuzz_store, work_dir, doc, cut, kind):
    raw = _dumps(doc)
    path = work_dir / "truncado.geojson"
    path.write_bytes(raw[: max(1, int(len(raw) * cut))])
    _check(path, kind)


@HYPO
@given(doc=JSON)
def test_random_json(fuzz_store, work_dir, doc):
    path = work_dir / "json.geojson"
    path.write_bytes(_dumps(doc))
    _check(path, "referencia")


@HYPO
@given(doc=feature_collection(), kind=st.sampled_from(["referencia", "territorios"]))
def test_mutated_feature_collections(fuzz_store, work_dir, doc, kind):
    path = work_dir / "mutado.geojson"
    path.write_bytes(_dumps(doc))
    _check(path, kind)


@st.composite
def placed_feature_collection(draw):
    """Well-placed points and squares whose properties are garbage: mostly accepted."""
    features = []
    for _ in range(draw(st.integers(1, 5))):
        x, y = draw(LON), draw(LAT)
        if draw(st.booleans()):
            d = draw(st.floats(min_value=1e-6, max_value=0.05))
            geom = {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}
        else:
            geom = {"type": "Point", "coordinates": [x, y]}
        props = draw(st.dictionaries(st.text(max_size=10), JSON, max_size=5))
        props["nombre"] = draw(st.one_of(st.text(max_size=30), WILD))
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    return {"type": "FeatureCollection", "features": features}


@HYPO
@given(doc=placed_feature_collection(), kind=st.sampled_from(["referencia", "territorios"]))
def test_placed_features_with_garbage_properties(fuzz_store, work_dir, doc, kind):
    path = work_dir / "propiedades.geojson"
    path.write_bytes(_dumps(doc))
    _check(path, kind)
