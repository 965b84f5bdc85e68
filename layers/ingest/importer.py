"""Importing the layers planners bring: territories, initiative sites and reference layers.

One entry point, :func:`import_file`, shared by ``cli.py import`` and the app.
A file is read (:func:`read_any`: GeoJSON, zipped Shapefile, GeoPackage,
KML/KMZ, CSV; see :mod:`layers.ingest.read`), checked and cleaned, and only
then stored with :func:`layers.store.save_layer`, which replaces the store
atomically: a refusal, a crash or a kill at any point leaves the store exactly
as it was.

What an import does, in order (each a function: :func:`_check_request`,
:func:`_read_step`, :func:`_clean`, :func:`_locate`, :func:`_shape`,
:func:`_store`, :func:`_report`):

1. refuse a bad layer name (``^[a-z][a-z0-9_]{1,40}$``, no system tables), a
   name taken without ``replace``, or the replacement of a shipped layer by a
   layer of another kind;
2. refuse files that are empty, larger than :data:`layers.settings.UPLOAD_LIMIT_BYTES`,
   unsafe zips (see :mod:`geo.zipsafe`), disguised (content that is not the
   declared format or that makes GDAL open other files or URLs, see
   :mod:`layers.ingest._guard`), unreadable or of an unknown format;
3. take the CRS the file declares, or the one given with ``crs`` (which wins
   over a declared one); a file with no CRS and no ``crs`` is refused, naming
   the Chilean CRS its coordinates fit;
4. drop Z, repair invalid geometries with :func:`shapely.make_valid`, drop
   missing, empty and non-finite ones (:func:`geo.repair.clean_geometries`);
5. reproject to WGS 84 (EPSG:4326) and refuse a layer whose features fall
   mostly (more than half) outside the commune, saying the likely cause;
6. shape the layer for its kind:

   ``territorios``
       polygons only; ``name_field`` names them; slugs from ``id_field``
       (repeated ids refused) or from the names (repeats numbered ``-2``);
       ``tipo`` is ``sector urbano`` when the polygon's representative point
       lies in the shipped urban sectors, else ``localidad rural``; fields of
       :data:`layers.territories.FIELDS`; registry ``clase`` ``territorios``.
   ``iniciativas``
       sites of catalogue initiatives matched by ``id_field`` (``E1-P1-08``);
       unknown ids are reported and dropped; features of one id are combined;
       fields ``id``, ``nombre``, ``fuente_geometria`` (the file), ``precision_m``;
       ``clase`` ``ubicaciones``. The catalogue is never modified:
       :func:`merge_sites` overlays the sites on the initiatives when asked.
   ``referencia``
       any geometry types; attributes kept with sanitised names; ``clase``
       ``referencia``.

The returned :class:`ImportReport` (and :func:`format_report`, in Spanish)
says how many features were read, repaired, dropped and why, stored, the CRS
of origin and the extent.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import repair
from geo.crs import CHILEAN_CRS, WGS84
from layers import commune, initiatives, store, territory_layers
from layers._errors import DataValidationError, InputFileError, UnknownLayerError
from layers.ingest import read as _read
from layers.ingest import validate as _val
from layers.store import seed as shipped
from layers.text import format_number

log = logging.getLogger(__name__)

#: Kind of import -> registry ``clase`` of the stored layer.
KINDS = {"territorios": "territorios", "iniciativas": "ubicaciones", "referencia": "referencia"}

_REASONS = {
    "null": "sin geometría",
    "non_finite": "coordenadas no numéricas o infinitas",
    "empty": "geometría vacía",
    "collapsed": "geometría inválida que no se pudo reparar",
    "other_family": "no es un polígono (los territorios son áreas)",
}

_GEOM_NAMES = {
    -1: "sin geometría", 0: "puntos", 1: "líneas", 2: "líneas", 3: "polígonos",
    4: "multipuntos", 5: "multilíneas", 6: "multipolígonos", 7: "colecciones",
}


@dataclass
class ImportReport:
    """What an import did; :func:`format_report` writes it for people.

    Attributes
    ----------
    layer : str
        Name of the stored layer.
    kind : str
        ``territorios``, ``iniciativas`` or ``referencia``.
    clase : str
        Registry class of the stored layer (``territorios``, ``ubicaciones``, ``referencia``).
    source_file, source_format, source_layer : str
        File name, format label and layer read inside the file.
    encoding : str or None
        Text encoding used for the attributes (Shapefile, CSV).
    crs_origin : str
        CRS of the file (``EPSG:24879``), as declared or given.
    crs_note : str
        Where that CRS came from, in Spanish.
    n_read : int
        Features in the file.
    n_repaired : int
        Invalid geometries repaired with ``make_valid``.
    dropped : dict of str to int
        Features dropped, by Spanish reason.
    duplicates : list of str
        Repeated names (territories) or ids (sites).
    unknown_ids : list of str
        Ids not in the catalogue (sites).
    n_stored : int
        Features stored (the stored layer has exactly this many).
    geometry_types : dict of str to int
        Stored geometry types and their counts.
    bbox_wgs84 : tuple of float
        ``(min lon, min lat, max lon, max lat)`` of the stored layer, degrees.
    outside_share : float
        Share of stored features that do not touch the commune (0 to 0.5).
    fields : list of str
        Attribute fields of the stored layer.
    warnings : list of str
        Remarks in Spanish (Z dropped, repeated names numbered, overlaps...).
    replaced : bool
        An existing layer of that name was replaced.
    seconds : float
        Time the import took.
    """

    layer: str
    kind: str
    clase: str
    source_file: str
    source_format: str
    source_layer: str
    encoding: str | None
    crs_origin: str
    crs_note: str
    n_read: int
    n_repaired: int
    dropped: dict[str, int]
    duplicates: list[str]
    unknown_ids: list[str]
    n_stored: int
    geometry_types: dict[str, int]
    bbox_wgs84: tuple[float, float, float, float]
    outside_share: float
    fields: list[str]
    warnings: list[str] = field(default_factory=list)
    replaced: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for the app and JSON)."""
        return asdict(self)


# --------------------------------------------------------------------------- reading


def inspect(path: str | os.PathLike, source_name: str | None = None) -> list[dict[str, object]]:
    """Layers inside a file (GeoPackage layers, KML folders, Shapefiles of a zip).

    Parameters
    ----------
    path : path-like
        File to look into.
    source_name : str, optional
        Name the file had for the person (for the format and messages).

    Returns
    -------
    list of dict
        One per layer: ``capa`` (name to pass as ``gpkg_layer``), ``geometria``
        (GDAL geometry type, when known) and ``n`` (features, when known).
    """
    return _read.inspect_layers(Path(path), source_name)


def read_any(
    path: str | os.PathLike,
    *,
    crs: str | int | pyproj.CRS | None = None,
    encoding: str | None = None,
    gpkg_layer: str | None = None,
    source_name: str | None = None,
) -> tuple[gpd.GeoDataFrame, _read.ReadInfo]:
    """Read any supported file as it is (its own CRS, nothing dropped but unreadable rows).

    Parameters
    ----------
    path : path-like
        GeoJSON, zipped Shapefile (or ``.shp``), GeoPackage, KML/KMZ or CSV.
    crs : str, int or pyproj.CRS, optional
        CRS of the coordinates; wins over the one the file declares.
    encoding : str, optional
        Text encoding of Shapefile attributes or CSV files (guessed otherwise).
    gpkg_layer : str, optional
        Layer to read in a file with several (GeoPackage layer, KML folder,
        Shapefile of a zip).
    source_name : str, optional
        Name the file had for the person.

    Returns
    -------
    (geopandas.GeoDataFrame, ReadInfo)
        Features with their CRS (``None`` when neither the file nor ``crs`` gives one)
        and what was learnt while reading.

    Raises
    ------
    InputFileError
        For every file that cannot be read, with a one-line Spanish message.
    """
    user_crs = _read.parse_user_crs(crs) if not isinstance(crs, pyproj.CRS) else crs
    frame, info = _read.read(Path(path), layer=gpkg_layer, encoding=encoding, source_name=source_name)
    if user_crs is not None:
        declared = info.declared_crs
        if info.crs_binding and declared is not None and not declared.equals(user_crs, ignore_axis_order=True):
            raise InputFileError(
                f"El archivo declara {_read.label(declared)} ({info.crs_note}) y se indicó {_read.label(user_crs)}: "
                "no se importa con un sistema que contradice el de los datos.",
                code="crs_conflict", declared=_read.label(declared), given=_read.label(user_crs),
            )
        if declared is not None and not declared.equals(user_crs, ignore_axis_order=True):
            info.crs_note = f"indicado al importar (el archivo declaraba {_read.label(declared)})"
        else:
            info.crs_note = "indicado al importar"
        frame = frame.set_crs(user_crs, allow_override=True)
    elif info.unknown_datum is not None:
        raise InputFileError(
            f"El sistema de coordenadas de «{info.source_layer or source_name or Path(path).name}» usa el datum «{info.unknown_datum}», "
            "que no se reconoce: sin saberlo los elementos quedarían cientos de metros corridos; hay que indicar el sistema de coordenadas.",
            code="datum_unknown", datum=info.unknown_datum, suggested=[],
        )
    elif info.declared_crs is not None and frame.crs is None:
        frame = frame.set_crs(info.declared_crs)
    return frame, info


# --------------------------------------------------------------------------- step 1: check the request


@dataclass
class _Request:
    """An import request, checked before the file is opened."""

    kind: str
    name: str
    name_field: str | None
    id_field: str | None
    user_crs: pyproj.CRS | None
    encoding: str | None
    gpkg_layer: str | None
    replace: bool
    replaced: bool
    precision_m: int | None
    source_file: str


@dataclass
class _Run:
    """What the steps learn as they go: counts for the report."""

    n_read: int = 0
    n_repaired: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    outside: float = 0.0


def _check_kind(as_: object) -> str:
    kind = str(as_ or "").strip().lower()
    if kind not in KINDS:
        raise InputFileError(
            f"Tipo de importación desconocido: «{as_}». Use territorios, iniciativas o referencia.", code="bad_kind", kind=str(as_)
        )
    return kind


def _check_target(name: str, kind: str, replace: bool) -> bool:
    """Refuse names that are taken (without ``replace``) or that would break the system.

    Returns True when an existing layer will be replaced.
    """
    if name in shipped.TABLES:
        raise InputFileError(
            f"«{name}» es una tabla del catálogo del sistema; elija otro nombre para la capa.", code="reserved_layer_name", layer=name
        )
    reg = store.list_layers()
    store.refuse_taken(name, reg, replace)
    row = reg[reg["nombre"] == name]
    if row.empty:
        return False
    info = row.iloc[0]
    if info["origen"] == store.SHIPPED and info["clase"] != KINDS[kind]:
        raise InputFileError(
            f"La capa «{name}» viene con el sistema (clase {info['clase']}) y no puede reemplazarse por una capa de {kind}; elija otro nombre.",
            code="shipped_kind", layer=name,
        )
    return True


def _check_request(path, as_, layer, name_field, id_field, crs, encoding, replace, source_name, gpkg_layer, precision_m) -> _Request:
    """Step 1: kind, layer name, required fields, precision, target and CRS of a request; nothing is read yet."""
    kind = _check_kind(as_)
    name = _val.check_layer_name(layer)
    if kind == "territorios" and not name_field:
        raise InputFileError("Para importar territorios indique el campo con el nombre de cada uno.", code="name_field_missing")
    if kind == "iniciativas" and not id_field:
        raise InputFileError(
            "Para importar ubicaciones de iniciativas indique el campo con su id, p. ej. E1-P1-08.", code="id_field_missing"
        )
    if precision_m is not None and (not float(precision_m) >= 0 or float(precision_m) != int(precision_m)):
        raise InputFileError(
            f"La precisión debe ser un entero de metros mayor o igual a 0, no «{precision_m}».", code="bad_precision", value=precision_m
        )
    replaced = _check_target(name, kind, replace)
    user_crs = _read.parse_user_crs(crs)
    return _Request(
        kind, name, name_field, id_field, user_crs, encoding, gpkg_layer, bool(replace), replaced, precision_m,
        source_name or Path(path).name,
    )


def _title(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _urban_union() -> shapely.Geometry | None:
    """Union of the shipped urban sectors (EPSG:4326)."""
    terr = territory_layers.shipped_territories()
    urban = terr[terr["tipo"] == "sector urbano"]
    return shapely.union_all(urban.geometry.to_numpy()) if len(urban) else None


def _catalogue() -> dict[str, str]:
    """Initiative id -> name, from the store's catalogue layer."""
    table = store.read_layer("iniciativas", columns=["id", "nombre"], read_geometry=False)
    return dict(zip(table["id"].astype(str), table["nombre"].astype(str)))


def _add(counts: dict[str, int], reason: str, n: int) -> None:
    if n:
        counts[reason] = counts.get(reason, 0) + int(n)


# --------------------------------------------------------------------------- step 2: read


def _read_step(path, req: _Request, run: _Run) -> tuple[gpd.GeoDataFrame, _read.ReadInfo, str | None, str | None]:
    """Step 2: the file's features in its own CRS, and the name and id columns the request names."""
    frame, info = read_any(
        path, crs=req.user_crs, encoding=req.encoding, gpkg_layer=req.gpkg_layer, source_name=req.source_file
    )
    run.n_read = len(frame) + sum(info.dropped.values())
    if run.n_read == 0:
        raise DataValidationError(f"«{req.source_file}» no tiene elementos.", code="no_features", file=req.source_file)
    run.dropped = dict(info.dropped)
    name_col = _val.find_field(frame, req.name_field, "name_field") if req.name_field else None
    id_col = _val.find_field(frame, req.id_field, "id_field") if req.id_field else None
    return frame, info, name_col, id_col


# --------------------------------------------------------------------------- step 3: clean


def _clean(frame: gpd.GeoDataFrame, info: _read.ReadInfo, req: _Request, run: _Run, commune_geom) -> gpd.GeoDataFrame:
    """Step 3: in the file's CRS, drop Z, repair invalid geometries, drop missing, empty and non-finite ones."""
    raw_geoms = np.asarray(frame.geometry.array, dtype=object)
    if frame.crs is None:
        raise _val.missing_crs_error(raw_geoms, commune_geom, info.crs_note)
    source_crs = pyproj.CRS(frame.crs)
    cleaned = repair.clean_geometries(raw_geoms, keep=["polygon"] if req.kind == "territorios" else None)
    for code, n in cleaned.dropped.items():
        _add(run.dropped, _REASONS[code], n)
    if not cleaned.keep.any():
        why = "; ".join(f"{n} {r}" for r, n in run.dropped.items())
        if req.kind == "territorios" and cleaned.dropped.get("other_family"):
            types = pd.Series(shapely.get_type_id(raw_geoms)).map(_GEOM_NAMES).value_counts()
            found = ", ".join(f"{n} {t}" for t, n in types.items())
            raise DataValidationError(
                f"Los territorios deben ser polígonos y «{req.source_file}» no tiene ninguno (tiene: {found}).", code="not_polygons"
            )
        raise DataValidationError(
            f"Ningún elemento de «{req.source_file}» tiene una geometría utilizable ({why}).", code="no_usable_geometry"
        )
    frame = frame[cleaned.keep].copy()
    frame = frame.set_geometry(gpd.GeoSeries(cleaned.geometries[cleaned.keep], index=frame.index, crs=source_crs))
    run.n_repaired = int(cleaned.repaired.sum())
    if cleaned.had_z or info.had_z:
        run.warnings.append("se descartó la coordenada Z (altura)")
    return frame


# --------------------------------------------------------------------------- step 4: locate


def _to_wgs84(frame: gpd.GeoDataFrame) -> np.ndarray:
    source_crs = pyproj.CRS(frame.crs)
    try:
        with np.errstate(all="ignore"):
            wgs = frame.geometry.to_crs(WGS84)
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError, ValueError, TypeError) as exc:
        raise InputFileError(
            f"No se pudo transformar de {_read.label(source_crs)} a WGS 84: {_read._one_line(exc)}. Revise el sistema de coordenadas.",
            code="crs_transform_failed", crs=_read.label(source_crs),
        ) from exc
    return np.asarray(wgs.array, dtype=object)


def _locate(frame: gpd.GeoDataFrame, req: _Request, run: _Run, commune_geom) -> gpd.GeoDataFrame:
    """Step 4: reproject to WGS 84, repair what reprojection broke, refuse a layer mostly outside the commune."""
    source_crs = pyproj.CRS(frame.crs)
    src_geoms = np.asarray(frame.geometry.array, dtype=object)
    wgs_geoms = _to_wgs84(frame)
    finite = repair.finite(wgs_geoms)
    if not finite.all():
        _add(run.dropped, f"coordenadas fuera del dominio de {_read.label(source_crs)}", int((~finite).sum()))
        if not finite.any():
            cause, fits = _val.diagnosis(src_geoms, source_crs, commune_geom)
            raise DataValidationError(
                f"Ninguna coordenada de «{req.source_file}» es válida en {_read.label(source_crs)}. {cause}",
                code="outside_crs_domain", suggested=fits,
            )
    invalid = finite.copy()
    invalid[finite] = ~shapely.is_valid(wgs_geoms[finite])
    for i in np.flatnonzero(invalid):
        fixed = repair.clean_geometries([wgs_geoms[i]], keep=["polygon"] if req.kind == "territorios" else None)
        if fixed.keep[0]:
            wgs_geoms[i] = fixed.geometries[0]
            run.n_repaired += 1
        else:
            finite[i] = False
            _add(run.dropped, _REASONS["collapsed"], 1)
    frame = frame[finite].copy()
    frame = frame.set_geometry(gpd.GeoSeries(wgs_geoms[finite], index=frame.index, crs=WGS84))
    run.outside = _val.location_check(frame.geometry.to_numpy(), src_geoms[finite], source_crs, commune_geom)
    return frame


# --------------------------------------------------------------------------- step 5: shape


def _shape_reference(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, int], list[str]]:
    attrs = frame.drop(columns=frame.geometry.name)
    mapping = _val.sanitise_fields(attrs.columns)
    attrs = _val.sanitise_values(attrs.rename(columns=mapping))
    out = gpd.GeoDataFrame(attrs, geometry=frame.geometry.to_numpy(), crs=WGS84)
    renamed = [f"{a if str(a).strip() else '(sin nombre)'}→{b}" for a, b in mapping.items() if a != b]
    notes = ["campos renombrados: " + ", ".join(renamed)] if renamed else []
    return out, {}, notes


def _shape(frame: gpd.GeoDataFrame, req: _Request, run: _Run, name_col, id_col, crs_text: str) -> gpd.GeoDataFrame:
    """Step 5: the schema of the kind (territories, initiative sites or reference layer)."""
    fecha = _dt.date.today().isoformat()
    if req.kind == "territorios":
        out, more, run.duplicates, notes = _val.shape_territories(
            frame,
            name_col,
            id_col,
            _urban_union(),
            fuente=f"Capa importada de «{req.source_file}» el {fecha} (SIT Vallenar).",
            fuente_geometria=f"Polígonos de «{req.source_file}» (SRC de origen {crs_text}), reproyectados a WGS 84.",
            precision_m=req.precision_m,
        )
    elif req.kind == "iniciativas":
        out, more, run.duplicates, run.unknown, notes = _val.shape_sites(
            frame, id_col, _catalogue(), f"Archivo importado «{req.source_file}» ({fecha})", req.precision_m
        )
        merged = len(frame) - sum(more.values()) - len(out)
        if merged:
            notes.append(f"{merged} elementos unidos a otro del mismo id")
        if out.empty:
            raise DataValidationError(
                f"Ningún id del campo «{id_col}» está en el catálogo de iniciativas (p. ej. {', '.join(run.unknown[:5])}); use ids como E1-P1-08.",
                code="no_known_ids", field=id_col, unknown=run.unknown[:20],
            )
    else:
        out, more, notes = _shape_reference(frame)
    for reason, n in more.items():
        _add(run.dropped, reason, n)
    run.warnings.extend(notes)
    out = out.reset_index(drop=True)
    if out.empty:
        raise DataValidationError(f"No queda ningún elemento de «{req.source_file}» para guardar.", code="nothing_left")
    return out


# --------------------------------------------------------------------------- steps 6 and 7: store, report


def _store(out: gpd.GeoDataFrame, req: _Request, info: _read.ReadInfo, crs_text: str) -> None:
    """Step 6: save the layer and its registry row, atomically (:func:`layers.store.save_layer`)."""
    meta = {
        "titulo": _title(req.name),
        "descripcion": f"Capa de {req.kind} importada de «{req.source_file}» ({info.format}).",
        "clase": KINDS[req.kind],
        "fuente": f"Archivo «{req.source_file}» importado el {_dt.date.today().isoformat()}.",
        "archivo": req.source_file,
        "crs_origen": crs_text,
        "precision_m": None if req.precision_m is None else str(int(req.precision_m)),
    }
    store.save_layer(req.name, out, meta, replace=req.replace)


def _report(out: gpd.GeoDataFrame, req: _Request, info: _read.ReadInfo, run: _Run, crs_text: str, started: float) -> ImportReport:
    """Step 7: what the import did."""
    types = out.geometry.geom_type.value_counts()
    return ImportReport(
        layer=req.name,
        kind=req.kind,
        clase=KINDS[req.kind],
        source_file=req.source_file,
        source_format=info.format,
        source_layer=info.source_layer,
        encoding=info.encoding,
        crs_origin=f"{crs_text} ({CHILEAN_CRS[crs_text]})" if crs_text in CHILEAN_CRS else crs_text,
        crs_note=info.crs_note,
        n_read=int(run.n_read),
        n_repaired=run.n_repaired,
        dropped=run.dropped,
        duplicates=list(run.duplicates),
        unknown_ids=list(run.unknown),
        n_stored=len(out),
        geometry_types={str(k): int(v) for k, v in types.items()},
        bbox_wgs84=tuple(round(float(b), 6) for b in out.total_bounds),
        outside_share=round(run.outside, 4),
        fields=[c for c in out.columns if c != out.geometry.name],
        warnings=[*info.notes, *run.warnings],
        replaced=req.replaced,
        seconds=round(time.perf_counter() - started, 3),
    )


# --------------------------------------------------------------------------- import


def import_file(
    path: str | os.PathLike,
    *,
    as_: str,
    layer: str,
    name_field: str | None = None,
    id_field: str | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
    replace: bool = False,
    source_name: str | None = None,
    gpkg_layer: str | None = None,
    precision_m: int | None = None,
) -> ImportReport:
    """Import a file into the store as a territory, site or reference layer.

    Seven named steps: check the request, read, clean, locate, shape, store, report
    (see the module docstring).

    Parameters
    ----------
    path : path-like
        The file (see :func:`read_any` for formats).
    as_ : {"territorios", "iniciativas", "referencia"}
        Kind of layer.
    layer : str
        Name of the stored layer (``^[a-z][a-z0-9_]{1,40}$``).
    name_field : str, optional
        Field with the territory names (required for ``territorios``).
    id_field : str, optional
        Field with territory identifiers (slugs; optional) or with initiative
        ids (required for ``iniciativas``).
    crs : str or int, optional
        CRS of the coordinates (``"EPSG:24879"``); required when the file declares none.
    encoding : str, optional
        Attribute encoding of Shapefiles and CSV files.
    replace : bool
        Replace a layer of the same name.
    source_name : str, optional
        Name the file had for the person (uploads are saved under temporary names).
    gpkg_layer : str, optional
        Layer, folder or Shapefile to read in a file that holds several.
    precision_m : int, optional
        Known uncertainty of the geometries in metres (stored in ``precision_m``).

    Returns
    -------
    ImportReport

    Raises
    ------
    layers._errors.SitError
        :class:`InputFileError`, :class:`DataValidationError` or
        :class:`layers.store.StoreError`, each with a one-line Spanish message,
        a ``code`` (``"layer_exists"``, ``"crs_missing"``, ``"disguised_file"``...)
        and its data; nothing is stored then.
    """
    started = time.perf_counter()
    req = _check_request(path, as_, layer, name_field, id_field, crs, encoding, replace, source_name, gpkg_layer, precision_m)
    run = _Run()
    frame, info, name_col, id_col = _read_step(path, req, run)
    commune_geom = commune.commune_geometry()
    frame = _clean(frame, info, req, run, commune_geom)
    crs_text = _read.label(pyproj.CRS(frame.crs))
    frame = _locate(frame, req, run, commune_geom)
    out = _shape(frame, req, run, name_col, id_col, crs_text)
    _store(out, req, info, crs_text)
    report = _report(out, req, info, run, crs_text, started)
    log.info("import %s: %d of %d features in %.2f s", req.name, report.n_stored, report.n_read, report.seconds)
    return report


def extent_text(bbox: tuple[float, float, float, float]) -> str:
    """``"longitud -70,8 a -70,7; latitud -28,6 a -28,5"`` (degrees, 6 decimals, Chilean decimal comma)."""
    x0, y0, x1, y1 = (format_number(v, 6) for v in bbox)
    return f"longitud {x0} a {x1}; latitud {y0} a {y1}"


def format_report(report: ImportReport) -> str:
    """The report of an import, in Spanish, one fact per line."""
    r = report
    n_dropped = sum(r.dropped.values())
    lines = [
        f"Capa «{r.layer}» {'reemplazada' if r.replaced else 'importada'} como {r.kind} (clase {r.clase}).",
        f"Archivo: {r.source_file} ({r.source_format}, capa «{r.source_layer}»"
        + (f", codificación {r.encoding})" if r.encoding else ")"),
        f"SRC de origen: {r.crs_origin}" + (f", {r.crs_note}" if r.crs_note else "") + "; guardada en WGS 84 (EPSG:4326).",
        f"Elementos leídos: {r.n_read}; reparados: {r.n_repaired}; descartados: {n_dropped}; guardados: {r.n_stored}.",
    ]
    lines += [f"  descartados {n}: {reason}" for reason, n in r.dropped.items()]
    if r.unknown_ids:
        lines.append(f"Ids que no están en el catálogo: {', '.join(r.unknown_ids[:20])}" + (" …" if len(r.unknown_ids) > 20 else ""))
    if r.duplicates:
        lines.append(f"Repetidos: {', '.join(r.duplicates[:20])}" + (" …" if len(r.duplicates) > 20 else ""))
    lines.append("Geometrías: " + ", ".join(f"{t} {n}" for t, n in r.geometry_types.items()))
    lines.append(f"Extensión (WGS 84): {extent_text(r.bbox_wgs84)}.")
    if r.outside_share:
        lines.append(f"Fuera de la comuna: {round(r.outside_share * 100)} % de los elementos.")
    lines += [f"Aviso: {w}" for w in r.warnings]
    return "\n".join(lines)


# --------------------------------------------------------------------------- sites


def site_layers() -> list[str]:
    """Names of the imported layers of initiative sites, newest first (:func:`layers.initiatives.site_layers`)."""
    return initiatives.site_layers(store.list_layers())


def merge_sites(
    catalogue: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | str,
    territories: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Initiatives with the geometries of an imported site layer laid over them.

    The one rule is :func:`layers.initiatives.overlay_sites`; this accepts the name of a
    site layer of the store as well as a frame.

    Parameters
    ----------
    catalogue : geopandas.GeoDataFrame
        The initiatives layer (EPSG:4326).
    sites : geopandas.GeoDataFrame or str
        A site layer (``id``, ``fuente_geometria``, ``precision_m``, geometry) or the
        name of one in the store.
    territories : geopandas.GeoDataFrame, optional
        The shipped territory layer, to derive ``territorios`` of the moved initiatives again.

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows, columns and order as ``catalogue``.

    Raises
    ------
    UnknownLayerError
        Code ``unknown_sites`` when ``sites`` names no site layer of the store.
    """
    if isinstance(sites, str):
        known = site_layers()
        if sites not in known:
            raise UnknownLayerError(
                f"Capa de ubicaciones desconocida: «{sites}». Capas de ubicaciones: {', '.join(known) or 'ninguna'}.",
                code="unknown_sites", layer=sites, known=known,
            )
        sites = store.read_layer(sites)
    return initiatives.overlay_sites(catalogue, sites, territories)
