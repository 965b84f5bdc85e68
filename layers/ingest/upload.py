"""Imports from the app: a file a planner uploads, as bytes, through :func:`layers.ingest.importer.import_file`.

The page ``capas`` holds the uploaded bytes and the form options; everything else
is here, free of Streamlit, so it is tested like the rest of ``layers/``:

- :func:`import_upload` checks the size *before* anything touches the disk (same
  Spanish messages as the importer), writes the bytes under their original file
  name in a private temporary folder (importer messages quote that name), imports
  and removes the folder. A refusal leaves the store exactly as it was (the
  importer only writes at the end, atomically).
- Errors keep the importer's message, ``code`` and data; the page adds the hint
  in the form's words (``pages/_import_ui.py``), as ``cli.py`` does in its own.
- :func:`inspect_upload` and :func:`peek_upload` tell the form which layers a
  file holds and which fields, CRS and feature count it has.
- :func:`report_rows` lays an :class:`~layers.ingest.importer.ImportReport` out as a
  small two-column table; :func:`remove_imported` removes an imported layer.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from layers import settings, store
from layers._errors import SitError
from layers.ingest import importer
from layers.ingest import read as _read
from layers.ingest import validate as _val
from layers.store import seed as shipped
from layers.text import format_mb, slugify

log = logging.getLogger(__name__)

#: File extensions the uploader accepts (without the dot).
ACCEPTED_TYPES = ("geojson", "json", "zip", "gpkg", "kml", "kmz", "csv")
#: Kind of import -> label in the form.
KIND_LABELS = {
    "referencia": "Capa de referencia (cualquier geometría, con sus atributos)",
    "territorios": "Territorios (polígonos: unidades vecinales, sectores, localidades)",
    "iniciativas": "Ubicaciones de iniciativas del plan (por id, p. ej. E1-P1-08)",
}
#: Text encodings offered in the form (label -> codec; None lets the importer decide).
ENCODINGS = {
    "Automática (según el archivo)": None,
    "UTF-8": "utf-8",
    "ISO-8859-1 (Latin-1)": "iso-8859-1",
    "Windows-1252": "cp1252",
}
#: Form field labels, used in messages instead of the command-line options.
LABEL_REPLACE = "Reemplazar si existe"
LABEL_CRS = "SRC (EPSG) si el archivo no lo trae"
LABEL_NAME_FIELD = "Campo de nombre"
LABEL_ID_FIELD = "Campo de id"
LABEL_ENCODING = "Codificación"
LABEL_SOURCE_LAYER = "Capa del archivo"
LABEL_PRECISION = "Precisión conocida (m)"

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


def limit_mb() -> int:
    """Upload limit (:data:`layers.settings.UPLOAD_LIMIT_BYTES`) in whole megabytes, rounded up (at least 1)."""
    return max(1, -(-settings.UPLOAD_LIMIT_BYTES // (1024 * 1024)))


def limit_text() -> str:
    """The upload limit for people (``"50,0 MB"``), as the importer's messages write it."""
    return format_mb(settings.UPLOAD_LIMIT_BYTES)


def uploader_limit_mb() -> int:
    """Largest file, in megabytes, the uploader widget sends to the server.

    The same limit as Streamlit's own ``server.maxUploadSize``
    (:func:`layers.settings.streamlit_upload_mb`): the server refuses anything larger before
    it reaches memory, so the widget must not offer more than the server takes.
    """
    return settings.streamlit_upload_mb()


def safe_file_name(name: object) -> str:
    """The base name of an uploaded file, without folders or control characters.

    Browsers send a bare name, but the name comes from the client: a name with
    ``/`` or ``\\`` keeps only its last part, and an empty or dotted one becomes
    ``archivo``. Long names keep their extension.
    """
    text = _UNSAFE_NAME.sub("", str(name or "")).replace("\\", "/").split("/")[-1].strip()
    if text in ("", ".", ".."):
        return "archivo"
    if len(text) > 120:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else text[:120]
    return text


def check_upload(name: str, size: int) -> None:
    """Refuse an empty or too large upload before it is written anywhere.

    Same messages as the importer gives for a file on disk.

    Raises
    ------
    layers._errors.InputFileError
    """
    _read.check_size_of(name, size)


def suggest_layer_name(file_name: str) -> str:
    """A valid store name made from a file name (``"UV Vallenar 2023.zip"`` -> ``"uv_vallenar_2023"``)."""
    stem = Path(safe_file_name(file_name)).stem
    slug = slugify(stem, "_", max_length=len(stem) + 1)
    if not slug or not slug[0].isalpha():
        slug = f"capa_{slug}".strip("_")
    if len(slug) < 2 or slug.startswith(_val.RESERVED_PREFIXES):
        slug = f"capa_{slug}"
    slug = slug[:41].rstrip("_")
    if slug in (*shipped.LAYERS, *shipped.TABLES):
        slug = f"{slug}_importada"
    return slug


@contextmanager
def _saved(name: str, data: bytes) -> Iterator[Path]:
    """``data`` written as ``name`` in a private temporary folder, removed on exit."""
    check_upload(name, len(data))
    with tempfile.TemporaryDirectory(prefix="sit_subida_") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        yield path


# --------------------------------------------------------------------------- looking into a file


def inspect_upload(name: str, data: bytes) -> list[dict[str, object]]:
    """Layers inside an uploaded file (see :func:`layers.ingest.importer.inspect`); ``[]`` when it cannot be read.

    Errors are left for the import itself to report.
    """
    name = safe_file_name(name)
    try:
        with _saved(name, data) as path:
            return importer.inspect(path, source_name=name)
    except SitError as exc:
        log.info("inspect of upload %s: %s", name, exc)
        return []


@dataclass
class Peek:
    """What the form shows about an uploaded file before importing it.

    Attributes
    ----------
    format : str
        Format label (``"Shapefile"``...).
    n : int
        Features read.
    fields : list of str
        Attribute fields.
    crs : str or None
        CRS the file declares (``"EPSG:24879"``), None when it declares none.
    notes : list of str
        Remarks of the reader, in Spanish.
    """

    format: str
    n: int
    fields: list[str]
    crs: str | None
    notes: list[str] = field(default_factory=list)


def peek_upload(name: str, data: bytes, *, encoding: str | None = None, gpkg_layer: str | None = None) -> Peek:
    """Read an uploaded file as it is, to show its fields and CRS in the form.

    Raises
    ------
    layers._errors.SitError
        With the message and code the import would give.
    """
    name = safe_file_name(name)
    with _saved(name, data) as path:
        frame, info = importer.read_any(path, encoding=encoding, gpkg_layer=gpkg_layer, source_name=name)
    fields = [str(c) for c in frame.columns if c != frame.geometry.name]
    crs = _read.label(info.declared_crs) if info.declared_crs is not None else None
    return Peek(info.format, len(frame), fields, crs, list(info.notes))


# --------------------------------------------------------------------------- import


def import_upload(
    name: str,
    data: bytes,
    *,
    as_: str,
    layer: str,
    name_field: str | None = None,
    id_field: str | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
    gpkg_layer: str | None = None,
    replace: bool = False,
    precision_m: int | None = None,
) -> importer.ImportReport:
    """Import an uploaded file into the store.

    Parameters
    ----------
    name : str
        File name as uploaded (``uv.zip``); only its base name is used.
    data : bytes
        Content of the file.
    as_, layer, name_field, id_field, crs, encoding, gpkg_layer, replace, precision_m
        As for :func:`layers.ingest.importer.import_file`; empty strings count as not given.

    Returns
    -------
    layers.ingest.importer.ImportReport

    Raises
    ------
    layers._errors.SitError
        One-line Spanish message with a ``code``; the store is unchanged.
    """
    name = safe_file_name(name)

    def given(value: object) -> str | None:
        text = "" if value is None else str(value).strip()
        return text or None

    with _saved(name, data) as path:
        report = importer.import_file(
            path,
            as_=as_,
            layer=(layer or "").strip(),
            name_field=given(name_field),
            id_field=given(id_field),
            crs=given(crs),
            encoding=given(encoding),
            gpkg_layer=given(gpkg_layer),
            replace=bool(replace),
            source_name=name,
            precision_m=precision_m,
        )
    log.info("app import of %s as %s (%s): %d features", name, report.layer, report.kind, report.n_stored)
    return report


def report_rows(report: importer.ImportReport) -> pd.DataFrame:
    """The report of an import as a small table (``Dato``, ``Valor``), in Spanish.

    Rows: file, CRS of origin, features read, repaired, dropped (with one row per
    reason), stored, geometry types, extent (WGS 84) and, when any, the share
    outside the commune, unknown ids and repeated names.
    """
    r = report
    n_dropped = sum(r.dropped.values())
    rows: list[tuple[str, str]] = [
        ("Capa", f"{r.layer} ({KIND_LABELS.get(r.kind, r.kind).split(' (')[0].lower()}, clase {r.clase})"),
        ("Archivo", f"{r.source_file} ({r.source_format}" + (f", capa «{r.source_layer}»" if r.source_layer else "")
         + (f", codificación {r.encoding})" if r.encoding else ")")),
        ("SRC de origen", r.crs_origin + (f", {r.crs_note}" if r.crs_note else "")),
        ("Elementos leídos", str(r.n_read)),
        ("Reparados", str(r.n_repaired)),
        ("Descartados", str(n_dropped)),
    ]
    rows += [(f"Descartados: {reason}", str(n)) for reason, n in r.dropped.items()]
    rows += [
        ("Guardados", str(r.n_stored)),
        ("Geometrías", ", ".join(f"{t} {n}" for t, n in r.geometry_types.items())),
        ("Extensión (WGS 84)", importer.extent_text(r.bbox_wgs84)),
    ]
    if r.outside_share:
        rows.append(("Fuera de la comuna", f"{round(r.outside_share * 100)} % de los elementos"))
    if r.unknown_ids:
        rows.append(("Ids que no están en el catálogo", ", ".join(r.unknown_ids[:20]) + (" …" if len(r.unknown_ids) > 20 else "")))
    if r.duplicates:
        rows.append(("Repetidos", ", ".join(r.duplicates[:20]) + (" …" if len(r.duplicates) > 20 else "")))
    return pd.DataFrame(rows, columns=["Dato", "Valor"])


def headline(report: importer.ImportReport) -> str:
    """One line saying what an import stored."""
    done = "reemplazada" if report.replaced else "importada"
    return f"Capa «{report.layer}» {done}: {report.n_stored} de {report.n_read} elementos guardados en WGS 84 (EPSG:4326)."


# --------------------------------------------------------------------------- removal


def imported_layers(registry: pd.DataFrame | None = None) -> list[str]:
    """Names of the layers people imported (registry ``origen`` ``importada``), sorted."""
    reg = store.list_layers() if registry is None else registry
    return sorted(reg.loc[reg["origen"] == store.IMPORTED, "nombre"].astype(str))


def remove_imported(name: str) -> str:
    """Remove an imported layer; return a Spanish line saying what happened.

    Raises
    ------
    layers._errors.SitError
        Unknown or shipped layer (:class:`~layers.store.StoreError`).
    """
    store.remove_layer(name)
    if name in (*shipped.LAYERS, *shipped.TABLES):
        return f"Capa importada «{name}» eliminada; vuelve a estar la capa «{name}» incluida en el sistema."
    return f"Capa importada «{name}» eliminada."
