"""Territory layers in the store: the shipped one and those people import.

A territory layer is any layer of the store whose registry ``clase`` is
``territorios`` (fields ``slug``, ``nombre``, ``tipo``... see
:mod:`layers.territories`). The app and the command line pick the *active* one
to filter initiatives by territory; the link table of the plan names slugs of
the *shipped* layer, so :func:`relations` translates it through overlap when
another layer is active (:func:`layers.links.relate` with ``reference``).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers import links, store, territories
from layers._errors import UnknownLayerError

#: Registry ``clase`` of territory layers.
CLASE = "territorios"
#: Name of the shipped territory layer.
SHIPPED_NAME = "territorios"


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
    reg = store.list_layers() if registry is None else registry
    names = sorted(reg.loc[reg["clase"] == CLASE, "nombre"])
    return sorted(names, key=lambda n: (n != SHIPPED_NAME, n))


def load_territory_layer(name: str = SHIPPED_NAME) -> gpd.GeoDataFrame:
    """Read one territory layer of the store (EPSG:4326).

    Raises
    ------
    UnknownLayerError
        When the store has no territory layer of that name.
    """
    known = territory_layers()
    if name not in known:
        raise UnknownLayerError(
            f"Capa de territorios desconocida: «{name}». Capas de territorios: {', '.join(known)}."
        )
    return store.read_layer(name)


def shipped_territories() -> gpd.GeoDataFrame:
    """The shipped territory layer the plan's link table refers to (EPSG:4326).

    Read from the store while it holds the shipped version; from ``data/`` when a
    person replaced it by an import of the same name.
    """
    info = store.layer_info(SHIPPED_NAME)
    if info["origen"] == store.SHIPPED:
        return store.read_layer(SHIPPED_NAME)
    return territories.load_territories()


def relations(initiatives: gpd.GeoDataFrame, name: str = SHIPPED_NAME) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The territory layer ``name`` and the (initiative, territory) pairs against it.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        The initiatives layer (optionally with imported sites merged in).
    name : str
        Active territory layer.

    Returns
    -------
    (geopandas.GeoDataFrame, pandas.DataFrame)
        The layer and the output of :func:`layers.links.relate`.
    """
    layer = load_territory_layer(name)
    reference = None if name == SHIPPED_NAME and store.layer_info(name)["origen"] == store.SHIPPED else shipped_territories()
    return layer, links.relate(initiatives, layer, reference=reference)
