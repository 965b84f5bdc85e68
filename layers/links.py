"""Links between the plan's initiatives and the territories of the commune.

Two shipped, reviewable inputs under ``data/vinculos/``:

- ``alcances.csv``: one row per initiative with its ``alcance`` (scope) and, only
  for territorial initiatives that have no geometry, the ``territorios`` they name
  (slugs separated by ``;``) and a ``nota`` saying why;
- ``ubicaciones.csv``: referential geometries (WKT in WGS 84 lon/lat) of the
  initiatives whose place the plan names, each with ``fuente_geometria`` and
  ``precision_m``; read through GDAL's CSV driver.

The territories of a sited initiative are derived by a spatial join, never typed
in the table; a row that does both is refused. Scope-wide initiatives (comunal,
urbano, rural) concern every territory of that kind, and ``extracomunal`` ones
(outside the commune) none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import UTM19S, WGS84
from layers import settings
from layers import territories as territories_mod
from layers._errors import DataValidationError

#: Scopes an initiative may have.
ALCANCES = ("comunal", "urbano", "rural", "territorial", "extracomunal")
#: How an initiative concerns a territory, from the most to the least specific.
RELACIONES = {
    "ubicada": "Ubicada en el territorio",
    "vinculada": "Vinculada al territorio",
    "urbano": "Programa urbano",
    "rural": "Programa rural",
    "comunal": "Alcance comunal",
}
#: Relations that name a territory itself (sited in it, or linked to it by the plan), not a whole kind.
SPECIFIC_RELATIONS = ("ubicada", "vinculada")
#: Relations of scope-wide initiatives: the scope covers every territory of a kind (a rule, not rows).
SCOPE_RELATIONS = ("urbano", "rural", "comunal")
#: Separator of slugs in the ``territorios`` text field.
SEP = ";"


def links_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or settings.SHIPPED_DATA_DIR) / "vinculos"


def load_scopes(data_dir: Path | None = None) -> pd.DataFrame:
    """The link table: ``id``, ``nombre``, ``alcance``, ``territorios`` (``;``-separated slugs), ``nota``.

    ``nombre`` repeats the catalogue name only to make the table reviewable;
    :func:`validate_links` checks that it matches.
    """
    return pd.read_csv(links_dir(data_dir) / "alcances.csv", dtype=str, keep_default_na=False)


def load_sites(data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """Referential geometries of sited initiatives.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id``, ``nombre``, ``fuente_geometria``, ``precision_m`` (int, metres) and
        geometry in EPSG:4326.
    """
    sites = pyogrio.read_dataframe(
        links_dir(data_dir) / "ubicaciones.csv", GEOM_POSSIBLE_NAMES="wkt", KEEP_GEOM_COLUMNS="NO"
    )
    try:
        sites["precision_m"] = sites["precision_m"].astype("int64")
    except ValueError as exc:
        raise DataValidationError("ubicaciones.csv: precision_m debe ser un número entero de metros.") from exc
    return sites.set_crs(WGS84)


def split_slugs(value: object) -> list[str]:
    """``"a;b"`` -> ``["a", "b"]``; empty or missing -> ``[]``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [s.strip() for s in str(value).split(SEP) if s.strip()]


def validate_links(
    initiatives: pd.DataFrame,
    scopes: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    commune_geom: shapely.Geometry,
) -> None:
    """Check the link rules; raise :class:`DataValidationError` with a Spanish message.

    Rules: one scope row per catalogue initiative and no unknown ids; scopes in
    :data:`ALCANCES`; sited initiatives are ``territorial``, lie inside the commune
    and name no territories in the table (they are derived); territorial
    initiatives without geometry name at least one existing territory; other
    scopes name none; site geometries are valid and not empty.
    """
    ids = set(initiatives["id"])
    problems: list[str] = []
    names = initiatives.set_index("id")["nombre"]
    for table, label in ((scopes, "alcances.csv"), (sites, "ubicaciones.csv")):
        known = table[table["id"].isin(ids)]
        wrong = known.loc[known["nombre"].to_numpy() != names.loc[known["id"]].to_numpy(), "id"]
        if len(wrong):
            problems.append(f"{label}: el nombre no coincide con el catálogo en {', '.join(wrong)}")
    dup = scopes["id"][scopes["id"].duplicated()]
    if len(dup):
        problems.append(f"ids repetidos en alcances.csv: {', '.join(sorted(set(dup)))}")
    missing = ids - set(scopes["id"])
    if missing:
        problems.append(f"iniciativas sin alcance: {', '.join(sorted(missing))}")
    unknown = (set(scopes["id"]) | set(sites["id"])) - ids
    if unknown:
        problems.append(f"ids que no están en el catálogo: {', '.join(sorted(unknown))}")
    bad_scope = scopes.loc[~scopes["alcance"].isin(ALCANCES), "id"]
    if len(bad_scope):
        problems.append(f"alcance desconocido en: {', '.join(bad_scope)}")
    if sites["id"].duplicated().any():
        problems.append("ubicaciones.csv repite ids")
    sited = set(sites["id"])
    slugs = set(territories["slug"])
    for row in scopes.itertuples(index=False):
        named = split_slugs(row.territorios)
        if row.id in sited:
            if row.alcance != "territorial":
                problems.append(f"{row.id} tiene geometría pero alcance «{row.alcance}»")
            if named:
                problems.append(f"{row.id} tiene geometría: sus territorios se derivan, no se escriben")
        elif row.alcance == "territorial":
            if not named:
                problems.append(f"{row.id} es territorial pero no nombra territorios ni tiene geometría")
            bad = [s for s in named if s not in slugs]
            if bad:
                problems.append(f"{row.id} nombra territorios desconocidos: {', '.join(bad)}")
        elif named:
            problems.append(f"{row.id} tiene alcance «{row.alcance}» y no debe nombrar territorios")
    geoms = sites.geometry.array
    if (shapely.is_empty(geoms) | ~shapely.is_valid(geoms)).any():
        problems.append("ubicaciones.csv tiene geometrías vacías o inválidas")
    elif len(sites):
        outside = sites.loc[~shapely.covered_by(geoms, commune_geom), "id"]
        if len(outside):
            problems.append(f"ubicaciones fuera de la comuna: {', '.join(outside)}")
    if problems:
        raise DataValidationError("Vínculos inválidos: " + "; ".join(problems) + ".")


def _sited_pairs(initiatives: gpd.GeoDataFrame, territories: gpd.GeoDataFrame) -> pd.DataFrame:
    """(initiative id, territory slug) pairs whose interiors meet (touching edges do not count).

    Multi-part sites (a programme's thousands of points) are split into their parts
    before the STRtree query: the envelope of the whole would make every territory a
    candidate. A site concerns a territory when one of its parts does.
    """
    sited = initiatives[initiatives.geometry.notna() & ~initiatives.geometry.is_empty]
    if sited.empty or territories.empty:
        return pd.DataFrame(columns=["id", "slug"])
    parts, owner = shapely.get_parts(np.asarray(sited.geometry.to_crs(UTM19S).array, dtype=object), return_index=True)
    b = np.asarray(territories.geometry.to_crs(UTM19S).array, dtype=object)
    left, right = shapely.STRtree(b).query(parts, predicate="intersects")
    # A polygon that shares only an edge with a territory does not concern it.
    inside = ~shapely.touches(parts[left], b[right])
    pairs = pd.DataFrame({"id": sited["id"].to_numpy()[owner[left[inside]]],
                          "slug": territories["slug"].to_numpy()[right[inside]]})
    return pairs.drop_duplicates(ignore_index=True)


def _linked_pairs(
    scopes: pd.DataFrame,
    territories: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame | None,
) -> pd.DataFrame:
    """Pairs named by the link table, translated to ``territories`` when it is another layer.

    The table names slugs of the shipped (reference) territory layer. When the
    active layer is a different one (for instance imported unidades vecinales),
    each named reference territory is replaced by the active territories whose
    interiors overlap it.
    """
    rows = [(r.id, s) for r in scopes.itertuples(index=False) for s in split_slugs(r.territorios)]
    pairs = pd.DataFrame(rows, columns=["id", "slug"])
    known = isin(pairs["slug"], territories["slug"])
    if pairs.empty or known.all():
        return pairs[known]
    if reference is None:
        raise DataValidationError("Faltan los territorios de referencia para traducir los vínculos.")
    named = reference.set_index("slug").loc[pairs["slug"].unique()]
    named = gpd.GeoDataFrame({"ref": named.index}, geometry=named.geometry.to_numpy(), crs=reference.crs)
    overlap = _overlapping(named, territories)
    out = pairs.merge(overlap, left_on="slug", right_on="ref")[["id", "slug_y"]]
    return out.rename(columns={"slug_y": "slug"}).drop_duplicates()


def _overlapping(named: gpd.GeoDataFrame, territories: gpd.GeoDataFrame) -> pd.DataFrame:
    a = named.geometry.to_crs(UTM19S).array
    b = territories.geometry.to_crs(UTM19S).array
    left, right = shapely.STRtree(b).query(a, predicate="intersects")
    area = shapely.area(shapely.intersection(a[left], b[right]))
    keep = area > 1.0  # m²: more than a shared edge
    return pd.DataFrame({"ref": named["ref"].to_numpy()[left[keep]], "slug_y": territories["slug"].to_numpy()[right[keep]]})


def isin(column: pd.Series | pd.Index, values: Iterable[object]) -> np.ndarray:
    """``column.isin(values)`` as a bool array, by hashing (fast on pandas' Arrow-backed text).

    pandas 3 builds one Arrow scalar per value in ``Series.isin`` on ``str`` columns
    (about 0.8 s for 20,000 ids); an object :class:`pandas.Index` lookup takes a few ms.

    Parameters
    ----------
    column : pandas.Series or pandas.Index
        Values to test (ids, slugs).
    values : iterable
        Wanted values (any iterable; duplicates allowed).

    Returns
    -------
    numpy.ndarray
        Bool, one per element of ``column``.
    """
    values = values.to_numpy(dtype=object) if isinstance(values, (pd.Series, pd.Index)) else list(values)
    wanted = pd.Index(pd.unique(np.asarray(values, dtype=object)), dtype=object)
    return wanted.get_indexer(column.to_numpy(dtype=object)) >= 0


@dataclass(frozen=True)
class Relations:
    """Which initiatives concern which territories of one layer, scope-wide ones kept as a rule.

    A commune-wide initiative concerns every territory: storing it as one row per
    territory costs (initiatives × territories) rows (1.7 million at 10,000
    territories). Here it is stored once, with the territories its scope covers,
    and applied when a question is asked. Every answer is the one the full table
    of pairs would give, each pair counted once with its most specific relation
    (order of :data:`RELACIONES`).

    Attributes
    ----------
    specific : pandas.DataFrame
        ``id``, ``slug``, ``relacion`` (one of :data:`SPECIFIC_RELATIONS`): sited in
        the territory or linked to it by the plan; one row per pair, ``ubicada`` first.
    scoped : pandas.DataFrame
        ``id``, ``alcance`` (one of :data:`SCOPE_RELATIONS`) of the scope-wide initiatives.
    cover : pandas.DataFrame
        Indexed by ``slug`` (every territory of the layer, in layer order), one bool
        column per scope of :data:`SCOPE_RELATIONS`: whether that scope covers it.
    """

    specific: pd.DataFrame
    scoped: pd.DataFrame
    cover: pd.DataFrame

    @property
    def slugs(self) -> pd.Index:
        """Every territory of the layer, in layer order."""
        return self.cover.index

    def _specific(self, ids: Iterable[str] | None, slugs: Iterable[str] | None) -> pd.DataFrame:
        spec = self.specific
        if ids is not None:
            spec = spec[isin(spec["id"], ids)]
        if slugs is not None:
            spec = spec[isin(spec["slug"], slugs)]
        return spec

    def _scoped(self, ids: Iterable[str] | None) -> pd.DataFrame:
        return self.scoped if ids is None else self.scoped[isin(self.scoped["id"], ids)]

    def _shadowed(self, spec: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``spec`` whose initiative's scope covers the territory too (the specific relation wins)."""
        both = spec.merge(self.scoped, on="id")
        if both.empty:
            return both.assign(covered=pd.Series(dtype=bool))
        covered = self.cover.reindex(both["slug"], fill_value=False).to_numpy(dtype=bool)
        column = both["alcance"].map({s: i for i, s in enumerate(self.cover.columns)}).to_numpy()
        return both[covered[np.arange(len(both)), column]]

    def pairs(self, ids: Iterable[str] | None = None, slugs: Iterable[str] | None = None) -> pd.DataFrame:
        """The (initiative, territory) rows, limited to ``ids`` and ``slugs`` (all when ``None``).

        Materialises scope-wide pairs for the territories asked: ask for few
        territories (a sector) or few initiatives, not the whole layer at scale.

        Returns
        -------
        pandas.DataFrame
            ``id``, ``slug``, ``relacion``, sorted by ``id`` then ``slug``; a pair appears
            once, with its most specific relation.
        """
        parts = [self._specific(ids, slugs)]
        wanted = self.cover if slugs is None else self.cover[isin(self.cover.index, slugs)]
        scoped = self._scoped(ids)
        for scope in SCOPE_RELATIONS:
            members = scoped.loc[scoped["alcance"] == scope, "id"]
            covered = wanted.index[wanted[scope].to_numpy()]
            if len(members) and len(covered):
                grid = pd.MultiIndex.from_product([members, covered], names=["id", "slug"]).to_frame(index=False)
                parts.append(grid.assign(relacion=scope))
        out = pd.concat(parts, ignore_index=True).drop_duplicates(["id", "slug"])
        return out.sort_values(["id", "slug"], kind="stable").reset_index(drop=True)

    def of_territory(self, slug: str) -> pd.DataFrame:
        """``id``, ``relacion`` of the initiatives that concern territory ``slug`` (each once)."""
        return self.pairs(slugs=[slug])[["id", "relacion"]].reset_index(drop=True)

    def counts(self, ids: Iterable[str] | None = None, slugs: Iterable[str] | None = None) -> pd.DataFrame:
        """How many of ``ids`` (all when ``None``) concern each territory, by relation.

        Computed without materialising scope-wide pairs: a scope's count is the number
        of selected initiatives of that scope where it covers the territory, less those
        already counted there by a specific relation.

        Parameters
        ----------
        ids : iterable of str, optional
            Initiatives to count.
        slugs : iterable of str, optional
            Territories to report, in this order (every territory of the layer by default;
            unknown slugs count zero).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``slug``, one int64 column per relation of :data:`RELACIONES`.
        """
        ids = None if ids is None else set(ids)
        order = self.slugs if slugs is None else pd.Index(list(slugs), name="slug")
        spec = self._specific(ids, None)
        table = (
            spec.groupby(["slug", "relacion"]).size().unstack(fill_value=0)
            .reindex(index=order, columns=list(RELACIONES), fill_value=0).fillna(0).astype("int64")
        )
        scoped = self._scoped(ids)
        cover = self.cover.reindex(order, fill_value=False)
        shadow = self._shadowed(spec).groupby(["slug", "alcance"]).size()
        for scope in SCOPE_RELATIONS:
            n = int((scoped["alcance"] == scope).sum())
            column = np.where(cover[scope].to_numpy(dtype=bool), n, 0)
            if scope in shadow.index.get_level_values("alcance"):
                column = column - shadow.xs(scope, level="alcance").reindex(order, fill_value=0).to_numpy()
            table[scope] = column.astype("int64")
        table.index.name = "slug"
        return table

    def ids_concerning(self, slugs: Iterable[str]) -> pd.Index:
        """Ids of the initiatives that concern at least one of ``slugs`` (specific or by scope)."""
        slugs = set(slugs)
        spec = self.specific.loc[isin(self.specific["slug"], slugs), "id"]
        covering = self.cover[isin(self.cover.index, slugs)].any(axis=0)
        scoped = self.scoped.loc[self.scoped["alcance"].map(covering).fillna(False).astype(bool), "id"]
        return pd.Index(pd.concat([spec, scoped]).unique(), name="id")

    def territories_concerned(self, ids: Iterable[str] | None = None) -> pd.Index:
        """Slugs of the territories at least one of ``ids`` (all when ``None``) concerns, in layer order."""
        ids = None if ids is None else set(ids)
        present = set(self._scoped(ids)["alcance"])
        mask = self.cover[[s for s in SCOPE_RELATIONS if s in present]].any(axis=1).to_numpy(dtype=bool)
        mask = mask | isin(self.slugs, self._specific(ids, None)["slug"])
        return self.slugs[mask]


def relate(
    initiatives: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame | None = None,
) -> Relations:
    """How the initiatives concern the territories: specific pairs and the scope rule.

    Sited initiatives relate by a spatial join (STRtree, interiors must meet),
    unsited territorial ones by the slugs of the link table (translated through
    ``reference`` by overlap), and scope-wide ones (:data:`SCOPE_RELATIONS`) by
    the ``tipo`` of each territory. Scope-wide relations are kept as a rule (which
    initiatives have which scope, which territories each scope covers), never as
    one row per (initiative, territory): see :class:`Relations`.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        With ``id``, ``alcance``, ``territorios`` and geometry (EPSG:4326, may be
        null). For initiatives without geometry ``territorios`` holds the slugs of
        the link table (reference layer); for sited ones it is ignored.
    territories : geopandas.GeoDataFrame
        Active territory layer with ``slug`` and ``tipo``.
    reference : geopandas.GeoDataFrame, optional
        Shipped territory layer the link table refers to, when ``territories`` is another layer.

    Returns
    -------
    Relations
        Answers per territory and per initiative; :meth:`Relations.pairs` gives
        (``id``, ``slug``, ``relacion``) rows, each pair once with its most specific relation.

    Raises
    ------
    DataValidationError
        When the link table names slugs that ``territories`` lacks and no ``reference`` is given.
    """
    sited = _sited_pairs(initiatives, territories).assign(relacion="ubicada")
    unsited = initiatives.loc[initiatives.geometry.isna(), ["id", "territorios"]]
    linked = _linked_pairs(unsited, territories, reference).assign(relacion="vinculada")
    specific = pd.concat([sited, linked], ignore_index=True).drop_duplicates(["id", "slug"])
    tipo = territories["tipo"].astype(str)
    cover = pd.DataFrame(
        {
            "urbano": tipo.map(territories_mod.is_urban).to_numpy(dtype=bool),
            "rural": tipo.map(territories_mod.is_rural).to_numpy(dtype=bool),
            "comunal": np.ones(len(territories), dtype=bool),
        },
        index=pd.Index(territories["slug"].astype(str).to_numpy(), name="slug"),
    )[list(SCOPE_RELATIONS)]
    scoped = initiatives.loc[initiatives["alcance"].isin(SCOPE_RELATIONS), ["id", "alcance"]]
    return Relations(
        specific=specific[["id", "slug", "relacion"]].reset_index(drop=True),
        scoped=pd.DataFrame({"id": scoped["id"].to_numpy(), "alcance": scoped["alcance"].to_numpy()}),
        cover=cover,
    )
