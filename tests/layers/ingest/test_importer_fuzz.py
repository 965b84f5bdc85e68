"""Property-based tests: whatever GeoJSON-ish bytes arrive, the importer refuses cleanly or stores exactly what it reports.

Inputs: random bytes, truncated valid files, random JSON, and valid
FeatureCollections whose coordinates, geometry types and properties are
mutated (huge numbers, NaN, infinities, "NaN" strings, nested garbage); zipped
Shapefiles whose DBF is written byte by byte with random field names
(repeated, long, accented, empty), text in a random encoding, a random
language byte and ``.cpg``, and random bytes overwritten; CSV files with random
headers, separators, encodings, WKT or EWKT (mixed SRIDs too) and random bytes. The
importer may refuse, but only with a :class:`~layers._errors.SitError` whose
message is one non-empty line, and the store is then byte-identical; when it
accepts, the stored layer has exactly the reported number of features (and,
for Shapefile and CSV text, no C1 control character).
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


def _check(path: Path, kind: str, name_field: str = "nombre", crs: str | None = None) -> None:
    before = store_hash()
    kwargs = {"name_field": name_field} if kind == "territorios" else {}
    if store.list_layers()["nombre"].eq("fuzz").any():
        store.remove_layer("fuzz")
        before = store_hash()
    try:
        report = importer.import_file(path, as_=kind, layer="fuzz", replace=True, crs=crs, **kwargs)
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


# --------------------------------------------------------------------------- Shapefile and CSV inputs

#: Fewer examples for the Shapefile and CSV properties: each one writes and imports real files.
HYPO_FILES = hsettings(
    max_examples=max(5, EXAMPLES // 3), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ENCODINGS = ["utf-8", "cp1252", "latin-1", "cp850"]
#: Field names people's files carry: accented, repeated, long, empty, reserved, odd characters.
FIELD_NAMES = st.one_of(
    st.sampled_from(["NOMBRE", "NOMBRE", "Código", "AÑO", "año", "geometry", "fid", "", "NOMBRE_UNIDAD_VECINAL", "1er", "a b", "x;y"]),
    st.text(max_size=14),
)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
LDIDS = st.sampled_from([0, 0x03, 0x57, 0x01, 0x02, 0xC8, 0x4D, 0xFF])
CPGS = st.sampled_from([None, "UTF-8", "ANSI 1252", "88591", "CP850", "", "klingon", "UTF-8\r\n"])


def _encoded(text: str, encoding: str) -> bytes:
    return str(text).encode(encoding, errors="replace")


def _dbf(names: list[str], rows: list[list[str]], encoding: str, ldid: int) -> bytes:
    """A dBASE III table of character fields written byte by byte (names cut to 10 bytes, as the format does)."""
    raw_names = [_encoded(n, encoding)[:10] for n in names]
    lengths = [max(1, min(254, max([len(_encoded(r[i], encoding)) for r in rows] + [1]))) for i in range(len(names))]
    header_len = 32 + 32 * len(names) + 1
    record_len = 1 + sum(lengths)
    out = bytearray(b"\x03\x7e\x0b\x1e")
    out += len(rows).to_bytes(4, "little") + header_len.to_bytes(2, "little") + record_len.to_bytes(2, "little")
    out += bytes(17) + bytes([ldid]) + bytes(2)
    for name, length in zip(raw_names, lengths):
        out += name.ljust(11, b"\x00") + b"C" + bytes(4) + bytes([length, 0]) + bytes(14)
    out += b"\x0d"
    for row in rows:
        out += b" " + b"".join(_encoded(v, encoding)[:n].ljust(n, b" ") for v, n in zip(row, lengths))
    return bytes(out + b"\x1a")


def _corrupt(data: bytes, flips: list[tuple[float, int]]) -> bytes:
    out = bytearray(data)
    for where, value in flips:
        out[min(len(out) - 1, int(where * len(out)))] = value
    return bytes(out)


@st.composite
def shapefile_case(draw):
    n = draw(st.integers(1, 4))
    names = draw(st.lists(FIELD_NAMES, min_size=1, max_size=5))
    rows = [[draw(TEXT) for _ in names] for _ in range(n)]
    flips = draw(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4)) if draw(st.integers(0, 3)) == 0 else []
    points = [(draw(LON), draw(LAT)) for _ in range(n)]
    return names, rows, draw(st.sampled_from(ENCODINGS)), draw(LDIDS), draw(CPGS), flips, points


def _no_c1(stored) -> bool:
    text = stored.drop(columns=stored.geometry.name).select_dtypes(include=["object", "string"])
    return not any(0x80 <= ord(ch) <= 0x9F for col in text for v in text[col] if isinstance(v, str) for ch in v)


@HYPO_FILES
@given(case=shapefile_case(), kind=st.sampled_from(["referencia", "territorios"]))
def test_shapefiles_with_random_fields_encodings_and_bytes(fuzz_store, work_dir, case, kind):
    import zipfile

    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    names, rows, encoding, ldid, cpg, flips, points = case
    folder = work_dir / "shp"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    frame = gpd.GeoDataFrame({"x": range(len(points))}, geometry=[Point(p) for p in points], crs="EPSG:4326")
    pyogrio.write_dataframe(frame, folder / "capa.shp")
    (folder / "capa.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / "capa.cpg").write_text(cpg, encoding="ascii")
    (folder / "capa.dbf").write_bytes(_corrupt(_dbf(names, rows, encoding, ldid), flips))
    archive = work_dir / "capa.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.iterdir()):
            out.write(path, path.name)
    event(f"codificación {encoding}, .cpg {cpg!r}")
    _check(archive, kind, name_field=names[0] if names[0] else "nombre")
    if kind == "referencia" and "fuzz" in set(store.list_layers()["nombre"]):
        assert _no_c1(store.read_layer("fuzz"))


@st.composite
def csv_case(draw):
    n = draw(st.integers(1, 4))
    extra = draw(st.lists(FIELD_NAMES, max_size=4))
    geometry = draw(st.sampled_from(["latlon", "wkt", "ewkt", "ewkt_mixed"]))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    rows = []
    for _ in range(n):
        x, y = draw(LON), draw(LAT)
        if geometry == "latlon":
            fmt = (lambda v: f"{v}".replace(".", ",")) if sep != "," and draw(st.booleans()) else str
            geom = [fmt(y), fmt(x)]
        else:
            srid = draw(st.sampled_from([4326, 32719])) if geometry == "ewkt_mixed" else 4326
            if srid == 32719:
                x, y = 330000 + (x + 70.75) * 1e5, 6838000 + (y + 28.57) * 1e5
            prefix = f"SRID={srid};" if geometry != "wkt" else ""
            geom = [f'"{prefix}POINT ({x} {y})"']
        rows.append(geom + [draw(TEXT).replace(sep, " ").replace('"', "").replace("\n", " ").replace("\r", " ") for _ in extra])
    header = (["lat", "lon"] if geometry == "latlon" else ["wkt"]) + [h.replace(sep, "_").replace('"', "").replace("\n", "") for h in extra]
    text = "\r\n".join(sep.join(r) for r in [header, *rows]) + "\r\n"
    flips = draw(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=3)) if draw(st.integers(0, 3)) == 0 else []
    return _corrupt(_encoded(text, draw(st.sampled_from(ENCODINGS))), flips), geometry


@HYPO_FILES
@given(case=csv_case())
def test_csv_with_random_headers_encodings_and_bytes(fuzz_store, work_dir, case):
    data, geometry = case
    path = work_dir / "tabla.csv"
    path.write_bytes(data)
    event(f"geometría {geometry}")
    _check(path, "referencia", crs="EPSG:4326" if geometry == "wkt" else None)
    if "fuzz" in set(store.list_layers()["nombre"]):
        assert _no_c1(store.read_layer("fuzz"))
