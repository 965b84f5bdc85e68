"""The initiatives layer: the plan catalogue joined with scopes, sites and territories.

One feature per initiative of the catalogue. Initiatives whose place the plan
names carry a referential geometry with its ``fuente_geometria`` and
``precision_m``; the others have a null geometry and are reached through their
``alcance`` and, for territorial ones, the territories named in the link table.

Planners may import layers of initiative sites (registry ``clase``
``ubicaciones``) that replace those referential geometries without touching the
catalogue. The rule of which sites are used lives here, once, for the app and
the command line: :func:`default_sites` (the most recently imported site layer,
else the sites shipped with the catalogue), :func:`choose_sites` for a value a
person gave (``incluidas`` or a layer name) and :func:`with_sites` for the
layer with those sites laid over it (:func:`overlay_sites`). Scopes and territories
that planners chose from a list in the app (editable table :data:`SCOPES_TABLE`) are
laid over every one of these by :func:`with_sites` (:func:`overlay_scopes`), so the
relation rule gets them as its input.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import WGS84
from layers import catalogue, links, store, territory_layers
from layers._errors import UnknownLayerError

#: Field order of the layer, as exported (names are short, Spanish, lower case).
FIELDS = (
    "id", "tipo", "nombre", "nombre_original", "estrategia", "estrategia_nombre",
    "plan", "plan_nombre", "padre", "padre_nombre", "encabezado", "alcance",
    "territorios", "fuente_geometria", "precision_m",
)
#: Name of the initiatives layer in the store.
LAYER = "iniciativas"
#: Registry ``clase`` of imported layers of initiative sites.
SITES_CLASE = "ubicaciones"
#: Value naming the referential sites shipped with the catalogue (``?ubicaciones=incluidas``).
INCLUDED_SITES = "incluidas"
#: Editable table of the scopes planners chose in the app (:mod:`layers.access.linking` writes it).
SCOPES_TABLE = "alcances_editados"


def build_initiatives(
    initiatives: pd.DataFrame,
    strategies: pd.DataFrame,
    plans: pd.DataFrame,
    scopes: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Assemble the initiatives layer.

    Parameters
    ----------
    initiatives, strategies, plans : pandas.DataFrame
        Catalogue tables (see :mod:`layers.catalogue`).
    scopes : pandas.DataFrame
        Link table (``id``, ``alcance``, ``territorios``).
    sites : geopandas.GeoDataFrame
        Referential geometries of sited initiatives (EPSG:4326).
    territories : geopandas.GeoDataFrame
        Territory layer the ``territorios`` field is derived against.

    Returns
    -------
    geopandas.GeoDataFrame
        Fields :data:`FIELDS`, EPSG:4326, in catalogue order. ``territorios`` lists
        (``;``-separated) the territories the initiative lies in or is linked to;
        initiatives of comunal, urbano or rural scope leave it empty because they
        concern every territory of their kind.
    """
    names = initiatives.set_index("id")["nombre"]
    layer = initiatives.merge(
        strategies[["id", "nombre"]].rename(columns={"id": "estrategia", "nombre": "estrategia_nombre"}),
        on="estrategia", how="left",
    ).merge(
        plans[["id", "nombre"]].rename(columns={"id": "plan", "nombre": "plan_nombre"}), on="plan", how="left"
    ).merge(scopes[["id", "alcance", "territorios"]], on="id", how="left")
    layer["padre_nombre"] = layer["padre"].map(names)
    layer = layer.merge(sites[["id", "fuente_geometria", "precision_m", "geometry"]], on="id", how="left")
    layer["precision_m"] = layer["precision_m"].astype("Int64")
    gdf = gpd.GeoDataFrame(layer, geometry="geometry", crs=WGS84)
    gdf["territorios"] = gdf["id"].map(named_territories(gdf, territories)).fillna("")
    return gdf[[*FIELDS, "geometry"]].reset_index(drop=True)


def named_territories(initiatives: gpd.GeoDataFrame, territories: gpd.GeoDataFrame) -> pd.Series:
    """The ``territorios`` field: slugs each initiative lies in or is linked to, ``;``-separated.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        ``id``, ``alcance``, ``territorios`` (link-table slugs) and geometry, EPSG:4326.
    territories : geopandas.GeoDataFrame
        The shipped territory layer (the link table's slugs name its territories).

    Returns
    -------
    pandas.Series
        Indexed by initiative id, slugs in the order of ``territories``; initiatives
        with no explicit relation are absent.
    """
    explicit = links.relate(initiatives, territories).specific
    order = {slug: i for i, slug in enumerate(territories["slug"])}
    return (
        explicit.assign(_o=explicit["slug"].map(order)).sort_values("_o", kind="stable")
        .groupby("id")["slug"].agg(links.SEP.join)
    )


def load_shipped(territories: gpd.GeoDataFrame, commune_geom) -> gpd.GeoDataFrame:
    """Build the initiatives layer from the shipped ``data/``, validating catalogue and links."""
    strategies = catalogue.load_strategies()
    plans = catalogue.load_plans()
    initiatives = catalogue.load_initiatives()
    catalogue.validate_catalogue(strategies, plans, initiatives)
    scopes = links.load_scopes()
    sites = links.load_sites()
    links.validate_links(initiatives, scopes, sites, territories, commune_geom)
    return build_initiatives(initiatives, strategies, plans, scopes, sites, territories)


# --------------------------------------------------------------------------- imported sites


def site_layers(registry: pd.DataFrame | None = None) -> list[str]:
    """Imported layers of initiative sites, the most recently imported first.

    Parameters
    ----------
    registry : pandas.DataFrame, optional
        The store's registry (:func:`layers.store.list_layers`); read from the store when omitted.

    Returns
    -------
    list of str
        Names of the layers of registry ``clase`` :data:`SITES_CLASE`, by registry
        ``fecha`` (ISO 8601) descending; equal or missing dates keep the later
        registry row first, undated layers last.
    """
    reg = store.list_layers() if registry is None else registry
    rows = reg[reg["clase"] == SITES_CLASE]
    when = pd.to_datetime(rows["fecha"], errors="coerce", utc=True, format="ISO8601")
    rows = rows.assign(_when=when.to_numpy(), _pos=np.arange(len(rows)))
    rows = rows.sort_values(["_when", "_pos"], ascending=False, na_position="last")
    return [str(n) for n in rows["nombre"]]


def default_sites(registry: pd.DataFrame | None = None) -> str | None:
    """The sites used when nobody chose: the most recently imported site layer.

    Imported sites exist to replace the referential ones (official locations from
    SECPLAN or DOM), so the newest import wins; with no site layer the sites
    shipped with the catalogue are used (``None``).

    Parameters
    ----------
    registry : pandas.DataFrame, optional
        The store's registry; read from the store when omitted.

    Returns
    -------
    str or None
        A site layer name, or ``None`` for the shipped sites.
    """
    names = site_layers(registry)
    return names[0] if names else None


def choose_sites(requested: object, registry: pd.DataFrame | None = None) -> str | None:
    """The site layer a person asked for (``?ubicaciones=`` in the app, an option in the command line).

    Parameters
    ----------
    requested : str or None
        Nothing (the :func:`default_sites`), :data:`INCLUDED_SITES` (the shipped
        sites) or the name of a site layer.
    registry : pandas.DataFrame, optional
        The store's registry; read from the store when omitted.

    Returns
    -------
    str or None
        A site layer name, or ``None`` for the shipped sites.

    Raises
    ------
    UnknownLayerError
        Code ``unknown_sites``, data ``layer`` (the value) and ``known`` (site layer
        names), when ``requested`` names no site layer.
    """
    value = str(requested or "").strip()
    if not value:
        return default_sites(registry)
    if value == INCLUDED_SITES:
        return None
    names = site_layers(registry)
    if value in names:
        return value
    raise UnknownLayerError(
        f"Capa de ubicaciones desconocida: «{value}». Ubicaciones disponibles: {', '.join([INCLUDED_SITES, *names])}.",
        code="unknown_sites", layer=value, known=names,
    )


def overlay_sites(
    initiatives: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Initiatives with the geometries of a site layer laid over them (a new frame).

    For each initiative the site layer holds (by ``id``; the last feature of a
    repeated id wins) the geometry is replaced, or added when it had none, and
    ``fuente_geometria`` / ``precision_m`` come from the site layer, so the file the
    geometry came from stays visible. The catalogue frame is not modified.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        The initiatives layer (EPSG:4326).
    sites : geopandas.GeoDataFrame
        ``id``, ``fuente_geometria``, ``precision_m`` (metres) and geometry; any CRS
        (assumed EPSG:4326 when it has none).
    territories : geopandas.GeoDataFrame, optional
        The shipped territory layer; when given, the ``territorios`` field of the
        changed initiatives is derived again (:func:`named_territories`).

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows, columns and order as ``initiatives``, EPSG:4326.
    """
    sites = sites.to_crs(WGS84) if sites.crs is not None else sites.set_crs(WGS84)
    by_id = sites.drop_duplicates("id", keep="last").set_index("id")
    out = initiatives.copy()
    hit = out["id"].isin(by_id.index).to_numpy()
    if not hit.any():
        return out
    ids = out.loc[hit, "id"]
    geoms = np.asarray(out.geometry.array, dtype=object).copy()
    geoms[hit] = by_id.geometry.reindex(ids).to_numpy()
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=WGS84))
    out.loc[hit, "fuente_geometria"] = by_id["fuente_geometria"].reindex(ids).to_numpy()
    if "precision_m" in out.columns and "precision_m" in by_id.columns:
        precision = pd.array(out["precision_m"], dtype="Int64")
        precision[hit] = pd.array(by_id["precision_m"].reindex(ids).to_numpy(), dtype="Int64")
        out["precision_m"] = precision
    if territories is not None and "territorios" in out.columns:
        named = named_territories(out[hit], territories)
        out.loc[hit, "territorios"] = ids.map(named).fillna("").to_numpy()
    return out


def with_sites(
    sites: str | None,
    registry: pd.DataFrame | None = None,
    read: Callable[[str], gpd.GeoDataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """The initiatives layer of the store with a site layer laid over it.

    Parameters
    ----------
    sites : str or None
        A site layer of the store (see :func:`choose_sites`), or ``None`` for the
        referential sites shipped with the catalogue.
    registry : pandas.DataFrame, optional
        The store's registry; read from the store when omitted.
    read : callable, optional
        Reader of a layer by name; :func:`layers.store.read_layer` by default.
        Cached callers pass their cached reader; the frames it returns are not modified.

    Returns
    -------
    geopandas.GeoDataFrame
        Fields :data:`FIELDS`, EPSG:4326, in catalogue order, with the scopes planners
        chose in the app laid over it whatever the sites (:func:`overlay_scopes`); the
        frame ``read`` returned when ``sites`` is ``None`` and no scope was chosen.

    Raises
    ------
    UnknownLayerError
        Code ``unknown_sites`` when ``sites`` is not a site layer of the store.
    """
    read = read or store.read_layer
    layer = read(LAYER)
    scopes = edited_scopes()
    if not sites and scopes.empty:
        return layer
    reg = store.list_layers() if registry is None else registry
    chosen = choose_sites(sites, reg) if sites else None
    if chosen is None and scopes.empty:
        return layer
    territories = territory_layers.shipped_territories(reg, read)
    if chosen is not None:
        layer = overlay_sites(layer, read(chosen), territories=territories)
    return overlay_scopes(layer, scopes, territories)


# --------------------------------------------------------------------------- scopes chosen in the app


def edited_scopes() -> pd.DataFrame:
    """Scopes planners chose in the app that are in force: ``id``, ``alcance``, ``territorios``.

    Read from the editable table :data:`SCOPES_TABLE`; rows whose ``alcance`` is empty
    (the planner went back to the shipped link) are left out. ``territorios`` holds
    slugs of the shipped territory layer, ``;``-separated.
    """
    try:
        rows = store.read_table(SCOPES_TABLE)
    except UnknownLayerError:
        return pd.DataFrame(columns=["id", "alcance", "territorios"])
    rows = rows[rows["alcance"].fillna("").astype(str) != ""]
    return rows[["id", "alcance", "territorios"]].fillna("").reset_index(drop=True)


def overlay_scopes(
    initiatives: gpd.GeoDataFrame, scopes: pd.DataFrame, territories: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Initiatives with the scopes chosen in the app laid over them (a new frame).

    For each initiative in ``scopes`` the ``alcance`` is replaced and, when it has no
    geometry, ``territorios`` too (an initiative with a geometry keeps the territories
    derived from it), so the relation rule links it to the chosen territories.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        The initiatives layer (optionally with sites laid over it), EPSG:4326.
    scopes : pandas.DataFrame
        ``id``, ``alcance``, ``territorios`` (:func:`edited_scopes`).
    territories : geopandas.GeoDataFrame
        The shipped territory layer; slugs it no longer holds are dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows, columns and order as ``initiatives``.
    """
    out = initiatives.copy()
    by_id = scopes.drop_duplicates("id", keep="last").set_index("id")
    hit = out["id"].isin(by_id.index).to_numpy()
    if not hit.any():
        return out
    ids = out.loc[hit, "id"]
    out.loc[hit, "alcance"] = by_id["alcance"].reindex(ids).to_numpy()
    known = set(territories["slug"])
    chosen = by_id["territorios"].map(lambda v: links.SEP.join(s for s in links.split_slugs(v) if s in known))
    unsited = hit & (out.geometry.isna() | out.geometry.is_empty).to_numpy()
    out.loc[unsited, "territorios"] = chosen.reindex(out.loc[unsited, "id"]).to_numpy()
    return out
