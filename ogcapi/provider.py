"""A pygeoapi feature provider over the store: what ``cli.py export`` writes, one page at a time.

Each collection is one layer of the store (:func:`layer_frame`): the initiatives
with their sites and monitoring fields exactly as the export builds them, every
other layer as stored. Frames are kept in memory per layer and store version,
so a page costs a slice, and a bounding box the spatial index of the frame.
Read-only: ``create``, ``update`` and ``delete`` are refused.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pygeoapi.provider.base import BaseProvider, ProviderInvalidQueryError, ProviderItemNotFoundError

__all__ = ["StoreProvider", "layer_frame"]

_cache: dict[str, tuple[int, gpd.GeoDataFrame]] = {}
_lock = threading.Lock()


def _build(name: str) -> gpd.GeoDataFrame:
    """Layer ``name`` as the command line's export writes it (initiatives with sites and monitoring fields)."""
    from layers import store

    info = store.layer_info(name)
    if info["clase"] == "iniciativas" and name == "iniciativas":
        from layers import initiatives, monitoring

        registry = store.list_layers()
        frame = initiatives.with_sites(initiatives.choose_sites(None, registry), registry=registry)
        return monitoring.with_monitoring(frame)
    return store.read_layer(name)


def layer_frame(name: str) -> gpd.GeoDataFrame:
    """The served frame of layer ``name`` (cached until the store's version changes).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, index 1…n (the features' ids).
    """
    from layers import store

    version = store.version()
    with _lock:
        cached = _cache.get(name)
    if cached is not None and cached[0] == version:
        return cached[1]
    frame = _build(name)
    frame = frame.set_axis(pd.RangeIndex(1, len(frame) + 1), axis=0)
    with _lock:
        _cache[name] = (version, frame)
    return frame


def _json_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    return "string"


def _equals(column: pd.Series, value: str) -> pd.Series:
    """Rows whose ``column`` equals the query-string ``value`` (numbers and booleans compared as such)."""
    kind = _json_type(column.dtype)
    if kind == "boolean":
        return column == (value.strip().lower() in ("true", "1", "sí", "si"))
    if kind in ("integer", "number"):
        try:
            return column == float(value)
        except ValueError as exc:
            raise ProviderInvalidQueryError(user_msg=f"{column.name} takes a number") from exc
    return column.astype(str) == value


class StoreProvider(BaseProvider):
    """pygeoapi provider of one store layer (``data``: the layer name; ``id_field``: ``fid``)."""

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        self.id_field = self.id_field or "fid"
        self.get_fields()

    def get_fields(self) -> dict[str, dict[str, str]]:
        """JSON types of the layer's attributes (the queryables)."""
        if not self._fields:
            frame = layer_frame(self.data)
            self._fields = {c: {"type": _json_type(frame[c].dtype)} for c in frame.columns if c != frame.geometry.name}
        return self._fields

    def _select(self, frame: gpd.GeoDataFrame, bbox: list, properties: list) -> gpd.GeoDataFrame:
        if bbox:
            if len(bbox) != 4:
                raise ProviderInvalidQueryError(user_msg="bbox needs four numbers")
            hits = frame.sindex.query(shapely.box(*map(float, bbox)), predicate="intersects")
            frame = frame.iloc[np.sort(hits)]
        for name, value in properties or []:
            if name not in frame.columns:
                raise ProviderInvalidQueryError(user_msg=f"unknown property {name}")
            frame = frame[_equals(frame[name], str(value))]
        return frame

    def _features(self, page: gpd.GeoDataFrame, select: list, skip_geometry: bool) -> list[dict]:
        if select:
            page = page[[c for c in page.columns if c in select or c == page.geometry.name]]
        features = json.loads(page.to_json(na="null", drop_id=False))["features"]
        for feature, fid in zip(features, page.index):
            feature["id"] = int(fid)
            if skip_geometry:
                feature["geometry"] = None
        return features

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results", bbox: list | None = None,
              datetime_: str | None = None, properties: list | None = None, sortby: list | None = None,
              select_properties: list | None = None, skip_geometry: bool = False, **kwargs: Any) -> dict:
        """One page of features (GeoJSON FeatureCollection) with ``numberMatched`` and ``numberReturned``."""
        frame = self._select(layer_frame(self.data), bbox or [], properties or [])
        for sort in reversed(sortby or []):
            frame = frame.sort_values(sort["property"], ascending=sort.get("order", "+") == "+", kind="stable")
        matched = len(frame)
        if resulttype == "hits":
            return {"type": "FeatureCollection", "features": [], "numberMatched": matched, "numberReturned": 0}
        page = frame.iloc[offset:offset + limit]
        features = self._features(page, select_properties or [], skip_geometry)
        return {"type": "FeatureCollection", "features": features, "numberMatched": matched, "numberReturned": len(features)}

    def get(self, identifier: Any, **kwargs: Any) -> dict:
        """One feature by its id (1…n)."""
        frame = layer_frame(self.data)
        try:
            row = frame.loc[[int(identifier)]]
        except (KeyError, ValueError, TypeError) as exc:
            raise ProviderItemNotFoundError(user_msg=f"feature {identifier} not found") from exc
        return self._features(row, [], False)[0]

    def __repr__(self) -> str:
        return f"<StoreProvider> {self.data}"
