"""Import and removal of layers on the page ``capas``, for planners only.

Drawn by ``pages/capas.py`` (:func:`render`) below the catalogue, for a tab signed in
with an account whose role may import (``planificador``, ``administrador``; see
:mod:`layers.access`). Anyone else sees one line and a link to sign in: no uploader
is drawn, so no file can be sent. The role is checked again on the server right
before an import or a removal (:func:`_checked`), with the tab's current session
(an expired session or a deactivated account is refused there).

The work is done by :mod:`layers.ingest.upload` (bytes -> :func:`layers.ingest.importer.import_file`)
and :mod:`layers.store`; this module only draws the form and the results. After an
import or a removal the script reruns: the store file has changed, so the cached
loaders of :mod:`pages._shared` (keyed on the store version) read it again and the
catalogue table above shows the change at once.
"""

from __future__ import annotations

import logging

import streamlit as st

from geo.crs import CHILEAN_CRS
from layers import settings
from layers._errors import SitError
from layers.access import roles, sessions
from layers.access.roles import AccessDenied
from layers.ingest import upload
from pages import _access as access
from pages import _shared as shared

log = logging.getLogger(__name__)

# Session-state keys.
K_GEN = "import_generacion"  # bumped after an import or a removal: fresh uploader and checkbox
K_FILE_ID = "import_archivo_id"
K_RESULT = "import_resultado"  # last report (ImportReport)
K_REMOVED = "import_eliminada"  # last removal message
K_CACHE = "import_inspeccion"
K_IMPORT_REQUEST = "import_pedido"  # set by the button's callback, handled (once) by the script
K_REMOVE_REQUEST = "import_eliminar_pedido"

UNEXPECTED = (
    "No se pudo importar «{name}» por un error inesperado del sistema. "
    "El detalle quedó en el registro del servidor; avise al equipo del SIT."
)
ALL_FOLDERS = "(todas las carpetas)"


def _crs_hint(data: dict) -> str:
    return f"Pruebe escribir {data['suggested'][0]} en «{upload.LABEL_CRS}»." if data.get("suggested") else ""


#: Hints for import errors in the form's words, by error code (domain messages name no form field).
FORM_HINTS = {
    "layer_exists": lambda d: f"Marque «{upload.LABEL_REPLACE}» para reemplazarla.",
    "crs_missing": lambda d: f"Indíquelo con «{upload.LABEL_CRS}», p. ej. EPSG:32719.",
    "outside_commune": _crs_hint,
    "outside_crs_domain": _crs_hint,
    "crs_transform_failed": lambda d: f"Indique el sistema correcto en «{upload.LABEL_CRS}».",
    "no_geometry_columns": lambda d: f"Para x/y indique el sistema en «{upload.LABEL_CRS}».",
    "bad_encoding": lambda d: f"Pruebe la codificación {d['suggested']} en «{upload.LABEL_ENCODING}».",
    "several_layers": lambda d: f"Indíquelo en «{upload.LABEL_SOURCE_LAYER}».",
    "layer_not_found": lambda d: f"Elija una en «{upload.LABEL_SOURCE_LAYER}».",
    "name_field_missing": lambda d: f"Complete «{upload.LABEL_NAME_FIELD}».",
    "id_field_missing": lambda d: f"Complete «{upload.LABEL_ID_FIELD}».",
    "field_missing": lambda d: f"Revise «{upload.LABEL_NAME_FIELD if d.get('role') == 'name_field' else upload.LABEL_ID_FIELD}».",
    "duplicate_ids": lambda d: f"Con «{upload.LABEL_ID_FIELD}» vacío los identificadores se derivan de los nombres.",
    "datum_unknown": lambda d: f"Indíquelo en «{upload.LABEL_CRS}», p. ej. EPSG:24879 si es PSAD56 / UTM 19S.",
    "crs_conflict": lambda d: f"Deje «{upload.LABEL_CRS}» vacío: vale el {d['declared']} del archivo.",
}


def phrase(exc: SitError) -> str:
    """The message of an import error with the form's hint for its code."""
    hint = FORM_HINTS.get(exc.code)
    text = hint(exc.data) if hint else ""
    return f"{exc} {text}" if text else str(exc)


# --------------------------------------------------------------------------- access


def _checked(action: str) -> bool:
    """Check on the server, right before acting, that this tab may ``action``; say why not otherwise."""
    try:
        access.sign_in(sessions.require_role(access.current(), action))
    except AccessDenied as exc:
        log.warning("refused %s to role %s (%s)", action, exc.data.get("role"), exc.code)
        st.error(str(exc))
        return False
    return True


# --------------------------------------------------------------------------- import form


def _request(key: str, value: object) -> None:
    """Button callback: remember the request in the session; the script body carries it out.

    A click is kept in the session rather than read from the button's return value,
    which is True for one script run only and would be lost if that run restarts.
    The results of the previous request are dropped, so they are not shown beside the new one.
    """
    st.session_state.pop(K_RESULT, None)
    st.session_state.pop(K_REMOVED, None)
    st.session_state[key] = value


def _generation() -> int:
    return int(st.session_state.get(K_GEN, 0))


def _inspected(file_id: str, name: str, data: bytes) -> list[dict[str, object]]:
    """Layers of the uploaded file, looked at once per upload."""
    return shared.session_cached(K_CACHE, ("capas", file_id), lambda: upload.inspect_upload(name, data))


def _peek(file_id: str, name: str, data: bytes, encoding: str | None, layer: str | None):
    """Format, fields and CRS of the uploaded file, or the Spanish reason it cannot be read."""

    def build():
        try:
            return upload.peek_upload(name, data, encoding=encoding, gpkg_layer=layer)
        except SitError as exc:
            return phrase(exc)

    return shared.session_cached(K_CACHE + "_campos", (file_id, encoding, layer), build)


def _source_layer(uploaded, data: bytes) -> str | None:
    """The layer to read inside the file, chosen in the form when the file holds several."""
    layers = _inspected(uploaded.file_id, uploaded.name, data)
    if len(layers) < 2:
        return None
    is_kml = uploaded.name.lower().endswith((".kml", ".kmz"))
    names = [str(row["capa"]) for row in layers]
    described = {
        str(row["capa"]): f"{row['capa']} ({row['geometria'] or 'geometría ?'}, "
        f"{'?' if row['n'] is None else row['n']} elementos)"
        for row in layers
    }
    options = [ALL_FOLDERS, *names] if is_kml else names
    chosen = st.selectbox(
        upload.LABEL_SOURCE_LAYER, options, key=f"import_capa_archivo_{_generation()}",
        format_func=lambda n: described.get(n, n),
        help="El archivo tiene varias capas (GeoPackage), carpetas (KML) o Shapefiles (zip): elija cuál importar.",
    )
    return None if chosen == ALL_FOLDERS else chosen


def _show_report() -> None:
    report = st.session_state.get(K_RESULT)
    if report is None:
        return
    st.success(shared.md_escape(upload.headline(report)))
    # A static table: a handful of rows, readable as text (and by screen readers); cells are Markdown.
    st.table(upload.report_rows(report).map(shared.md_escape), hide_index=True, hide_header=True, border="horizontal")
    for warning in report.warnings:
        st.caption(f"Aviso: {shared.md_escape(warning)}")


def _import_form() -> None:
    """The import form: the file, how to import it, what the file holds, and the button."""
    st.markdown("#### Importar una capa")
    st.caption(
        "GeoJSON, Shapefile comprimido (.zip con .shp, .shx, .dbf y .prj), GeoPackage, KML/KMZ o CSV "
        f"(lat/lon, x/y o wkt), hasta {upload.limit_text()}. La capa se guarda en WGS 84 (EPSG:4326) "
        "y el archivo original no se conserva. Formatos y reglas: docs/formatos.md."
    )
    _show_report()
    gen = _generation()
    uploaded, data = _uploaded_file(gen)
    source_layer = _source_layer(uploaded, data) if data else None
    about = st.container()
    kind, encoding = _options(gen)
    if data:
        _describe(about, uploaded, data, encoding, source_layer)
    st.button(
        "Importar", type="primary", disabled=uploaded is None, key="import_boton",
        on_click=_request, args=(K_IMPORT_REQUEST, True),
    )
    if st.session_state.pop(K_IMPORT_REQUEST, False) and uploaded is not None:
        _run_import(uploaded, source_layer, encoding)


def _uploaded_file(gen: int):
    """Step 1: the uploader; a new file proposes its layer name. Returns the file and its bytes (none if too big)."""
    uploaded = st.file_uploader(
        "Archivo", type=list(upload.ACCEPTED_TYPES), key=f"import_archivo_{gen}",
        max_upload_size=upload.uploader_limit_mb(),
    )
    if uploaded is not None and st.session_state.get(K_FILE_ID) != uploaded.file_id:
        st.session_state[K_FILE_ID] = uploaded.file_id
        st.session_state["import_nombre"] = upload.suggest_layer_name(uploaded.name)
    too_big = uploaded is not None and uploaded.size > settings.UPLOAD_LIMIT_BYTES
    data = b"" if uploaded is None or too_big else uploaded.getvalue()
    return uploaded, data


def _options(gen: int) -> tuple[str, str | None]:
    """Step 2: how to import (kind, name, fields, CRS, encoding, precision, replace). Returns kind and encoding."""
    kind = st.radio(
        "Importar como", list(upload.KIND_LABELS), format_func=upload.KIND_LABELS.get,
        key="import_como",
    )
    st.text_input(
        "Nombre de la capa", key="import_nombre", max_chars=41,
        help="Minúsculas sin tildes, dígitos y _, empezando por una letra (p. ej. unidades_vecinales).",
    )
    cols = st.columns(2)
    cols[0].text_input(
        upload.LABEL_NAME_FIELD, key="import_campo_nombre",
        help="Obligatorio para territorios: el campo con el nombre de cada uno (p. ej. NOMBRE).",
    )
    cols[1].text_input(
        upload.LABEL_ID_FIELD, key="import_campo_id",
        help="Para ubicaciones de iniciativas, el campo con su id (p. ej. E1-P1-08); "
        "para territorios, opcional (identificadores únicos).",
    )
    crs_help = ", ".join(f"{code} ({label})" for code, label in CHILEAN_CRS.items())
    cols[0].text_input(
        upload.LABEL_CRS, key="import_src", placeholder="p. ej. EPSG:24879",
        help=f"Solo si el archivo no declara su sistema de coordenadas (o lo declara mal). Usuales en Chile: {crs_help}.",
    )
    encoding_label = cols[1].selectbox(
        upload.LABEL_ENCODING, list(upload.ENCODINGS), key="import_codificacion",
        help="Del texto de los atributos (Shapefile sin .cpg, CSV). Si las tildes o la ñ salen mal, pruebe otra.",
    )
    cols[0].number_input(
        upload.LABEL_PRECISION, min_value=0, step=1, value=None, key="import_precision",
        help="Incertidumbre conocida de las geometrías, en metros (opcional).",
    )
    cols[1].checkbox(  # unticked again after each import: replacing is decided file by file
        upload.LABEL_REPLACE, key=f"import_reemplazar_{gen}",
        help="Reemplaza una capa importada del mismo nombre, o una incluida del mismo tipo.",
    )
    if kind == "territorios":
        st.caption("Territorios: polígonos; indique el campo de nombre. Quedan disponibles como capa de territorios en el mapa y en Mi sector.")
    elif kind == "iniciativas":
        st.caption("Ubicaciones: cada elemento se asocia a la iniciativa del catálogo cuyo id trae; el catálogo no se modifica.")
    return kind, upload.ENCODINGS[encoding_label]


def _describe(about, uploaded, data: bytes, encoding: str | None, source_layer: str | None) -> None:
    """Step 3: what the chosen file holds (format, features, CRS, fields), or why it cannot be read."""
    peek = _peek(uploaded.file_id, uploaded.name, data, encoding, source_layer)
    if isinstance(peek, str):
        about.warning(f"Revise el archivo antes de importar: {shared.md_escape(peek)}")
        return
    crs = f"SRC declarado {peek.crs}" if peek.crs else "no declara su SRC (indíquelo abajo)"
    fields = ", ".join(peek.fields) if peek.fields else "ninguno"
    about.caption(shared.md_escape(f"«{uploaded.name}»: {peek.format}, {peek.n} elementos, {crs}. Campos: {fields}."))


def _run_import(uploaded, source_layer: str | None, encoding: str | None) -> None:
    if not _checked(roles.IMPORT_LAYERS):
        return
    state = st.session_state
    precision = state.get("import_precision")
    try:
        upload.check_upload(upload.safe_file_name(uploaded.name), uploaded.size)  # before reading the bytes
        with st.spinner("Importando…"):
            report = upload.import_upload(
                uploaded.name,
                uploaded.getvalue(),
                as_=state.get("import_como"),
                layer=state.get("import_nombre") or "",
                name_field=state.get("import_campo_nombre"),
                id_field=state.get("import_campo_id"),
                crs=state.get("import_src"),
                encoding=encoding,
                gpkg_layer=source_layer,
                replace=bool(state.get(f"import_reemplazar_{_generation()}")),
                precision_m=None if precision is None else int(precision),
            )
    except SitError as exc:
        st.error(shared.md_escape(phrase(exc)))
        return
    except Exception:  # never a traceback in the UI
        log.exception("import of %s from the app failed", uploaded.name)
        st.error(shared.md_escape(UNEXPECTED.format(name=upload.safe_file_name(uploaded.name))))
        return
    state[K_RESULT] = report
    state[K_GEN] = _generation() + 1  # a fresh, empty uploader
    for key in (K_FILE_ID, K_CACHE, K_CACHE + "_campos"):
        state.pop(key, None)
    st.rerun()  # the catalogue above is drawn again from the new store


# --------------------------------------------------------------------------- removal


def _remove_form() -> None:
    st.markdown("#### Eliminar una capa importada")
    removed = st.session_state.get(K_REMOVED)
    if removed:
        st.success(shared.md_escape(removed))
    names = upload.imported_layers(shared.registry())
    if not names:
        st.caption("No hay capas importadas.")
        return
    gen = _generation()
    chosen = st.selectbox(
        "Capa importada", names, key=f"import_eliminar_capa_{gen}",
        format_func=lambda n: f"{shared.layer_title(n)} ({n})",
    )
    confirmed = st.checkbox(
        f"Confirmo que quiero eliminar la capa «{shared.md_escape(chosen)}» del sistema", key=f"import_eliminar_confirma_{gen}",
    )
    st.button(
        "Eliminar capa", disabled=not confirmed, key="import_eliminar_boton",
        on_click=_request, args=(K_REMOVE_REQUEST, chosen),
    )
    if st.session_state.pop(K_REMOVE_REQUEST, None) == chosen and confirmed:
        if not _checked(roles.REMOVE_LAYERS):
            return
        try:
            message = upload.remove_imported(chosen)
        except SitError as exc:
            st.error(shared.md_escape(exc))
            return
        except Exception:  # never a traceback in the UI
            log.exception("removal of %s from the app failed", chosen)
            st.error(shared.md_escape(f"No se pudo eliminar «{chosen}» por un error inesperado; el detalle quedó en el registro del servidor."))
            return
        log.info("layer %s removed from the app", chosen)
        st.session_state[K_REMOVED] = message
        st.session_state[K_GEN] = gen + 1  # unticks the confirmation
        st.rerun()


# --------------------------------------------------------------------------- entry point


def render() -> None:
    """Draw the planners' section of ``capas``: the forms for a role that may import, a sign-in link otherwise."""
    st.divider()
    st.subheader("Importar y eliminar capas (planificadores)", anchor=False)
    session = access.current()
    if not roles.allowed(sessions.role_of(session), roles.IMPORT_LAYERS):
        st.caption("La importación y eliminación de capas es para planificadores de la municipalidad (SECPLAN, DOM), "
                   "con su cuenta.")
        if session is None:
            st.page_link(access.LOGIN_PAGE, label="Ingresar con una cuenta")
        return
    _import_form()
    _remove_form()
