"""Territory layers in the store and the relation rule: which layer links are translated through.

A territory layer is any layer of the store whose registry ``clase`` is
``territorios`` (fields ``slug``, ``nombre``, ``tipo``... see
:mod:`layers.territories`). The app and the command line pick the *active* one
to filter initiatives by territory. The link table of the plan names slugs of
the *shipped* territory layer, so :func:`relations` translates those links
through overlap (:func:`layers.links.relate` with ``reference``) whenever the
active layer is not that shipped layer as shipped: another layer, or the layer
``territorios`` itself replaced by an import. The shipped layer is then read
again from ``data/`` (:func:`shipped_territories`).

:func:`relations` is the one place that rule lives; ``cli.py export`` and the
pages' cached loaders call it. Functions take an optional ``registry`` (the
store's registry, :func:`layers.store.list_layers`) and ``read`` (a reader of a
layer by name, :func:`layers.store.read_layer` by default), so a cached caller
passes its cached registry and reader and nothing is read twice.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pandas as pd

from layers import links, store, territories
from layers._errors import UnknownLayerError

#: Registry ``clase`` of territory layers.
CLASE = "territorios"
#: Name of the shipped territory layer (the default active layer).
SHIPPED_NAME = "territorios"

#: A reader of one layer of the store by name (EPSG:4326), like :func:`layers.store.read_layer`.
Reader = Callable[[str], gpd.GeoDataFrame]


def _registry(registry: pd.DataFrame | None) -> pd.DataFrame:
    return store.list_layers() if registry is None else registry


def territory_layers(registry: pd.DataFrame | None = None) -> list[str]:
    """Names of the territory layers in the store, the shipped one first, then by name.

    Parameters
    ----------
    registry : pandas.DataFrame, optional
        The store's registry (:func:`layers.store.list_layers`), when the caller has it
        cached; read from the store otherwise.

    Returns
    -------
    list of str
    """
    reg = _registry(registry)
    names = sorted(reg.loc[reg["clase"] == CLASE, "nombre"].astype(str))
    return sorted(names, key=lambda n: (n != SHIPPED_NAME, n))


def load_territory_layer(
    name: str = SHIPPED_NAME, registry: pd.DataFrame | None = None, read: Reader | None = None
) -> gpd.GeoDataFrame:
    """Read one territory layer of the store (EPSG:4326).

    Parameters
    ----------
    name : str
        Layer name (registry ``clase`` ``territorios``).
    registry : pandas.DataFrame, optional
        The store's registry; read from the store when omitted.
    read : callable, optional
        Reader of a layer by name (:data:`Reader`); :func:`layers.store.read_layer` by default.

    Raises
    ------
    UnknownLayerError
        Code ``unknown_territory_layer``, data ``layer`` and ``known`` (list of str),
        when the store has no territory layer of that name.
    """
    known = territory_layers(registry)
    if name not in known:
        raise UnknownLayerError(
            f"Capa de territorios desconocida: «{name}». Capas de territorios: {', '.join(known)}.",
            code="unknown_territory_layer", layer=name, known=known,
        )
    return (read or store.read_layer)(name)


def is_shipped_as_shipped(name: str, registry: pd.DataFrame | None = None) -> bool:
    """True when ``name`` is the shipped territory layer and no import replaced it.

    Only then do the slugs of the plan's link table name its territories directly.
    """
    if name != SHIPPED_NAME:
        return False
    reg = _registry(registry)
    origin = reg.loc[reg["nombre"] == name, "origen"]
    return bool(len(origin)) and origin.iloc[0] == store.SHIPPED


def shipped_territories(registry: pd.DataFrame | None = None, read: Reader | None = None) -> gpd.GeoDataFrame:
    """The shipped territory layer the plan's link table refers to (EPSG:4326).

    Read from the store while it holds the shipped version; from ``data/``
    (:func:`layers.territories.load_territories`) when a person replaced it by an
    import of the same name.

    Parameters
    ----------
    registry : pandas.DataFrame, optional
        The store's registry; read from the store when omitted.
    read : callable, optional
        Reader of a layer by name (:data:`Reader`); :func:`layers.store.read_layer` by default.
    """
    if is_shipped_as_shipped(SHIPPED_NAME, registry):
        return (read or store.read_layer)(SHIPPED_NAME)
    return territories.load_territories()


def relations(
    initiatives: gpd.GeoDataFrame,
    name: str = SHIPPED_NAME,
    registry: pd.DataFrame | None = None,
    read: Reader | None = None,
) -> tuple[gpd.GeoDataFrame, links.Relations]:
    """The active territory layer ``name`` and the (initiative, territory) pairs against it.

    The one relation rule of the system: sited initiatives relate by geometry,
    scope-wide ones by the layer's ``tipo``, and the plan's named links are
    translated through :func:`shipped_territories` unless the active layer is the
    shipped one as shipped (:func:`is_shipped_as_shipped`).

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        The initiatives layer (optionally with imported sites laid over it,
        :func:`layers.initiatives.with_sites`), EPSG:4326.
    name : str
        Active territory layer.
    registry : pandas.DataFrame, optional
        The store's registry; read from the store when omitted.
    read : callable, optional
        Reader of a layer by name (:data:`Reader`); :func:`layers.store.read_layer` by default.
        Cached callers pass their cached reader.

    Returns
    -------
    (geopandas.GeoDataFrame, layers.links.Relations)
        The layer (EPSG:4326) and the output of :func:`layers.links.relate`: the
        specific pairs and the scope rule, never one row per scope-wide pair.

    Raises
    ------
    UnknownLayerError
        When ``name`` is not a territory layer of the store (see :func:`load_territory_layer`).
    """
    reg = _registry(registry)
    layer = load_territory_layer(name, reg, read)
    reference = None if is_shipped_as_shipped(name, reg) else shipped_territories(reg, read)
    return layer, links.relate(initiatives, layer, reference=reference)
