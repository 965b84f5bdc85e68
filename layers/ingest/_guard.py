"""What the importer lets GDAL open, and what it never lets GDAL do.

GDAL picks a driver from a file's *content*, not from the extension the importer
checked, and several of its drivers and virtual file systems read other files
or fetch URLs: a VRT XML file named ``capa.gpkg`` opens ``CSV:/etc/passwd``, a
``/vsicurl/http://...`` path sends an HTTP request. Four locks keep an imported
file to itself:

1. **Content before GDAL** (:func:`refuse_disguise`, :func:`check_magic`): every
   input, and every member of a zip or KMZ, is scanned for VRT markup
   (``<OGRVRTDataSource``, ``<VRTDataset``), GDAL streamed-algorithm files
   (``gdal_streamed_alg``) and GDAL virtual file system prefixes (``/vsicurl/``,
   ``/vsis3/``, ``/vsistdin/``, any ``/vsi.../``); then the file the format
   names must look like that format: SQLite header and GeoPackage
   ``application_id`` for ``.gpkg``, XML root ``<kml>`` for KML, file code 9994
   for ``.shp`` and ``.shx``, a dBASE header for ``.dbf``, a JSON object or
   array for GeoJSON. Refusals are :class:`~layers._errors.InputFileError` with
   code ``"disguised_file"``.
2. **One driver per format** (:func:`gdal_source`): GeoPackage and GeoJSON are
   opened through GDAL's ``GPKG:`` and ``GeoJSON:`` prefixes, which make GDAL
   use only that driver; Shapefile and KML (no such prefix) rely on lock 1 and 3.
   Paths handed to GDAL are always ones the importer built in its own temporary
   folder, with plain characters, so no file name can become a URL, an archive
   path (``!``) or a ``/vsi`` path.
3. **Drivers that read other sources are unregistered** (:func:`lock_down`):
   :data:`SKIPPED_DRIVERS` through GDAL's ``GDAL_SKIP`` configuration option.
4. **No network from GDAL** in this process (:func:`lock_down`): ``/vsicurl/``
   and its kin accept no file name (``CPL_VSIL_CURL_ALLOWED_FILENAME``), every
   other HTTP request of GDAL goes to a proxy on a closed local port
   (``GDAL_HTTP_PROXY``, ``GDAL_HTTPS_PROXY``), ``/vsistdin/`` is off
   (``CPL_ALLOW_VSISTDIN``), PROJ's network grids are off. A GeoJSON ``crs``
   member that links to a resource is refused (:func:`check_geojson_crs`),
   because GDAL would fetch it.

:func:`lock_down` runs when :mod:`layers.ingest` is imported, so inspect,
preview and import in the command line and the app all run locked.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import pyogrio
import pyproj

from layers._errors import InputFileError

log = logging.getLogger(__name__)

#: GDAL drivers that read other files or URLs named in their input, run programs,
#: or talk to servers; none of them is an import format. Unregistered in this process.
SKIPPED_DRIVERS = (
    "VRT", "OGR_VRT", "GDALG",  # virtual: open the sources their XML/JSON names
    "WFS", "OAPIF", "OGCAPI", "CSW", "HTTP", "EEDA", "PLSCENES", "NGW", "Elasticsearch",
    "Carto", "AmigoCloud", "ADBC", "WMS", "WCS", "STACIT", "STACTA", "DAAS",
    "GPSBabel",  # runs an external program
)
#: A proxy on a closed local port: every HTTP request GDAL would make fails at once, sending nothing.
DEAD_PROXY = "127.0.0.1:0"
#: GDAL configuration set by :func:`lock_down` (see the module docstring).
GDAL_OPTIONS = {
    "GDAL_SKIP": " ".join(SKIPPED_DRIVERS),
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/sit-vallenar/no-network",
    "GDAL_HTTP_PROXY": DEAD_PROXY,
    "GDAL_HTTPS_PROXY": DEAD_PROXY,
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_ALLOW_VSISTDIN": "NO",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    "PROJ_NETWORK": "OFF",
}
#: Markers (lower case) of content that makes GDAL open something else: VRT XML, streamed algorithms.
_MARKERS = (b"ogrvrtdatasource", b"vrtdataset", b"gdal_streamed_alg")
#: A GDAL virtual file system prefix (``/vsicurl/``, ``/vsis3/``, ``/vsistdin/``...), matched on lower-cased bytes.
_VSI = re.compile(rb"/vsi[a-z0-9_]{2,}/")
_CHUNK = 1 << 20
_OVERLAP = 64
#: GeoPackage ``application_id`` values (SQLite header offset 68): "GPKG", "GP10", "GP11".
_GPKG_IDS = (b"GPKG", b"GP10", b"GP11")
#: First bytes of a dBASE table (versions dBASE III to VII, FoxPro, with or without memo).
_DBF_VERSIONS = {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xE5, 0xF5, 0xFB}
_XML_PROLOG = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)",
    re.DOTALL,
)
_LOCKED = False


def lock_down() -> None:
    """Set :data:`GDAL_OPTIONS` for the whole process and unregister :data:`SKIPPED_DRIVERS`.

    GDAL applies ``GDAL_SKIP`` when drivers are registered; pyogrio registers them
    when it is first imported, often before this runs, so they are registered
    again here (pyogrio's registration calls ``GDALAllRegister``, which applies
    ``GDAL_SKIP``). Idempotent.
    """
    global _LOCKED
    if _LOCKED:
        return
    pyogrio.set_gdal_config_options(GDAL_OPTIONS)
    try:
        from pyogrio._ogr import _register_drivers  # noqa: PLC0415 - GDALAllRegister, applies GDAL_SKIP
    except ImportError:  # pragma: no cover - another pyogrio: locks 1, 2 and 4 still hold
        log.warning("pyogrio cannot register GDAL drivers again; GDAL_SKIP only applies to a new process")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL names skipped drivers this build lacks
            _register_drivers()
    pyproj.network.set_network_enabled(active=False)
    _LOCKED = True


def still_registered() -> list[str]:
    """Drivers of :data:`SKIPPED_DRIVERS` that GDAL still offers (empty once :func:`lock_down` ran)."""
    available = pyogrio.list_drivers()
    return [d for d in SKIPPED_DRIVERS if d in available]


def _refuse(name: str, what: str) -> InputFileError:
    return InputFileError(
        f"«{name}» no es el archivo que dice ser: {what}. Por seguridad no se abre.", code="disguised_file", file=name
    )


def refuse_disguise(path: Path, name: str) -> None:
    """Refuse ``path`` when its bytes hold VRT markup, a GDAL streamed algorithm or a ``/vsi`` path.

    Parameters
    ----------
    path : pathlib.Path
        File on disk (read in 1 MiB chunks; sizes are bounded by the upload and unzip limits).
    name : str
        Name for the message (``"capa.zip: capa.shp"``).

    Raises
    ------
    layers._errors.InputFileError
        Code ``"disguised_file"``.
    """
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            text = tail + chunk.lower()
            marker = next((m for m in _MARKERS if m in text), None)
            if marker is None:
                found = _VSI.search(text) if b"/vsi" in text else None
                marker = found.group(0) if found else None
            if marker is not None:
                shown = marker.decode("ascii", "replace")
                raise _refuse(name, f"contiene «{shown}», contenido que haría a GDAL leer otros archivos o direcciones")
            tail = text[-_OVERLAP:]


def _head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(n)


def xml_root(head: bytes) -> str | None:
    """Local name of the root element of an XML document's first bytes (``"kml"``), ``None`` if not XML."""
    found = _XML_PROLOG.match(head)
    return found.group(1).decode("ascii", "replace") if found else None


def check_magic(kind: str, path: Path, name: str) -> None:
    """Refuse a file whose first bytes are not those of the format its name declares.

    Parameters
    ----------
    kind : {"gpkg", "kml", "shp", "shx", "dbf", "geojson", "csv"}
        Format the importer will read it as.
    path : pathlib.Path
    name : str
        Name for the message.

    Raises
    ------
    layers._errors.InputFileError
        Code ``"disguised_file"``.
    """
    head = _head(path)
    if kind == "gpkg":
        if not head.startswith(b"SQLite format 3\x00") or head[68:72] not in _GPKG_IDS:
            raise _refuse(name, "no es un GeoPackage (falta la cabecera SQLite con el identificador GPKG)")
    elif kind == "kml":
        root = xml_root(head)
        if root is None or root.lower() != "kml":
            raise _refuse(name, "no es un KML (su elemento raíz no es <kml>)")
    elif kind in ("shp", "shx"):
        if head[:4] != b"\x00\x00\x27\x0a":
            raise _refuse(name, f"no es un archivo .{kind} de Shapefile (falta el código de archivo 9994)")
    elif kind == "dbf":
        if not head or head[0] not in _DBF_VERSIONS:
            raise _refuse(name, "no es una tabla .dbf de Shapefile (cabecera dBASE desconocida)")
    elif kind == "geojson" and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        raise _refuse(name, "no es GeoJSON (no empieza con un objeto JSON)")


def check_geojson_crs(doc: object, name: str) -> None:
    """Refuse a GeoJSON whose ``crs`` member points to a resource GDAL would fetch or open.

    The 2008 GeoJSON ``crs`` of type ``link`` (and any ``href`` or URL in it) makes
    GDAL fetch the CRS definition; RFC 7946 has no ``crs`` at all.

    Raises
    ------
    layers._errors.InputFileError
        Code ``"external_reference"``.
    """
    crs = doc.get("crs") if isinstance(doc, dict) else None
    if not isinstance(crs, dict):
        return
    props = crs.get("properties") if isinstance(crs.get("properties"), dict) else {}
    text = " ".join(str(v) for v in props.values())
    if str(crs.get("type", "")).lower() == "link" or "href" in props or re.search(r"[a-z][a-z0-9+.-]*://|/vsi", text, re.I):
        raise InputFileError(
            f"El miembro «crs» de «{name}» remite a un recurso externo; el importador no sigue enlaces. "
            "Quite ese miembro e indique el sistema de coordenadas.",
            code="external_reference",
            file=name,
        )


def gdal_source(kind: str, path: Path) -> str:
    """The connection string that opens ``path`` with the one GDAL driver of ``kind``.

    ``GPKG:`` and ``GeoJSON:`` make GDAL use only that driver; Shapefile and KML
    paths go as they are (checked by :func:`check_magic`). ``path`` must be one
    the importer built (plain characters; see :func:`safe_path`).
    """
    text = str(path)
    if not safe_path(text):
        raise InputFileError("Ruta interna inesperada para GDAL; no se abre.", code="unsafe_path")
    prefix = {"gpkg": "GPKG:", "geojson": "GeoJSON:"}.get(kind, "")
    return prefix + text


_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./-]+")


def safe_path(text: str) -> bool:
    """True for absolute paths of plain characters that are not GDAL virtual paths."""
    return bool(_SAFE_PATH.fullmatch(text)) and not text.startswith("/vsi") and "/../" not in text
