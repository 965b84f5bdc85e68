"""Initiatives placed on the map in the app: drawn points, lines and polygons, and their removal.

A planner draws a geometry for an initiative (or removes it); this module checks
the role (:func:`layers.access.sessions.require_role`, ``ubicar_iniciativas``),
validates the geometry, records it and publishes the site layer the app and the
command line use by default:

``ubicaciones_dibujadas`` (editable table, the record)
    One row per initiative placed in the app: ``id``, ``geojson`` (the geometry,
    RFC 7946 GeoJSON in EPSG:4326; empty when the planner removed it),
    ``fuente_geometria`` (``dibujada por <cuenta> el <fecha>`` or ``retirada por …``),
    ``precision_m`` (metres), ``autor``, ``fecha_hora``, ``version``.
``ubicaciones_historial`` (editable table, append-only)
    Same columns as the monitoring history (:data:`layers.monitoring.history.HISTORY_COLUMNS`);
    ``campo`` is ``ubicacion``, the values are ``<tipo> · <fuente>`` texts. Scopes chosen from a
    list (:mod:`layers.access.linking`) are appended here too, with ``campo`` ``alcance``.
``ubicaciones_app`` (site layer, registry ``clase`` ``ubicaciones``)
    Written after every change: the newest other imported site layer (if any) with the
    app's placements laid over it, so it is the newest site layer and therefore the
    default sites (:func:`layers.initiatives.default_sites`); initiatives are re-linked
    to territories from it at once (:func:`layers.initiatives.overlay_sites`). A removed
    geometry is a feature with no geometry, which clears the shipped referential one.

Validation: not empty, valid (OGC simple features; no repair is guessed), a point,
line or polygon (or their multi-part forms), inside the commune's official boundary
(1 m of tolerance), at most :data:`MAX_VERTICES` vertices. Coordinates are rounded to
:data:`layers.settings.COORD_DECIMALS` decimals.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping, shape

from geo.crs import UTM19S, WGS84
from layers import initiatives, settings, store
from layers._errors import SitError, UnknownLayerError
from layers.access import roles
from layers.access.sessions import Session, require_role
from layers.monitoring.history import HISTORY_COLUMNS, now_iso

__all__ = [
    "TABLE", "HISTORY", "LAYER", "MAX_VERTICES", "PlacementError", "check_geometry", "click_precision_m",
    "place", "remove", "placements", "history",
]

TABLE, HISTORY, LAYER = "ubicaciones_dibujadas", "ubicaciones_historial", "ubicaciones_app"
COLUMNS: dict[str, str] = {
    "id": "TEXT", "geojson": "TEXT", "fuente_geometria": "TEXT", "precision_m": "INTEGER", "autor": "TEXT",
    "fecha_hora": "TEXT", "version": "INTEGER",
}
#: Most vertices a drawn geometry may have.
MAX_VERTICES = 5000
#: Tolerance of the inside-the-commune check, in metres.
COMMUNE_TOLERANCE_M = 1.0
#: Pixels a person's click or vertex may be off by, for :func:`click_precision_m`.
CLICK_PIXELS = 5
_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
_TYPE_LABELS = {"Point": "punto", "MultiPoint": "puntos", "LineString": "línea", "MultiLineString": "líneas",
                "Polygon": "polígono", "MultiPolygon": "polígonos"}


class PlacementError(SitError):
    """A geometry that cannot be stored (codes ``empty_geometry``, ``invalid_geometry``,
    ``bad_geometry_type``, ``outside_commune``, ``too_many_vertices``, ``unknown_initiative``, ``not_placed``)."""

    default_code = "invalid_geometry"


def click_precision_m(zoom: float, latitude: float) -> int:
    """Honest precision of a geometry drawn on a web map, in metres.

    :data:`CLICK_PIXELS` pixels at the zoom it was drawn at, in Web Mercator ground
    resolution (156 543.03 m per pixel at zoom 0 on the equator, times cos(latitude)).
    """
    metres = CLICK_PIXELS * 156_543.03 * math.cos(math.radians(latitude)) / 2 ** float(zoom)
    return max(1, int(round(metres)))


def _commune() -> shapely.Geometry:
    layer = store.read_layer("comuna")
    return shapely.union_all(layer.to_crs(UTM19S).geometry.to_numpy())


def check_geometry(geojson: dict | str | shapely.Geometry) -> shapely.Geometry:
    """The drawn geometry, validated, in EPSG:4326 with rounded coordinates.

    Parameters
    ----------
    geojson : dict, str or shapely geometry
        A GeoJSON geometry (or Feature) in EPSG:4326, lon/lat.

    Raises
    ------
    PlacementError
        With the reason's code; the message is one Spanish line.
    """
    try:
        if isinstance(geojson, str):
            geojson = json.loads(geojson)
        if isinstance(geojson, dict) and geojson.get("type") == "Feature":
            geojson = geojson.get("geometry")
        geom = geojson if isinstance(geojson, shapely.Geometry) else shape(geojson)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as exc:
        raise PlacementError("La geometría dibujada no se pudo leer.", code="invalid_geometry") from exc
    if geom is None or geom.is_empty:
        raise PlacementError("La geometría está vacía.", code="empty_geometry")
    if geom.geom_type not in _TYPES:
        raise PlacementError("Solo se guardan puntos, líneas o polígonos.", code="bad_geometry_type",
                             tipo=geom.geom_type)
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise PlacementError(f"La geometría tiene más de {MAX_VERTICES} vértices.", code="too_many_vertices")
    for candidate in (geom, shapely.force_2d(shapely.set_precision(geom, 10 ** -settings.COORD_DECIMALS,
                                                                      mode="pointwise"))):
        if candidate.is_empty or not candidate.is_valid:
            reason = shapely.is_valid_reason(candidate)
            raise PlacementError(f"La geometría no es válida ({reason}).", code="invalid_geometry", reason=reason)
        geom = candidate
    metric = gpd.GeoSeries([geom], crs=WGS84).to_crs(UTM19S).iloc[0]
    if not _commune().buffer(COMMUNE_TOLERANCE_M).covers(metric):
        raise PlacementError("La geometría sale del límite de la comuna de Vallenar.", code="outside_commune")
    return geom


def _records() -> pd.DataFrame:
    try:
        return store.read_table(TABLE)
    except UnknownLayerError:
        return pd.DataFrame(columns=list(COLUMNS))


def placements() -> gpd.GeoDataFrame:
    """The app's placements: ``id``, ``fuente_geometria``, ``precision_m``, ``autor``, ``fecha_hora``, geometry
    (None where the planner removed it), EPSG:4326."""
    rows = _records()
    geoms = [shape(json.loads(g)) if isinstance(g, str) and g else None for g in rows["geojson"]]
    frame = rows.drop(columns=["geojson", "version"]).reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84)


def history(ident: str | None = None) -> pd.DataFrame:
    """Placement history entries, oldest first (columns :data:`HISTORY_COLUMNS`)."""
    try:
        frame = store.read_table(HISTORY, where={"id": ident} if ident else None)
    except UnknownLayerError:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return frame.reindex(columns=list(HISTORY_COLUMNS)).reset_index(drop=True)


def _summary(geojson: object, source: object) -> str:
    if not isinstance(geojson, str) or not geojson:
        return str(source or "") if source else ""
    kind = json.loads(geojson).get("type", "")
    return f"{_TYPE_LABELS.get(kind, kind)} · {source}"


def _check_initiative(ident: str) -> None:
    ids = store.read_layer(initiatives.LAYER, columns=["id"], read_geometry=False)["id"]
    if ident not in set(ids):
        raise PlacementError(f"No existe la iniciativa «{str(ident)[:40]}».", code="unknown_initiative")


def _record(session: Session, ident: str, geom: shapely.Geometry | None, source: str, precision: int | None,
            motivo: str, stamp: str, previous: pd.Series | None = None) -> None:
    store.define_table(TABLE, COLUMNS, key=["id"])
    store.define_table(HISTORY, HISTORY_COLUMNS, key=None)
    text = "" if geom is None else json.dumps(mapping(geom), separators=(",", ":"))
    with store.transaction() as tx:
        before = tx.read(TABLE, {"id": ident})
        old = before.iloc[-1] if len(before) else None
        version = 0 if old is None else int(old["version"] or 0)
        tx.upsert(TABLE, pd.DataFrame([{
            "id": ident, "geojson": text, "fuente_geometria": source, "precision_m": precision,
            "autor": session.nombre, "fecha_hora": stamp, "version": version + 1}]))
        tx.insert(HISTORY, pd.DataFrame([{
            "id": ident, "campo": "ubicacion",
            "valor_anterior": _before(old, previous),
            "valor_nuevo": _summary(text, source), "autor": session.nombre, "fecha_hora": stamp,
            "motivo": motivo, "lote": f"ubicacion-{ident}-{version + 1}"}]))


def _before(old: pd.Series | None, previous: pd.Series | None) -> str:
    """What the history says the place was: the app's last placement, else the site in use (shipped or imported)."""
    if old is not None:
        return _summary(old["geojson"], old["fuente_geometria"])
    if previous is None:
        return ""
    text = json.dumps(mapping(previous.geometry), separators=(",", ":"))
    return _summary(text, previous.get("fuente_geometria") or "")


def _publish() -> None:
    """Write the site layer :data:`LAYER`: the newest other site layer with the app's placements over it.

    Read and written under the store's writer lock, so two planners placing at once both end up in it.
    """
    with store.backend().exclusive():
        _write_published()


def _write_published() -> None:
    registry = store.list_layers()
    others = [n for n in initiatives.site_layers(registry) if n != LAYER]
    mine = placements()[["id", "fuente_geometria", "precision_m", "geometry"]]
    if others:
        base = store.read_layer(others[0])[["id", "fuente_geometria", "precision_m", "geometry"]].to_crs(WGS84)
        base = base[~base["id"].isin(mine["id"])]
        mine = pd.concat([base, mine], ignore_index=True)
    frame = gpd.GeoDataFrame(mine, geometry="geometry", crs=WGS84)
    frame["precision_m"] = pd.array(frame["precision_m"], dtype="Int64")
    based = f" sobre «{others[0]}»" if others else ""
    store.save_layer(LAYER, frame, {
        "titulo": "Ubicaciones dibujadas en la aplicación",
        "descripcion": f"Ubicaciones de iniciativas dibujadas o retiradas por planificadores en la aplicación{based}.",
        "clase": initiatives.SITES_CLASE, "fuente": "Municipalidad de Vallenar, planificadores (SIT Vallenar)",
        "archivo": "", "crs_origen": "EPSG:4326",
    }, replace=True)


def place(session: Session | None, ident: str, geojson: dict | str, precision_m: int, motivo: str = "",
          now: _dt.datetime | None = None) -> tuple[Session, shapely.Geometry]:
    """Store a drawn geometry for an initiative as the session's account.

    Parameters
    ----------
    session : Session or None
        Checked here (``ubicar_iniciativas``).
    ident : str
        Initiative id.
    geojson : dict or str
        GeoJSON geometry (or Feature) in EPSG:4326.
    precision_m : int
        Honest precision in metres (see :func:`click_precision_m`); at least 1.
    motivo : str, optional
        Why, kept in the history.
    now : datetime.datetime, optional
        Time of the change (tests).

    Returns
    -------
    (Session, shapely.Geometry)
        The refreshed session and the stored geometry.

    Raises
    ------
    layers.access.roles.AccessDenied
        The session may not place initiatives.
    PlacementError
        A bad geometry or an unknown initiative; nothing is written.
    """
    session = require_role(session, roles.PLACE_INITIATIVES)
    _check_initiative(ident)
    geom = check_geometry(geojson)
    stamp = now_iso(now)
    source = f"dibujada por {session.nombre} el {stamp[:10]}"
    precision = max(1, int(precision_m))
    previous = current_site(ident)
    if previous is not None and _keeps_parts_of(geom, previous.geometry):
        # The drawing tool starts from the current place: parts left as they were keep their own
        # (coarser) precision and source, so the whole is no more precise than its least precise part.
        old_precision = pd.to_numeric(pd.Series([previous.get("precision_m")]), errors="coerce").iloc[0]
        if pd.notna(old_precision):
            precision = max(precision, int(old_precision))
        source += f", sobre partes de la ubicación anterior ({previous.get('fuente_geometria') or 'sin fuente'})"
    _record(session, ident, geom, source, precision, _reason(motivo), stamp, previous)
    _publish()
    return session, geom


def current_site(ident: str) -> pd.Series | None:
    """The place an initiative has now (app placements over the sites in use), or None.

    Returns
    -------
    pandas.Series or None
        ``geometry`` (EPSG:4326), ``fuente_geometria`` and ``precision_m`` of the initiative in
        :func:`layers.initiatives.with_sites` of the default sites; None without a place.
    """
    layer = initiatives.with_sites(initiatives.default_sites())
    row = layer.loc[layer["id"] == ident]
    if row.empty or row.geometry.iloc[0] is None or row.geometry.iloc[0].is_empty:
        return None
    return row.iloc[0]


def _keeps_parts_of(new: shapely.Geometry, old: shapely.Geometry) -> bool:
    """Whether some part of ``old`` is still, unchanged (to 1e-6 degree), a part of ``new``."""
    def parts(g: shapely.Geometry) -> list[shapely.Geometry]:
        return [shapely.set_precision(p, 1e-6) for p in getattr(g, "geoms", [g])]

    kept = parts(new)
    return any(any(shapely.equals(o, k) for k in kept) for o in parts(old))


def remove(session: Session | None, ident: str, motivo: str = "",
           now: _dt.datetime | None = None) -> Session:
    """Remove an initiative's geometry (drawn or shipped): it is then reached through its scope only.

    Raises
    ------
    layers.access.roles.AccessDenied
        The session may not place initiatives.
    PlacementError
        ``unknown_initiative``.
    """
    session = require_role(session, roles.PLACE_INITIATIVES)
    _check_initiative(ident)
    stamp = now_iso(now)
    _record(session, ident, None, f"retirada por {session.nombre} el {stamp[:10]}", None, _reason(motivo), stamp,
            current_site(ident))
    _publish()
    return session


def _reason(motivo: object) -> str:
    return re.sub(r"\s+", " ", str(motivo or "")).strip()[:300]


def merge_drawings(features: list[dict] | None) -> dict | None:
    """One GeoJSON geometry from the features a drawing tool returns (Leaflet.draw's layers), or None.

    Points become a Point or MultiPoint, lines a LineString or MultiLineString, polygons
    a Polygon or MultiPolygon (overlapping parts are kept apart; :func:`check_geometry`
    refuses what is not valid). Drawings of different kinds give a GeometryCollection,
    which :func:`check_geometry` refuses.
    """
    geoms = []
    for feature in features or []:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if geometry:
            try:
                geoms.append(shape(geometry))
            except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
                continue
    if not geoms:
        return None
    parts = [p for g in geoms for p in getattr(g, "geoms", [g])]
    kinds = {p.geom_type for p in parts}
    if len(parts) == 1:
        merged = parts[0]
    elif kinds == {"Point"}:
        merged = shapely.MultiPoint(parts)
    elif kinds == {"LineString"}:
        merged = shapely.MultiLineString(parts)
    elif kinds == {"Polygon"}:
        merged = shapely.MultiPolygon(parts)
    else:
        merged = shapely.GeometryCollection(parts)
    return mapping(merged)
