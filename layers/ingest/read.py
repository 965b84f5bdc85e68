"""Reading the files people import: format detection and one reader per format.

Internal to :mod:`layers.ingest.importer`. Every problem becomes an
:class:`~layers._errors.InputFileError` with a one-line Spanish message, a
``code`` and its data.

Before GDAL sees anything, :func:`opened` refuses content that would make GDAL
open something else (VRT, streamed algorithms, ``/vsi`` paths) in the file and
in every member of an archive, checks the first bytes of the file against its
format, and copies it under a plain name into a private folder; GeoPackage and
GeoJSON are opened with their driver pinned, and every dataset GDAL opens must
report the format's own driver (see :mod:`layers.ingest._guard`).

Formats and how they are read (all through GDAL with pyogrio, except CSV):

GeoJSON (``.geojson``, ``.json``)
    First parsed with :mod:`json` to tell a truncated or malformed file (with
    the line and column of the error) from valid JSON that is not GeoJSON; then
    read by GDAL's GeoJSON driver, which honours a legacy ``crs`` member.
Shapefile (``.zip`` holding ``.shp/.shx/.dbf[/.prj/.cpg]``, or a ``.shp`` path)
    The zip is extracted with :func:`geo.zipsafe.extract` into a temporary
    folder. The text encoding comes from ``encoding`` when given, else from the
    ``.cpg``, else it is guessed from the ``.dbf`` bytes
    (:func:`geo.dbf.guess_encoding`: UTF-8 when all text decodes as UTF-8,
    ISO-8859-1 otherwise).
GeoPackage (``.gpkg``)
    The layer is chosen with ``layer``; with several spatial layers and none
    chosen the file is refused, listing them.
KML / KMZ
    GDAL's LIBKML driver (KML as fallback). A KMZ is extracted safely like a zip.
    With several folders (layers) and none chosen they are read together and a
    ``carpeta`` field says where each feature came from. LIBKML's styling
    fields (``altitudeMode``, ``tessellate``...) and fields empty in every
    feature are left out.
CSV (``.csv``, ``.txt``, ``.tsv``)
    Read with pandas (``dtype=str``, separator ``,`` ``;`` or tab guessed from
    the header line; UTF-8 with or without BOM, else ISO-8859-1, or
    ``encoding``). Geometry from a ``wkt``/``geometry``/``geom``/``the_geom``
    column (parsed by :func:`shapely.from_wkt`), else ``lon``/``lat``
    (``longitud``/``latitud``, ``lng``, ``long``) in decimal degrees, WGS 84
    unless ``crs`` says otherwise, else ``x``/``y`` (``este``/``norte``) in the
    CRS given with ``crs``. A WKT column has no CRS of its own (``crs`` is
    needed) unless ``lon``/``lat`` columns sit beside it, as in the CSV files
    SIT exports: then it is taken as WGS 84 and those columns are dropped. Decimal commas (``-70,76``) are accepted when the
    separator is not a comma. Other columns stay text, so codes such as
    ``03301`` keep their leading zeros. Rows whose geometry cannot be parsed are
    dropped and counted.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import logging
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geo import dbf, zipsafe
from geo.crs import WGS84, crs_label, parse_crs
from layers import settings
from layers._errors import InputFileError
from layers.ingest import _datum, _guard
from layers.text import fold, format_mb

log = logging.getLogger(__name__)

#: GDAL reading options of the importer: LIBKML keeps ExtendedData names as written
#: (``Código``, not ``C__digo``); the importer folds them itself (``codigo``).
READ_OPTIONS = {"LIBKML_LAUNDER_FIELD_NAMES": "NO"}
pyogrio.set_gdal_config_options(READ_OPTIONS)

#: Format code -> label for people.
FORMAT_LABELS = {
    "geojson": "GeoJSON",
    "shp": "Shapefile",
    "gpkg": "GeoPackage",
    "kml": "KML",
    "csv": "CSV",
}
_BY_EXTENSION = {
    ".geojson": "geojson", ".json": "geojson",
    ".zip": "zip", ".shp": "shp", ".gpkg": "gpkg",
    ".kml": "kml", ".kmz": "kmz",
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
}
_SUPPORTED = "GeoJSON, Shapefile comprimido (.zip), GeoPackage (.gpkg), KML/KMZ o CSV"
_GEOJSON_TYPES = {
    "FeatureCollection", "Feature", "Point", "MultiPoint", "LineString",
    "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection",
}
#: Styling fields LIBKML adds to every layer; they say nothing about the features.
_KML_BOILERPLATE = ("altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon")
#: CSV geometry columns, by folded lower-case name, in order of preference.
#: Stems of the Shapefiles SIT writes when it splits a layer by geometry family.
_SPLIT = re.compile(r"(.+)_(puntos|lineas|poligonos|sin_geometria)")
_WKT_NAMES = ("wkt", "geometry", "geometria", "geom", "the_geom")
_LONLAT_NAMES = (("lon", "lat"), ("longitud", "latitud"), ("lng", "lat"), ("long", "lat"), ("longitude", "latitude"))
_XY_NAMES = (("x", "y"), ("este", "norte"), ("easting", "northing"))
#: A number with thousands dots that cannot be a decimal point: ``6.837.490,78``, ``327.860,09``, ``6.837.490``.
_GROUPED = r"[+-]?\d{1,3}(?:\.\d{3})+,\d*|[+-]?\d{1,3}(?:\.\d{3}){2,}"
#: EWKT's SRID prefix, as PostGIS ``ST_AsEWKT`` writes it: ``SRID=32719;POLYGON(...)``.
_EWKT = re.compile(r"^\s*SRID\s*=\s*(\d{1,6})\s*;", re.IGNORECASE)


@dataclass
class ReadInfo:
    """What :func:`read` learnt about a file besides its features.

    Attributes
    ----------
    format : str
        Label of the format (``"Shapefile"``, ``"GeoJSON"``...).
    source_layer : str
        Layer read inside the file.
    declared_crs : pyproj.CRS or None
        CRS the file declares (``None`` when it declares none).
    crs_note : str
        Where the CRS came from, in Spanish (``"declarado en el archivo"``...).
    encoding : str or None
        Text encoding used (Shapefile and CSV).
    had_z : bool
        The file has Z coordinates (they are dropped on import).
    dropped : dict of str to int
        Rows the reader itself dropped, by Spanish reason.
    notes : list of str
        Other remarks for the report, in Spanish.
    crs_binding : bool
        The CRS is written in the data itself (EWKT ``SRID=``): a different CRS
        given at import is refused rather than taken.
    unknown_datum : str or None
        Name of a declared datum that PROJ does not know and that could not be
        recognised: the file cannot be placed without a CRS given at import.
    """

    format: str
    source_layer: str = ""
    declared_crs: pyproj.CRS | None = None
    crs_note: str = ""
    encoding: str | None = None
    had_z: bool = False
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    crs_binding: bool = False
    unknown_datum: str | None = None


@dataclass
class _Source:
    kind: str  # geojson, shp, gpkg, kml, csv
    path: Path  # what GDAL (or pandas) reads: a path the importer built, see _staged
    shapefiles: list[Path] = field(default_factory=list)
    container: str = ""  # "zip" or "kmz" when extracted from one
    display: str = ""  # name of the file for people
    stems: list[str] = field(default_factory=list)  # original names of the Shapefiles

    @property
    def gdal(self) -> str:
        """Connection string that opens :attr:`path` with the one driver of :attr:`kind`."""
        return _guard.gdal_source(self.kind, self.path)


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


#: Common GDAL messages, said in Spanish.
_GDAL_SPANISH = (
    ("not recognized as being in a supported file format", "GDAL no reconoce su formato"),
    ("not recognized as a supported file format", "GDAL no reconoce su formato"),
    ("No such file or directory", "el archivo no existe"),
    ("file is not a database", "no es una base de datos SQLite/GeoPackage"),
    ("database disk image is malformed", "la base de datos está dañada"),
)


def _gdal_reason(exc: BaseException) -> str:
    """GDAL's message, on one line, without temporary paths; common ones in Spanish."""
    text = _one_line(exc, 400)
    for english, spanish in _GDAL_SPANISH:
        if english in text:
            return spanish
    text = text.split("; It might help")[0]
    return _one_line(text.replace(tempfile.gettempdir(), "…"), 160)


def check_size(path: Path) -> int:
    """Size of ``path`` in bytes; refuse missing, empty or too large files."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(f"No se encuentra el archivo «{path.name}».", code="file_not_found", file=path.name) from exc
    if not path.is_file():
        raise InputFileError(f"«{path.name}» no es un archivo.", code="not_a_file", file=path.name)
    check_size_of(path.name, size)
    return size


def check_size_of(name: str, size: int) -> None:
    """The one size rule of imports: refuse an empty file or one over the upload limit.

    Parameters
    ----------
    name : str
        File name as the person knows it (for the message).
    size : int
        Size in bytes.

    Raises
    ------
    InputFileError
        Code ``empty_file`` or ``file_too_big`` (with ``size``), the limit being
        :func:`layers.settings.upload_limit_bytes`.
    """
    if size <= 0:
        raise InputFileError(f"El archivo «{name}» está vacío.", code="empty_file", file=name)
    if size > settings.UPLOAD_LIMIT_BYTES:
        raise InputFileError(
            f"El archivo «{name}» pesa {format_mb(size)}, más que el máximo permitido ({format_mb(settings.UPLOAD_LIMIT_BYTES)}).",
            code="file_too_big", file=name, size=size,
        )


def check_encoding(encoding: str | None) -> str | None:
    """Python's canonical name of ``encoding``; refuse unknown names."""
    if encoding is None or str(encoding).strip() == "":
        return None
    try:
        return codecs.lookup(str(encoding).strip()).name
    except LookupError as exc:
        raise InputFileError(
            f"Codificación desconocida: «{encoding}». Use, por ejemplo, UTF-8 o ISO-8859-1 (Latin-1).",
            code="unknown_encoding", encoding=str(encoding),
        ) from exc


def detect_format(path: Path, name: str) -> str:
    """Format code of a file from its name, else from its first bytes.

    Returns one of ``geojson``, ``zip``, ``shp``, ``gpkg``, ``kml``, ``kmz``, ``csv``.
    """
    ext = Path(name).suffix.lower()
    if ext in _BY_EXTENSION:
        return _BY_EXTENSION[ext]
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "geojson"
    if stripped[:1] == b"<" and b"kml" in head.lower():
        return "kml"
    raise InputFileError(f"Formato no reconocido para «{name}»: use {_SUPPORTED}.", code="unknown_format", file=name)


# --------------------------------------------------------------------------- opening


def _visible(files: list[Path]) -> list[Path]:
    """Files of an extracted archive, without macOS metadata."""
    return [p for p in files if "__MACOSX" not in p.parts and not p.name.startswith("._")]


def _from_zip(files: list[Path], name: str) -> _Source:
    files = _visible(files)
    shps = sorted(p for p in files if p.suffix.lower() == ".shp")
    if shps:
        return _Source("shp", shps[0], shapefiles=shps, container="zip")
    inner = [p for p in files if p.suffix.lower() in (".geojson", ".json", ".gpkg", ".kml", ".csv")]
    if len(inner) == 1:
        return _Source(_BY_EXTENSION[inner[0].suffix.lower()], inner[0], container="zip", display=inner[0].name)
    listed = ", ".join(sorted(p.name for p in files)[:8]) or "ninguno"
    raise InputFileError(f"El zip «{name}» no contiene un Shapefile (.shp); contiene: {listed}.", code="zip_without_layer", file=name)


def _from_kmz(files: list[Path], name: str) -> _Source:
    kmls = sorted((p for p in _visible(files) if p.suffix.lower() == ".kml"), key=lambda p: (p.name != "doc.kml", len(p.parts)))
    if not kmls:
        raise InputFileError(f"El KMZ «{name}» no contiene un archivo .kml.", code="zip_without_layer", file=name)
    return _Source("kml", kmls[0], container="kmz", display=name)


def _siblings(shp: Path) -> dict[str, Path]:
    """Files beside a ``.shp`` with its stem, by lower-case extension (``.shp``, ``.dbf``...)."""
    return {p.suffix.lower(): p for p in shp.parent.iterdir() if p.stem == shp.stem and p.is_file()}


def _extract(path: Path, dest: Path, name: str) -> list[Path]:
    dest.mkdir()
    try:
        files = zipsafe.extract(path, dest, settings.UNZIP_LIMIT_BYTES)
    except zipsafe.UnsafeZipError as exc:
        raise InputFileError(f"«{name}»: {exc}", code=f"zip_{exc.code}", file=name) from exc
    for member in files:
        _guard.refuse_disguise(member, f"{name}: {member.relative_to(dest)}")
    return files


def _place(src: Path, dst: Path, move: bool) -> Path:
    if move:
        src.replace(dst)
    else:
        shutil.copyfile(src, dst)
    return dst


def _staged(found: _Source, folder: Path, name: str, moved: bool) -> _Source:
    """The files GDAL will read, checked for their format and placed under plain names in ``folder``.

    GDAL never sees a name a person chose (``!``, ``?``, ``:`` or a URL in it
    would change what GDAL opens): Shapefiles become ``capa0.shp``... and other
    files ``fuente.<ext>``. CSV files are read by pandas and stay where they are.
    """
    display = found.display or (found.path.name if found.container else name)
    if found.kind == "csv":
        return _Source("csv", found.path, container=found.container, display=display)
    folder.mkdir()
    if found.kind != "shp":
        _guard.check_magic(found.kind, found.path, display)
        target = _place(found.path, folder / f"fuente.{found.kind}", moved)
        return _Source(found.kind, target, container=found.container, display=display)
    staged, stems = [], []
    for i, shp in enumerate(found.shapefiles):
        for ext, part in sorted(_siblings(shp).items()):
            if ext[1:] in ("shp", "shx", "dbf"):
                _guard.check_magic(ext[1:], part, f"{shp.stem}{ext}")
            if ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                _place(part, folder / f"capa{i}{ext}", moved)
        staged.append(folder / f"capa{i}.shp")
        stems.append(shp.stem)
    names = _shapefile_names(found.shapefiles, folder.parent / "archivo") if len(set(stems)) < len(stems) else stems
    return _Source("shp", staged[0], shapefiles=staged, container=found.container, display=f"{stems[0]}.shp", stems=names)


def _shapefile_names(shapefiles: list[Path], root: Path) -> list[str]:
    """Names of Shapefiles of an archive that share a name: their path in it without ``.shp`` (``2023/Unidades Vecinales``)."""
    out = []
    for shp in shapefiles:
        try:
            out.append(shp.relative_to(root).with_suffix("").as_posix())
        except ValueError:
            out.append(shp.stem)
    return out


@contextlib.contextmanager
def opened(path: str | Path, source_name: str | None = None) -> Iterator[_Source]:
    """Check size, format and content of ``path`` and yield what GDAL or pandas should read.

    Zip and KMZ archives are extracted safely (:func:`geo.zipsafe.extract`) into
    a temporary folder; every input file, and every member of an archive, is
    refused when it holds content that makes GDAL open something else
    (:func:`layers.ingest._guard.refuse_disguise`); the file of the format is
    checked against its format's first bytes and placed under a plain name for
    GDAL (:func:`_staged`). The folder is removed on exit.
    """
    path = Path(path)
    name = source_name or path.name
    check_size(path)
    kind = detect_format(path, name)
    with tempfile.TemporaryDirectory(prefix="sit_import_") as tmp:
        work = Path(tmp)
        if kind in ("zip", "kmz"):
            files = _extract(path, work / "archivo", name)
            found = _from_zip(files, name) if kind == "zip" else _from_kmz(files, name)
            moved = True
        else:
            inputs = sorted(_siblings(path).values()) if kind == "shp" else [path]
            for f in inputs:
                _guard.refuse_disguise(f, name if f == path else f.name)
            found = _Source(kind, path, shapefiles=[path] if kind == "shp" else [])
            moved = False
        yield _staged(found, work / "gdal", name, moved)


# --------------------------------------------------------------------------- layers


_GDAL_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError, UnicodeError)
#: GDAL drivers that may read each format (checked on every dataset GDAL opens).
_DRIVERS = {"gpkg": {"GPKG"}, "geojson": {"GeoJSON"}, "shp": {"ESRI Shapefile"}, "kml": {"LIBKML", "KML"}}


def _ogr_layers(source: _Source) -> list[tuple[str, str | None]]:
    try:
        listed = pyogrio.list_layers(source.gdal)
    except _GDAL_ERRORS as exc:
        raise InputFileError(f"No se pudo abrir «{source.display}»: {_gdal_reason(exc)}.", code="unreadable_file") from exc
    return [(str(n), None if t is None else str(t)) for n, t in listed]


def _check_driver(meta: dict, kind: str, display: str) -> None:
    """Refuse a dataset GDAL opened with a driver other than the format's own."""
    driver = meta.get("driver")
    if kind in _DRIVERS and driver not in _DRIVERS[kind]:
        raise InputFileError(
            f"«{display}» no es el archivo que dice ser: GDAL lo reconoce como {driver}. Por seguridad no se abre.",
            code="disguised_file",
            file=display,
        )


def _info(source: _Source, path: Path | None = None, layer: str | None = None, encoding: str | None = None) -> dict:
    """``pyogrio.read_info`` of a source (or one of its Shapefiles), driver checked."""
    target = _guard.gdal_source(source.kind, path) if path is not None else source.gdal
    meta = pyogrio.read_info(target, layer=layer, encoding=encoding)
    _check_driver(meta, source.kind, source.display)
    return meta


def list_source_layers(source: _Source) -> list[dict[str, object]]:
    """Layers of an opened source: ``capa``, ``geometria`` and ``n`` (features, when cheap)."""
    if source.kind == "shp":
        return [{"capa": stem, **_cheap_info(source, p)} for stem, p in zip(source.stems, source.shapefiles)]
    if source.kind == "geojson":
        return [{"capa": Path(source.display).stem, **_cheap_info(source, source.path)}]
    if source.kind == "csv":
        frame, _info_csv = _read_csv(source, None, source.display)
        types = frame.geometry.geom_type.value_counts()
        return [{"capa": Path(source.display).stem, "geometria": str(types.index[0]) if len(types) else None, "n": len(frame)}]
    out = []
    for name, gtype in _ogr_layers(source):
        if gtype is None and source.kind == "gpkg":
            continue  # attribute tables
        try:
            n = _info(source, layer=name)["features"]
        except _GDAL_ERRORS as exc:
            raise InputFileError(
                f"No se pudo leer la capa «{name}» de «{source.display}»: {_gdal_reason(exc)}.", code="unreadable_file", file=source.display
            ) from exc
        out.append({"capa": name, "geometria": gtype, "n": n})
    return out


def _cheap_info(source: _Source, path: Path) -> dict[str, object]:
    """Geometry type and feature count GDAL reports, ``None`` when it cannot tell."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            meta = pyogrio.read_info(_guard.gdal_source(source.kind, path))
    except _GDAL_ERRORS as exc:
        raise InputFileError(f"No se pudo leer «{source.display}»: {_gdal_reason(exc)}.", code="unreadable_file", file=source.display) from exc
    _check_driver(meta, source.kind, source.display)
    return {"geometria": meta.get("geometry_type"), "n": meta.get("features")}


def _choose(names: list[str], wanted: str | None, what: str, file_name: str) -> str | None:
    """The chosen layer name, or refuse; ``None`` means "all of them" (only for KML)."""
    listed = ", ".join(f"«{n}»" for n in names)
    if wanted is not None:
        if wanted in names:
            return wanted
        raise InputFileError(f"«{file_name}» no tiene la {what} «{wanted}»; tiene: {listed}.", code="layer_not_found", layer=wanted, layers=names)
    if len(names) == 1:
        return names[0]
    if not names:
        raise InputFileError(f"«{file_name}» no tiene capas con geometría.", code="no_geometry", file=file_name)
    return None


# --------------------------------------------------------------------------- readers


def _read_ogr(
    source: _Source, layer: str | None, encoding: str | None = None, path: Path | None = None, display: str | None = None
) -> tuple[gpd.GeoDataFrame, dict]:
    """One layer through pyogrio (of ``path``, one Shapefile of the source); invalid WKB is fixed where possible."""
    display = display or source.display
    target = _guard.gdal_source(source.kind, path) if path is not None else source.gdal
    try:
        meta = _info(source, path, layer, encoding)
        fields = [str(f) for f in meta.get("fields", [])]
        if "geometry" in fields or len(set(fields)) < len(fields):
            frame = _read_raw(target, layer, encoding, fields)
        else:
            frame = pyogrio.read_dataframe(target, layer=layer, encoding=encoding, on_invalid="fix")
    except UnicodeError as exc:
        other = dbf.CP1252 if (encoding or "").replace("-", "").lower() in ("utf8", "") else dbf.UTF8
        raise InputFileError(
            f"El texto de «{display}» no se puede leer como {encoding or 'UTF-8'}.",
            code="bad_encoding", file=display, encoding=encoding or "UTF-8", suggested=other,
        ) from exc
    except (
        pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError, pyogrio.errors.CRSError, shapely.errors.GEOSException,
        ValueError, OSError, RuntimeError, OverflowError,
    ) as exc:
        raise InputFileError(f"No se pudo leer «{display}»: {_gdal_reason(exc)}.", code="unreadable_file", file=display) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or meta.get("geometry_type") is None:
        layer_name = layer or Path(display).stem
        raise InputFileError(f"La capa «{layer_name}» de «{display}» no tiene geometría.", code="no_geometry", file=display)
    return frame, meta


def _read_raw(target: str, layer: str | None, encoding: str | None, fields: list[str]) -> gpd.GeoDataFrame:
    """A layer whose field names repeat, or include ``geometry``, read field by field.

    ``pyogrio.read_dataframe`` builds its frame from a mapping of names, so a
    repeated name keeps only the last field's values and an attribute called
    ``geometry`` gives way to the geometry. Read raw, every field is kept: the
    later ones of a name get ``_2``, ``_3``... and ``geometry`` becomes
    ``geometry_2``; the renames go in ``frame.attrs["renamed"]`` for the report
    (see :func:`_unique_columns`).
    """
    meta, _fids, wkb, values = pyogrio.raw.read(target, layer=layer, encoding=encoding)
    used, names, renamed = {"geometry"}, [], []
    for name in fields:
        new, k = name, 2
        while new in used:
            new, k = f"{name}_{k}", k + 1
        used.add(new)
        names.append(new)
        if new != name:
            renamed.append(f"{name}→{new}")
    geoms = shapely.from_wkb(wkb, on_invalid="fix") if wkb is not None else None
    frame = gpd.GeoDataFrame(dict(zip(names, values)), geometry=geoms, crs=meta.get("crs"))
    frame.attrs["renamed"] = renamed
    return frame


def _declared(meta: dict) -> pyproj.CRS | None:
    text = meta.get("crs")
    if not text:
        return None
    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        return None


def _check_geojson(path: Path, name: str) -> None:
    """Refuse files that are not JSON, or JSON that is not GeoJSON, with a precise message."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"«{name}» no es texto UTF-8, como exige GeoJSON (byte {exc.start}).") from exc
    if not text.strip():
        raise InputFileError(f"El archivo «{name}» está vacío.")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"«{name}» no es JSON válido (línea {exc.lineno}, columna {exc.colno}): el archivo está incompleto o dañado."
        ) from exc
    except RecursionError as exc:
        raise InputFileError(f"«{name}» tiene un anidamiento demasiado profundo para ser GeoJSON.") from exc
    kind = doc.get("type") if isinstance(doc, dict) else None
    if not isinstance(kind, str) or kind not in _GEOJSON_TYPES:
        raise InputFileError(
            f"«{name}» es JSON pero no GeoJSON: falta un «type» de GeoJSON (FeatureCollection, Feature o una geometría)."
        )
    if kind == "FeatureCollection" and not isinstance(doc.get("features"), list):
        raise InputFileError(f"«{name}» es un FeatureCollection sin la lista «features».")
    _guard.check_geojson_crs(doc, name)


def _read_geojson(source: _Source, name: str) -> tuple[gpd.GeoDataFrame, ReadInfo]:
    _check_geojson(source.path, name)
    frame, meta = _read_ogr(source, None)
    own = meta.get("layer_name")
    layer = own if own and own != source.path.stem else Path(source.display).stem
    info = ReadInfo("GeoJSON", layer, _declared(meta), "declarado en el archivo")
    return frame, info


def _split_layer(stems: list[str]) -> str | None:
    """Common name of Shapefiles that are one layer split by geometry family, as SIT exports them."""
    matches = [_SPLIT.fullmatch(s) for s in stems]
    if len(stems) < 2 or not all(matches):
        return None
    prefixes = {m.group(1) for m in matches}
    return prefixes.pop() if len(prefixes) == 1 else None


def _read_shapefile(source: _Source, layer: str | None, encoding: str | None, name: str) -> tuple[gpd.GeoDataFrame, ReadInfo]:
    stems = source.stems
    joined = _split_layer(stems) if layer is None else None
    if joined is not None:
        parts = [_read_one_shapefile(source, shp, stem, encoding) for shp, stem in zip(source.shapefiles, stems)]
        frames = [f for f, _ in parts]
        crs = next((f.crs for f in frames if f.crs is not None), None)
        frame = gpd.GeoDataFrame(pd.concat([f.set_crs(crs, allow_override=True) if crs else f for f in frames], ignore_index=True), geometry="geometry", crs=crs)
        info = parts[0][1]
        info.source_layer = joined
        info.declared_crs = crs
        info.notes.append(f"{len(stems)} Shapefiles de una misma capa leídos juntos ({', '.join(stems)})")
        return frame, info
    chosen = _choose(stems, layer, "capa", name)
    if chosen is None:
        raise InputFileError(
            f"«{name}» contiene varios Shapefiles: {', '.join(f'«{s}»' for s in stems)}; elija uno.",
            code="several_layers", file=name, layers=list(stems),
        )
    i = stems.index(chosen)
    return _read_one_shapefile(source, source.shapefiles[i], chosen, encoding)


def _read_one_shapefile(source: _Source, shp: Path, stem: str, encoding: str | None) -> tuple[gpd.GeoDataFrame, ReadInfo]:
    siblings = _siblings(shp)
    for ext in (".shx", ".dbf"):
        if ext not in siblings:
            raise InputFileError(f"Al Shapefile «{stem}.shp» le falta el archivo {ext}.", code="shapefile_incomplete", missing=ext)
    encoding, notes = _shapefile_encoding(siblings, encoding, f"{stem}.shp")
    frame, meta = _read_ogr(source, None, encoding, path=shp, display=f"{stem}.shp")
    declared = _declared(meta)
    if declared is not None:
        crs_note = "declarado en el .prj"
    elif ".prj" in siblings:
        crs_note = "el .prj no define un sistema reconocible"
    else:
        crs_note = "el Shapefile no trae .prj"
    info = ReadInfo("Shapefile", stem, declared, crs_note, encoding or meta.get("encoding"), notes=notes)
    return frame, info


def _shapefile_encoding(siblings: dict[str, Path], encoding: str | None, display: str) -> tuple[str | None, list[str]]:
    """Encoding to read a Shapefile's text with, and the report's note on it (see :func:`geo.dbf.choose_encoding`).

    An encoding the person gave must decode the text, else the file is refused
    (code ``"bad_encoding"``) suggesting the one :func:`geo.dbf.detect` finds.
    """
    if encoding is not None:
        values = dbf.non_ascii_text(siblings[".dbf"])
        # ISO-8859-1 is read as its superset Windows-1252, unless bytes Windows-1252 leaves undefined are there
        for candidate in dict.fromkeys([dbf.codec(encoding) or encoding, encoding]):
            if dbf.fits(values, candidate):
                return candidate, [f"codificación indicada al importar: {candidate}"]
        works = dbf.detect(values) or dbf.UTF8
        raise InputFileError(
            f"El texto de «{display}» no se puede leer como {dbf.codec(encoding) or encoding}; sí se puede como {works}.",
            code="bad_encoding", file=display, encoding=encoding, suggested=works,
        )
    cpg = siblings[".cpg"].read_bytes()[:64].decode("ascii", "replace") if ".cpg" in siblings else None
    choice = dbf.choose_encoding(siblings[".dbf"], cpg)
    return choice.encoding, [choice.note]


def _read_gpkg(source: _Source, layer: str | None, name: str) -> tuple[gpd.GeoDataFrame, ReadInfo]:
    spatial = [row["capa"] for row in list_source_layers(source)]
    chosen = _choose(spatial, layer, "capa", name)
    if chosen is None:
        listed = ", ".join(f"«{s}»" for s in spatial)
        raise InputFileError(
            f"«{name}» tiene varias capas ({listed}); elija una.", code="several_layers", file=name, layers=list(spatial)
        )
    frame, meta = _read_ogr(source, chosen)
    return frame, ReadInfo("GeoPackage", chosen, _declared(meta), "declarado en el archivo")


def _read_kml(source: _Source, layer: str | None, name: str) -> tuple[gpd.GeoDataFrame, ReadInfo]:
    listed = list_source_layers(source)
    names = [row["capa"] for row in listed]
    chosen = _choose(names, layer, "carpeta", name)
    parts = []
    for layer_name in [chosen] if chosen is not None else names:
        frame, _meta = _read_ogr(source, layer_name)
        if chosen is None:
            frame["carpeta"] = layer_name
        parts.append(frame)
    parts = [p for p in parts if len(p)] or parts[:1]
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=WGS84)
    boiler = [c for c in frame.columns if c in _KML_BOILERPLATE]
    empty = [c for c in frame.columns if c != "geometry" and frame[c].isna().all()]
    frame = frame.drop(columns=sorted(set(boiler) | set(empty)))
    info_empty = [c for c in empty if c not in boiler]
    if "id2" in frame.columns and "id" in frame.columns:
        # LIBKML names the placemark id "id" and renames a data field "id" to "id2".
        frame = frame.drop(columns="id").rename(columns={"id2": "id"})
    label = "KMZ" if source.container == "kmz" else "KML"
    info = ReadInfo(label, chosen or ", ".join(names), pyproj.CRS(WGS84), "KML siempre usa WGS 84")
    if chosen is None and len(names) > 1:
        info.notes.append(f"{len(names)} carpetas leídas juntas (campo «carpeta»)")
    if info_empty:
        info.notes.append("campos vacíos en todos los elementos, descartados: " + ", ".join(info_empty))
    return frame, info


def fold_name(name: object) -> str:
    """Lower case version of a column name without accents (``"Latitud "`` -> ``"latitud"``)."""
    return fold(name, lower=True).strip()


def _decode_text(raw: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        wider = dbf.codec(encoding) or encoding  # ISO-8859-1 read as its superset Windows-1252
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode(wider), wider
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            works = _decode_text(raw, None)[1]
            raise InputFileError(
                f"El texto no se puede leer como {encoding} (byte {exc.start}); sí se puede como {works}.",
                code="bad_encoding", encoding=encoding, suggested=works,
            ) from exc
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode(dbf.CP1252), dbf.CP1252  # Excel's "ANSI" in Chile: curly quotes and dashes in 0x80-0x9F
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1"), "ISO-8859-1"


def _numbers(values: pd.Series, decimal_comma: bool) -> np.ndarray:
    text = values.fillna("").astype(str).str.strip()
    if decimal_comma:
        grouped = text.str.fullmatch(_GROUPED)
        text = text.where(~grouped, text.str.replace(".", "", regex=False))
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=float)


def _csv_table(source: _Source, encoding: str | None, name: str) -> tuple[pd.DataFrame, str, str]:
    """The CSV as text columns, its separator (``,`` ``;`` or tab, from the header) and the encoding used."""
    import csv

    text, used = _decode_text(source.path.read_bytes(), encoding)
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    sep = max([",", ";", "\t"], key=lambda s: (header.count(s), s == ","))
    try:
        table = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        raise InputFileError(f"«{name}» no es un CSV legible: {_one_line(exc)}.", code="unreadable_file", file=name) from exc
    table.columns = [str(c).strip() for c in table.columns]
    return table, sep, used


def _ewkt_srid(values: pd.Series, column: str, name: str) -> tuple[pd.Series, int | None]:
    """WKT without EWKT's ``SRID=n;`` prefix, and that SRID; a column of several SRIDs is refused."""
    srids = values.str.extract(_EWKT, expand=False).dropna().astype(int).unique()
    if len(srids) > 1:
        shown = ", ".join(str(s) for s in sorted(srids)[:5])
        raise InputFileError(
            f"La columna «{column}» de «{name}» mezcla geometrías de varios SRID ({shown}); una capa tiene un solo sistema de coordenadas.",
            code="mixed_srid", file=name, srids=[int(s) for s in srids],
        )
    return values.str.replace(_EWKT, "", regex=True), (int(srids[0]) if len(srids) else None)


def _csv_wkt(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Geometries of a WKT column and the mask of non-blank values that could not be parsed."""
    text = values.fillna("").str.strip()
    given = (text != "").to_numpy(dtype=bool)
    raw = text.to_numpy(dtype=object, na_value=None)
    raw[~given] = None  # blank cells: no geometry (an Arrow-backed column would give NaN, which GEOS refuses)
    geoms = shapely.from_wkt(raw, on_invalid="ignore")
    return geoms, given & shapely.is_missing(geoms)


def _csv_points(xs: pd.Series, ys: pd.Series, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Points of two coordinate columns and the mask of non-blank rows that are not numbers."""
    x, y = _numbers(xs, decimal_comma), _numbers(ys, decimal_comma)
    ok = np.isfinite(x) & np.isfinite(y)
    blank = ((xs.str.strip() == "") & (ys.str.strip() == "")).to_numpy()
    geoms = np.full(len(x), None, dtype=object)
    geoms[ok] = shapely.points(x[ok], y[ok])
    return geoms, ~ok & ~blank


def _read_csv(source: _Source, encoding: str | None, name: str) -> tuple[gpd.GeoDataFrame, ReadInfo]:
    table, sep, used = _csv_table(source, encoding, name)
    folded = {fold_name(c): c for c in table.columns}
    info = ReadInfo("CSV", source.path.stem, None, "", used)
    wkt_col = next((folded[n] for n in _WKT_NAMES if n in folded), None)
    pair = next(((folded[a], folded[b]) for a, b in _LONLAT_NAMES if a in folded and b in folded), None)
    xy = next(((folded[a], folded[b]) for a, b in _XY_NAMES if a in folded and b in folded), None)
    if wkt_col is not None:
        wkt, srid = _ewkt_srid(table[wkt_col], wkt_col, name)
        geoms, unreadable = _csv_wkt(wkt)
        reason, used_cols = "WKT ilegible", [wkt_col]
        info.crs_note = f"columna WKT «{wkt_col}»"
        if srid is not None:
            info.declared_crs = parse_user_crs(f"EPSG:{srid}")
            info.crs_note = f"SRID={srid} del EWKT de la columna «{wkt_col}»"
            info.crs_binding = True
        elif pair is not None:
            # As SIT writes CSV: WKT plus lon/lat of a point on it, both in WGS 84 degrees.
            info.declared_crs = pyproj.CRS(WGS84)
            info.crs_note = f"columna WKT «{wkt_col}» con columnas «{pair[0]}»/«{pair[1]}» en grados WGS 84"
            used_cols += list(pair)
    elif pair is not None or xy is not None:
        xcol, ycol = pair or xy
        geoms, unreadable = _csv_points(table[xcol], table[ycol], decimal_comma=sep != ",")
        reason, used_cols = "coordenadas no numéricas", [xcol, ycol]
        info.crs_note = f"columnas «{xcol}»/«{ycol}»" + (" en grados WGS 84" if pair is not None else "")
        if pair is not None:
            info.declared_crs = pyproj.CRS(WGS84)
    else:
        cols = ", ".join(table.columns[:12])
        raise InputFileError(
            f"«{name}» no tiene columnas de geometría: use lat/lon, latitud/longitud, x/y (con su SRC) o wkt. Columnas: {cols}.",
            code="no_geometry_columns", file=name,
        )
    if unreadable.any():
        info.dropped[reason] = int(unreadable.sum())
    keep = ~unreadable
    attrs = table.drop(columns=used_cols)[keep].reset_index(drop=True)
    frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms[keep], index=attrs.index), crs=info.declared_crs)
    info.notes.append(f"separador «{'tabulador' if sep == chr(9) else sep}», codificación {used}")
    return frame, info


# --------------------------------------------------------------------------- public (internal API)


def read(
    path: str | Path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    source_name: str | None = None,
) -> tuple[gpd.GeoDataFrame, ReadInfo]:
    """Read the features of a file in its own CRS (see the module docstring).

    Parameters
    ----------
    path : path-like
        File on disk.
    layer : str, optional
        Layer, Shapefile or KML folder to read inside the file.
    encoding : str, optional
        Text encoding of Shapefile attributes or CSV files.
    source_name : str, optional
        Name the file had for the person (uploads are saved under temporary
        names); used for the format and in messages.

    Returns
    -------
    (geopandas.GeoDataFrame, ReadInfo)
        Features with the CRS the file declares (``None`` when it declares none).
    """
    name = source_name or Path(path).name
    encoding = check_encoding(encoding)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with opened(path, name) as source:
            if source.kind == "geojson":
                frame, info = _read_geojson(source, name)
            elif source.kind == "shp":
                frame, info = _read_shapefile(source, layer, encoding, name)
            elif source.kind == "gpkg":
                frame, info = _read_gpkg(source, layer, name)
            elif source.kind == "kml":
                frame, info = _read_kml(source, layer, name)
            else:
                frame, info = _read_csv(source, encoding, name)
    _gdal_warnings(caught, info)
    frame = _unique_columns(frame, info)
    frame = _known_datum(frame, info)
    frame = _without_c1(frame, info)
    if source.container == "zip" and info.format != "Shapefile":
        info.format = f"{info.format} (en zip)"
    return frame, info


def _unique_columns(frame: gpd.GeoDataFrame, info: ReadInfo) -> gpd.GeoDataFrame:
    """``frame`` with every attribute name distinct and none equal to the geometry column's.

    A DBF may name two fields alike (tools that cut names to 10 characters) and a
    GeoJSON may have a property called ``geometry``: GDAL keeps both, under one
    name. The later ones get ``_2``, ``_3``...; the report lists them.
    """
    cols = [str(c) for c in frame.columns]
    geometry = frame.geometry.name
    gpos = len(cols) - 1 - cols[::-1].index(geometry)
    earlier = list(frame.attrs.get("renamed", []))
    if len(set(cols)) == len(cols):
        if earlier:
            info.notes.append("campos de nombre repetido, conservados con otro nombre: " + ", ".join(earlier))
        return frame
    used = {geometry}
    names, renamed = [], []
    for i, col in enumerate(cols):
        if i == gpos:
            names.append(col)
            continue
        name, k = col, 2
        while name in used or (name != col and name in cols):
            name, k = f"{col}_{k}", k + 1
        used.add(name)
        names.append(name)
        if name != col:
            renamed.append(f"{col}→{name}")
    data = {names[i]: frame.iloc[:, i] for i in range(len(cols)) if i != gpos}
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(frame.iloc[:, gpos], index=frame.index), crs=frame.crs)
    out = out.rename_geometry(geometry) if out.geometry.name != geometry else out
    info.notes.append("campos de nombre repetido, conservados con otro nombre: " + ", ".join(earlier + renamed))
    return out


#: C1 control characters (U+0080-U+009F): what Windows-1252 punctuation becomes when read as ISO-8859-1.
_C1 = "[\u0080-\u009f]"


def _without_c1(frame: gpd.GeoDataFrame, info: ReadInfo) -> gpd.GeoDataFrame:
    """Text values with C1 control characters replaced by U+FFFD (never stored; counted in the report).

    The encoding rules keep them out of text read right; they remain only for
    bytes no declared or detected encoding defines.
    """
    found = 0
    for col in frame.columns:
        if col == frame.geometry.name or not (frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col])):
            continue
        text = frame[col].map(lambda v: v if isinstance(v, str) else None)
        hit = text.str.contains(_C1, regex=True, na=False)
        if hit.any():
            found += int(hit.sum())
            frame[col] = frame[col].where(~hit, text.str.replace(_C1, "\ufffd", regex=True))
    if found:
        info.notes.append(f"{found} valores con caracteres de control C1 (bytes sin carácter en la codificación), reemplazados por «\ufffd»")
    return frame


def _known_datum(frame: gpd.GeoDataFrame, info: ReadInfo) -> gpd.GeoDataFrame:
    """Replace a declared datum PROJ does not know by the one its name says (:mod:`layers.ingest._datum`).

    A datum that cannot be recognised is kept in :attr:`ReadInfo.unknown_datum`;
    the import then needs a CRS given by the person.
    """
    crs = info.declared_crs
    name = _datum.unknown_datum(crs) if crs is not None else None
    if name is None:
        return frame
    found = _datum.recognise(crs)
    if found is None:
        info.unknown_datum = name
        return frame
    info.declared_crs = found[0]
    info.crs_note = f"{info.crs_note}; su datum «{name}» no trae código EPSG ni TOWGS84 y se reconoció por su nombre como {found[1]}"
    return frame.set_crs(found[0], allow_override=True)


def _gdal_warnings(caught: list[warnings.WarningMessage], info: ReadInfo) -> None:
    """Log the warnings GDAL and pyogrio gave while reading (seen with ``-v``) and count them in the report."""
    messages = sorted({str(w.message) for w in caught})
    for message in messages:
        log.info("GDAL/pyogrio: %s", message)
    if messages:
        info.notes.append(f"GDAL dio {len(messages)} aviso(s) al leer el archivo (quedan en el registro detallado)")


def inspect_layers(path: str | Path, source_name: str | None = None) -> list[dict[str, object]]:
    """Layers inside a file: ``capa``, ``geometria`` and ``n`` for each."""
    with opened(path, source_name) as source:
        return list_source_layers(source)


def label(crs: pyproj.CRS | None) -> str:
    """CRS label for reports (``EPSG:24879``), ``"sin SRC"`` when missing."""
    return crs_label(crs) if crs is not None else "sin SRC"


def parse_user_crs(value: str | int | None) -> pyproj.CRS | None:
    """The CRS given by a person, or :class:`InputFileError` for unknown codes."""
    if value is None or str(value).strip() == "":
        return None
    try:
        return parse_crs(value)
    except ValueError as exc:
        raise InputFileError(f"{exc} Use un código EPSG, p. ej. EPSG:32719 o EPSG:24879.", code="crs_unknown", crs=str(value)) from exc
