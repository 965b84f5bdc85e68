"""Writing layers to the exchange formats planners use.

One function per format, all reached through :func:`export_layer`, which the
command line and the app's downloads share. Every format is written in WGS 84
(EPSG:4326) through GDAL (pyogrio), except CSV which pandas writes and GDAL
reads back.

``geojson``
    RFC 7946 (lon/lat, 6 decimals, counter-clockwise exterior rings), see
    :func:`geo.io.write_geojson`. Rows without geometry are features with
    ``"geometry": null``.
``gpkg``
    GeoPackage, field names unchanged. A layer whose rows all have a geometry of
    one family (points, lines or areas) is one layer named after the layer; a
    layer that mixes families or has rows without geometry is split as the map's
    selection download is (:func:`layers.exchange.package.geometry_parts`): one
    layer per family (``<capa>_puntos``, ``<capa>_lineas``, ``<capa>_poligonos``)
    and an attribute table ``<capa>_sin_ubicacion`` for the rows without
    geometry, so that QGIS never opens a layer of unknown geometry type. A layer
    with no geometry in any row is one attribute table named after the layer.
``shp``
    A ``.zip`` holding ``.shp``, ``.shx``, ``.dbf``, ``.prj`` and a ``.cpg``
    that says ``UTF-8`` (layer option ``ENCODING=UTF-8``); or, when the
    destination ends in ``.shp``, those files themselves beside each other,
    named after the destination (a layer of one geometry family). The format imposes:

    - field names of at most 10 characters, made by :func:`shapefile_field_names`
      (the pinned table :data:`SHAPEFILE_FIELDS` for the fields of the shipped
      layers, a generic rule for the others; see ``docs/formatos.md``);
    - one geometry family per file: a layer with one family (plus rows without
      geometry) is one Shapefile ``<capa>.shp`` whose rows without geometry have
      null shapes; a layer that mixes families is split into
      ``<capa>_puntos.shp``, ``<capa>_lineas.shp``, ``<capa>_poligonos.shp`` and,
      for rows without geometry, ``<capa>_sin_geometria.shp`` (null shapes);
      a geometry collection goes with the family most of its parts belong to
      (ties: the higher dimension), keeping only those parts;
    - text of at most 254 bytes per value: longer values are cut at a
      character boundary;
    - no boolean type: ``True``/``False`` are written as text.
``csv``
    UTF-8 with BOM (``utf-8-sig``) so that Excel opens accents right, comma
    separated, one row per feature: the attributes, then ``lon`` and ``lat`` of
    a point on the feature (:func:`shapely.point_on_surface`, WGS 84 degrees,
    6 decimals) and ``wkt``, the geometry as WKT (6 decimals). Rows without
    geometry leave the three empty. GDAL reads it back with its CSV driver (the
    ``wkt`` column is recognised as the geometry). Text that a spreadsheet would
    run as a formula (a cell or header starting with ``=``, ``+``, ``-``, ``@``,
    tab or carriage return) gets a leading ``'`` (OWASP's rule against CSV
    injection, :func:`neutralise_formula`); numbers are written as numbers.
    A table without geometry (``estrategias``, ``objetivos``, ``planes``) is
    written with its attributes only (no ``lon``, ``lat``, ``wkt``).
``kml``
    KML 2.2 through GDAL's KML driver: ``nombre`` (else ``slug``, else ``id``)
    becomes each placemark's ``<name>``; the other fields are ``ExtendedData``.

Tables without geometry (a :class:`pandas.DataFrame`, or a frame with no
geometry column) are written as CSV and GeoPackage (an attribute table);
GeoJSON, Shapefile and KML are refused with :class:`InvalidFilterError`
(code ``"format_needs_geometry"``), since those formats describe features.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo import io as gio
from geo import repair
from geo.crs import to_wgs84
from layers._errors import InvalidFilterError, SitError
from layers.exchange import package
from layers.text import fold, guess_errno, os_error_reason


class OutputFileError(SitError):
    """An output file that cannot be written (data: ``path``, ``reason``)."""

    default_code = "cannot_write"

#: Decimal places of coordinates in CSV (1e-6 degree is about 0.1 m).
CSV_DECIMALS = 6
#: Longest text value a DBF field holds, in bytes.
DBF_TEXT_BYTES = 254
#: Longest field name a DBF holds.
DBF_NAME_CHARS = 10

#: Pinned Shapefile names of the long fields of the shipped layers (stable across versions).
SHAPEFILE_FIELDS: dict[str, str] = {
    "nombre_original": "nombre_ori",
    "estrategia_nombre": "estrat_nom",
    "plan_nombre": "plan_nom",
    "padre_nombre": "padre_nom",
    "territorios": "territorio",
    "fuente_geometria": "fuente_geo",
    "precision_m": "precision",
    "descripcion": "descripcio",
    "poblacion_0_5": "pob_0_5",
    "poblacion_6_14": "pob_6_14",
    "poblacion_15_64": "pob_15_64",
    "poblacion_65_mas": "pob_65_mas",
}
#: File suffix of each family when a layer is split into several Shapefiles.
_FAMILY_SUFFIX = {"point": "puntos", "line": "lineas", "polygon": "poligonos", None: "sin_geometria"}


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", fold(text).lower()).strip("_") or "campo"


def _short(name: str) -> str:
    """Generic rule: up to 10 characters, first word cut to 6 when it has more words."""
    if len(name) <= DBF_NAME_CHARS:
        return name
    parts = [p for p in name.split("_") if p]
    if len(parts) < 2:
        return name[:DBF_NAME_CHARS]
    head = parts[0][:6]
    tail = "_".join(parts[1:])[: DBF_NAME_CHARS - len(head) - 1]
    return f"{head}_{tail}".rstrip("_")


def shapefile_field_names(columns: Iterable[str]) -> dict[str, str]:
    """Unique field names of at most 10 characters for a Shapefile, deterministic.

    Rules, in order, for each column (in the given order):

    1. a field in :data:`SHAPEFILE_FIELDS` takes its pinned name
       (``estrategia_nombre`` -> ``estrat_nom``, ``precision_m`` -> ``precision``);
    2. otherwise the name is folded to lower-case ASCII (``año`` -> ``ano``,
       other characters -> ``_``) and, when longer than 10 characters, cut: a
       name of several ``_``-separated words keeps its first word cut to 6
       characters, an ``_``, and the rest cut to fill 10
       (``codigo_unidad_vecinal`` -> ``codigo_uni``); a single word is cut to
       10 (``observaciones`` -> ``observacio``);
    3. a name already taken (compared in lower case) gets a suffix ``_2``,
       ``_3``... replacing its last characters (``codigo_u_2``).

    Parameters
    ----------
    columns : iterable of str
        Attribute field names (without the geometry column).

    Returns
    -------
    dict
        Original name -> Shapefile name.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        base = SHAPEFILE_FIELDS.get(col) or _short(_ascii(col))
        name, k = base, 2
        while name.lower() in used:
            suffix = f"_{k}"
            name = base[: DBF_NAME_CHARS - len(suffix)] + suffix
            k += 1
        used.add(name.lower())
        out[col] = name
    return out


def _cut_utf8(value: object, limit: int = DBF_TEXT_BYTES) -> object:
    """``value`` cut to ``limit`` UTF-8 bytes at a character boundary (text only)."""
    if not isinstance(value, str):
        return value
    raw = value.encode("utf-8")
    if len(raw) <= limit:
        return value
    return raw[:limit].decode("utf-8", errors="ignore")


def _attributes_for_dbf(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        series = out[col]
        if pd.api.types.is_bool_dtype(series):
            out[col] = series.map({True: "True", False: "False"}).astype(object)
        elif pd.api.types.is_string_dtype(series) or series.dtype == object:
            out[col] = series.map(_cut_utf8).astype(object)
    return out


def _family_of(geoms: np.ndarray) -> np.ndarray:
    """Family of each geometry; a collection counts for the family most of its parts belong to."""
    fams = repair.families(geoms)
    for i in np.flatnonzero(fams == "collection"):
        fams[i] = repair.dominant_family(shapely.get_parts(geoms[i]))
    return fams


def _geometry_type(geoms: np.ndarray, family: str | None) -> str:
    if family is None:
        return "Point"
    if family == "point":
        return "MultiPoint" if (shapely.get_type_id(geoms) == 4).any() else "Point"
    return {"line": "LineString", "polygon": "Polygon"}[family]


def shapefile_parts(gdf: gpd.GeoDataFrame, layer: str) -> list[tuple[str, gpd.GeoDataFrame]]:
    """How a layer is split into Shapefiles: ``(file stem, rows)`` pairs (see the module docstring)."""
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    fams = np.full(len(geoms), None, dtype=object)
    fams[present] = _family_of(geoms[present])
    kinds = [f for f in repair.FAMILIES[::-1] if (fams == f).any()]
    if len(kinds) <= 1:
        return [(layer, gdf)]
    parts = [(f"{layer}_{_FAMILY_SUFFIX[f]}", gdf[fams == f]) for f in kinds]
    if (~present).any():
        parts.append((f"{layer}_{_FAMILY_SUFFIX[None]}", gdf[~present]))
    return parts


def _shapefile_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` in WGS 84 with Shapefile field names and values (see the module docstring)."""
    out = to_wgs84(gdf)
    mapping = shapefile_field_names([c for c in out.columns if c != out.geometry.name])
    return _attributes_for_dbf(out).rename(columns=mapping)


def _write_part(part: gpd.GeoDataFrame, target: Path, name: str) -> None:
    """One Shapefile (``.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg``) of rows of one family at ``target``."""
    geoms = np.asarray(part.geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    fams = _family_of(geoms[present]) if present.any() else np.array([], dtype=object)
    family = fams[0] if len(fams) else None
    if family is not None:
        geoms = geoms.copy()
        geoms[present] = [repair.keep_family(g, family) for g in geoms[present]]
        geoms[~present] = None
        part = part.set_geometry(gpd.GeoSeries(geoms, index=part.index, crs=part.crs))
    pyogrio.write_dataframe(
        part,
        target,
        driver="ESRI Shapefile",
        layer=name,
        geometry_type=_geometry_type(geoms[present], family),
        promote_to_multi=family == "point" and (shapely.get_type_id(geoms[present]) == 4).any(),
        layer_options={"ENCODING": "UTF-8"},
    )


def _shapefile(gdf: gpd.GeoDataFrame, dest: Path, layer: str) -> None:
    out = _shapefile_ready(gdf)
    stem = _ascii(layer)
    with tempfile.TemporaryDirectory(prefix="sit_shp_") as tmp:
        written: list[Path] = []
        for name, part in shapefile_parts(out, stem):
            _write_part(part, Path(tmp) / f"{name}.shp", name)
            written += sorted(p for p in Path(tmp).iterdir() if p.stem == name)
        if dest.exists():
            dest.unlink()
        with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, path.name)


#: Files of one Shapefile that :func:`_shapefile_files` writes beside each other.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _shapefile_files(gdf: gpd.GeoDataFrame, dest: Path, layer: str) -> Path:
    """A plain Shapefile at ``dest`` (``x.shp``) with its ``.shx``, ``.dbf``, ``.prj`` and ``.cpg`` beside it.

    Written in a hidden folder beside ``dest``, then each file renamed into
    place. A layer that mixes geometry families cannot be one Shapefile and is
    refused (:class:`OutputFileError`, code ``"mixed_geometry"``).
    """
    out = _shapefile_ready(gdf)
    parts = shapefile_parts(out, "capa")
    if len(parts) > 1:
        raise OutputFileError(
            f"«{layer}» mezcla tipos de geometría y un Shapefile guarda uno solo: se exporta como .zip, con un Shapefile por tipo.",
            code="mixed_geometry", path=str(dest), reason="mixed",
        )
    with tempfile.TemporaryDirectory(prefix=f".{dest.stem[:20]}.", dir=dest.parent) as tmp:
        _write_part(parts[0][1], Path(tmp) / "capa.shp", "capa")
        for ext in SHAPEFILE_PARTS:
            written = Path(tmp) / f"capa{ext}"
            if written.exists():
                os.replace(written, dest.with_suffix(ext))
    return dest


def gpkg_layers(gdf: gpd.GeoDataFrame | pd.DataFrame, layer: str) -> list[tuple[str, gpd.GeoDataFrame | pd.DataFrame]]:
    """The ``(layer name, frame)`` pairs a GeoPackage export of ``gdf`` holds (see the module docstring).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or pandas.DataFrame
        Layer in any CRS, or a table without geometry.
    layer : str
        Name of the layer, stem of the split layers' names.

    Returns
    -------
    list of (str, frame)
        ``[(layer, gdf)]`` for a layer of one geometry family with a geometry in
        every row; ``[(layer, table)]`` (a :class:`pandas.DataFrame`) when no row
        has a geometry; otherwise :func:`layers.exchange.package.geometry_parts`.
    """
    if not has_geometry(gdf):
        return [(layer, pd.DataFrame(gdf))]
    counts = package.geometry_counts(gdf)
    if not counts or set(counts) == {None}:
        return [(layer, pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))]
    parts = package.geometry_parts(gdf, layer)
    if len(counts) == 1:  # one family, no row without geometry: the layer keeps its name
        return [(layer, parts[0][1])]
    return parts


def _gpkg(gdf: gpd.GeoDataFrame, dest: Path, layer: str) -> None:
    if dest.exists():
        dest.unlink()
    package.write_gpkg(gpkg_layers(gdf, layer), dest)


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """A text cell that no spreadsheet runs as a formula: ``"=HYPERLINK(...)"`` -> ``"'=HYPERLINK(...)"``.

    Only text starting with one of :data:`FORMULA_PREFIXES` changes (a ``'``
    is put before it); numbers, missing values and other text are returned as
    they are, so ``-70.5`` stays a number while the text ``"-70.5"`` is quoted.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _neutralise_text(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with :func:`neutralise_formula` applied to its headers and text cells."""
    out = table.rename(columns={c: neutralise_formula(c) for c in table.columns})
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            out[col] = series.map(neutralise_formula)
    return out


def has_geometry(frame: pd.DataFrame) -> bool:
    """True when ``frame`` is a GeoDataFrame with an active geometry column."""
    return isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name in frame.columns


def csv_frame(gdf: gpd.GeoDataFrame | pd.DataFrame) -> pd.DataFrame:
    """The table written as CSV: attributes, ``lon``, ``lat`` and ``wkt`` (WGS 84), formulas neutralised.

    A table without geometry gives its attributes only. Text cells and headers
    pass through :func:`neutralise_formula`.
    """
    if not has_geometry(gdf):
        return _neutralise_text(pd.DataFrame(gdf))
    out = to_wgs84(gdf)
    geoms = np.asarray(out.geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    table = pd.DataFrame(out.drop(columns=out.geometry.name))
    lon = np.full(len(geoms), np.nan)
    lat = np.full(len(geoms), np.nan)
    wkt = np.full(len(geoms), "", dtype=object)
    if present.any():
        points = shapely.point_on_surface(geoms[present])
        lon[present] = np.round(shapely.get_x(points), CSV_DECIMALS)
        lat[present] = np.round(shapely.get_y(points), CSV_DECIMALS)
        wkt[present] = shapely.to_wkt(geoms[present], rounding_precision=CSV_DECIMALS, trim=True)
    table = _neutralise_text(table)
    table["lon"] = lon
    table["lat"] = lat
    table["wkt"] = wkt
    return table


def _csv(gdf: gpd.GeoDataFrame, dest: Path, layer: str) -> None:
    csv_frame(gdf).to_csv(dest, index=False, encoding="utf-8-sig", float_format=None, lineterminator="\r\n")


def _kml_name_field(columns: Iterable[str]) -> str | None:
    cols = list(columns)
    return next((c for c in ("nombre", "slug", "id") if c in cols), None)


def _kml(gdf: gpd.GeoDataFrame, dest: Path, layer: str) -> None:
    out = to_wgs84(gdf)
    if dest.exists():
        dest.unlink()
    name_field = _kml_name_field(c for c in out.columns if c != out.geometry.name)
    options = {"NameField": name_field} if name_field else {}
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "True", False: "False"}).astype(object)
    kwargs = {"geometry_type": "Unknown"} if out.geometry.isna().all() else {}
    pyogrio.write_dataframe(out, dest, driver="KML", layer=layer, dataset_options=options, **kwargs)


def _geojson(gdf: gpd.GeoDataFrame, dest: Path, layer: str) -> None:
    gio.write_geojson(gdf, dest, layer=layer)


#: Format name -> (writer, file extension, MIME type).
FORMATS: dict[str, tuple[Callable[[gpd.GeoDataFrame, Path, str], None], str, str]] = {
    "geojson": (_geojson, ".geojson", "application/geo+json"),
    "gpkg": (_gpkg, ".gpkg", "application/geopackage+sqlite3"),
    "shp": (_shapefile, ".zip", "application/zip"),
    "csv": (_csv, ".csv", "text/csv"),
    "kml": (_kml, ".kml", "application/vnd.google-earth.kml+xml"),
}


#: Formats that also hold tables without geometry.
TABLE_FORMATS = ("csv", "gpkg")


def check_format(fmt: str) -> str:
    """Normalise a format name; :class:`InvalidFilterError` when unknown."""
    name = str(fmt).strip().lower()
    if name not in FORMATS:
        raise InvalidFilterError(f"Formato desconocido: «{fmt}». Use uno de: {', '.join(FORMATS)}.")
    return name


#: Fields that hold counts of persons (Censo 2017): written as integers, empty where unknown.
COUNT_FIELDS = ("poblacion", "poblacion_0_5", "poblacion_6_14", "poblacion_15_64", "poblacion_65_mas")


def whole_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its :data:`COUNT_FIELDS` as nullable integers.

    A store reads an integer field that has empty values back as float64 (``3481.0``);
    counts of persons are written as integers. A column with a fractional value is left
    as it is.
    """
    out = frame
    for name in COUNT_FIELDS:
        if name in frame.columns and frame[name].dtype.kind == "f":
            values = frame[name]
            if np.allclose(values.dropna(), values.dropna().round()):
                out = out.copy() if out is frame else out
                out[name] = values.round().astype("Int64")
    return out


def export_layer(gdf: gpd.GeoDataFrame, dest: str | os.PathLike, fmt: str = "geojson", layer: str = "capa") -> Path:
    """Write ``gdf`` to ``dest`` in format ``fmt`` (overwriting it).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or pandas.DataFrame
        Layer in any CRS (written in EPSG:4326), or a table without geometry
        (written only as :data:`TABLE_FORMATS`).
    dest : path-like
        Output file. For ``shp``: a path ending in ``.shp`` gives a plain
        Shapefile (``.shx``, ``.dbf``, ``.prj``, ``.cpg`` written beside it;
        one geometry family only); any other (``.zip``, ``.shp.zip``) the zip.
    fmt : str
        One of :data:`FORMATS`.
    layer : str
        Layer name inside the file (and stem of the Shapefiles).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InvalidFilterError
        Unknown format (code ``"invalid_filter"``), or a table without geometry
        asked in a format that only holds features (code ``"format_needs_geometry"``).
    OutputFileError
        When ``dest`` is a folder or a special file (``/dev/null``), or cannot be
        written (read-only place, full disk, no permission; ``data["reason"]``).
        The previous file at ``dest``, if any, is then left as it was.
    """
    fmt = check_format(fmt)
    if not has_geometry(gdf) and fmt not in TABLE_FORMATS:
        raise InvalidFilterError(
            f"«{layer}» es una tabla sin geometría: se exporta como {' o '.join(TABLE_FORMATS)}, no como {fmt}.",
            code="format_needs_geometry", layer=layer, format=fmt, formats=TABLE_FORMATS,
        )
    writer = FORMATS[fmt][0]
    dest = Path(dest)
    _check_destination(dest)
    if fmt == "shp" and dest.suffix.lower() == ".shp":
        try:
            return _shapefile_files(gdf, dest, layer)
        except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            reason = _write_reason(exc, dest.parent)
            raise OutputFileError(f"No se pudo escribir «{dest}»: {reason}.", path=str(dest), reason=reason) from exc
    # Written beside the destination, then renamed: a failed write (full disk, killed
    # process) never leaves a half file under the final name, nor removes the old one.
    partial = dest.with_name(f".{dest.stem}.{os.getpid()}.partial{dest.suffix}")
    try:
        writer(whole_counts(gdf), partial, layer)
        os.replace(partial, dest)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        reason = _write_reason(exc, dest.parent)
        raise OutputFileError(f"No se pudo escribir «{dest}»: {reason}.", path=str(dest), reason=reason) from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return dest


#: Free space under which a failed write is put down to a full disk, in bytes.
FULL_DISK_BYTES = 1024 * 1024


def _write_reason(exc: BaseException, folder: Path) -> str:
    """Why writing into ``folder`` failed, in Spanish: from the error, else from the folder itself."""
    code = guess_errno(exc)
    if code is None:
        code = folder_problem(folder)
    return os_error_reason(code) if code is not None else "el sistema no admitió el archivo en esa carpeta"


def folder_problem(folder: Path) -> int | None:
    """The errno that stops writing a new file in ``folder``, or None when none is visible.

    Checks, in order: the folder exists (``ENOENT``), its file system is mounted
    read-only (``EROFS``), the process may write in it (``EACCES``), and it has
    at least :data:`FULL_DISK_BYTES` free (``ENOSPC``; file systems that report
    no blocks, such as ``/proc``, are not called full).
    """
    if not folder.is_dir():
        return errno.ENOENT
    try:
        stats = os.statvfs(folder)
    except OSError as exc:
        return exc.errno
    if stats.f_flag & os.ST_RDONLY:
        return errno.EROFS
    if not os.access(folder, os.W_OK):
        return errno.EACCES
    if stats.f_blocks and stats.f_bavail * stats.f_frsize < FULL_DISK_BYTES:
        return errno.ENOSPC
    return None


def _check_destination(dest: Path) -> None:
    """Refuse a destination that is not a regular file (a folder, a device, a pipe)."""
    if dest.is_dir():
        raise OutputFileError(f"«{dest}» es una carpeta, no un archivo.", path=str(dest), reason="folder")
    if dest.exists() and not dest.is_file():
        # Renaming over /dev/null or a pipe would replace it with a plain file.
        raise OutputFileError(
            f"«{dest}» no es un archivo común (dispositivo, tubería o similar): no se escribe sobre él.",
            path=str(dest), reason="special",
        )


def export_bytes(gdf: gpd.GeoDataFrame, fmt: str = "geojson", layer: str = "capa") -> bytes:
    """The bytes :func:`export_layer` would write (for downloads in the app)."""
    fmt = check_format(fmt)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_layer(gdf, Path(tmp) / f"{layer}{FORMATS[fmt][1]}", fmt, layer)
        return path.read_bytes()
