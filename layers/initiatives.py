"""The initiatives layer: the plan catalogue joined with scopes, sites and territories.

One feature per initiative of the catalogue. Initiatives whose place the plan
names carry a referential geometry with its ``fuente_geometria`` and
``precision_m``; the others have a null geometry and are reached through their
``alcance`` and, for territorial ones, the territories named in the link table.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geo.crs import WGS84
from layers import catalogue, links

#: Field order of the layer, as exported (names are short, Spanish, lower case).
FIELDS = (
    "id", "tipo", "nombre", "nombre_original", "estrategia", "estrategia_nombre",
    "plan", "plan_nombre", "padre", "padre_nombre", "encabezado", "alcance",
    "territorios", "fuente_geometria", "precision_m",
)


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
    pairs = links.relate(gdf, territories)
    explicit = pairs[pairs["relacion"].isin(["ubicada", "vinculada"])]
    order = {slug: i for i, slug in enumerate(territories["slug"])}
    joined = (
        explicit.assign(_o=explicit["slug"].map(order)).sort_values("_o")
        .groupby("id")["slug"].agg(links.SEP.join)
    )
    gdf["territorios"] = gdf["id"].map(joined).fillna("")
    return gdf[[*FIELDS, "geometry"]].reset_index(drop=True)


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
