"""The city as the 2017 census drew it: urban zones, blocks, population and named places.

Shipped data (provenance in ``data/README.md`` and ``data/censo/README.md``):

- ``data/censo/zonas_censales.geojson``: the 13 urban census zones (zonas censales) of the
  city of Vallenar, field ``geocodigo``;
- ``data/censo/manzanas.geojson``: the 801 urban census blocks (manzanas), field ``manzent``;
- ``data/censo/poblacion_zonas.csv``: population by zone or rural locality code and age group;
- ``data/lugares/lugares.csv``: the named places the project knows (neighbourhoods,
  landmarks, descriptive references), each with its source and ``precision_m``.

Source: INE, Censo de Población y Vivienda 2017, as redistributed with simplified
topology by the R package ``chilemapas`` (GPL-3). The layers are referential: their
borders are good to about :data:`PRECISION_M` metres. Geometry is stored in WGS 84
(EPSG:4326, lon/lat, 6 decimals); every area and distance is computed in WGS 84 /
UTM 19S (EPSG:32719).

Codes: ``geocodigo`` (11 digits) = commune (5) + census district (2) + area (1: ``1``
urban, ``2`` rural) + zone or rural locality (3); ``manzent`` (14 digits) = the
``geocodigo`` of its zone + block (3). ``03301991999`` is population the census did not
assign to a place.

The census gives codes, not names. :func:`name_zones` names each zone by the named
places that lie in it (rule in its docstring and in ``data/README.md``);
:func:`alias_table` says which zone every old urban sector slug now opens.
:func:`build_census_territories` makes the territory layer whose urban territories are
the census zones.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import UTM19S, WGS84, area_km2, to_wgs84
from layers import settings, territories
from layers._errors import DataValidationError, UnknownTerritoryError

if TYPE_CHECKING:  # links imports territories, as census does: only the annotation needs it
    from layers import links

log = logging.getLogger(__name__)

__all__ = [
    "AGE_GROUPS", "POPULATION_FIELDS", "PRECISION_M", "OLD_URBAN_SLUGS",
    "load_population", "population_summary", "rural_population", "load_zones", "load_blocks",
    "load_places", "locate_places", "name_zones", "alias_table", "load_aliases", "resolve_slug",
    "build_census_territories",
]

#: Folder of the census layers and table.
CENSUS_DIR: Path = settings.SHIPPED_DATA_DIR / "censo"
ZONES_PATH: Path = CENSUS_DIR / "zonas_censales.geojson"
BLOCKS_PATH: Path = CENSUS_DIR / "manzanas.geojson"
POPULATION_PATH: Path = CENSUS_DIR / "poblacion_zonas.csv"
#: Named places known to the project.
PLACES_PATH: Path = settings.SHIPPED_DATA_DIR / "lugares" / "lugares.csv"
#: Old urban sector slug -> census zone slug, written by ``scripts/build_territories.py``.
ALIASES_PATH: Path = territories.SOURCE_DIR / "alias_sectores.csv"
#: Territory layer built on the census zones: the shipped territory layer.
CENSUS_TERRITORIES_PATH: Path = territories.TERRITORIES_PATH

#: Commune code (CUT) of Vallenar, the first 5 digits of every geocodigo.
COMMUNE_CODE = "03301"
#: Code of the population the census did not assign to any place.
UNASSIGNED_CODE = "03301991999"
#: Age groups of the census table -> field names of the layers.
AGE_GROUPS = {
    "0 a 5": "poblacion_0_5",
    "6 a 14": "poblacion_6_14",
    "15 a 64": "poblacion_15_64",
    "65 y mas": "poblacion_65_mas",
}
#: Population fields: total and the four age groups (persons, Censo 2017).
POPULATION_FIELDS = ("poblacion", *AGE_GROUPS.values())
#: INE's published population of the commune in 2017 (about; larger than the table's sum).
INE_PUBLISHED_TOTAL = 51_900
#: Positional accuracy of the simplified census borders (m); see data/censo/README.md.
PRECISION_M = 25
#: Provenance written in every census-derived feature.
FUENTE_CENSO = (
    "INE, Censo de Población y Vivienda 2017 (cartografía censal), redistribuida con topología "
    f"simplificada por el paquete R chilemapas (GPL-3); capa referencial, bordes a ±{PRECISION_M} m, "
    "sin validez legal (DFL-83 de 1979)."
)

#: Kinds of named place, in the order they name a zone.
PLACE_TYPES = ("barrio", "hito", "referencia descriptiva")
PLACE_FIELDS = ("slug", "nombre", "tipo", "lat", "lon", "precision_m", "fuente")
#: The place that zones without a named place are described from.
CENTRE_PLACE = "plaza-de-armas"
#: Slugs of the urban sectors of the referential layer the census zones replace.
OLD_URBAN_SLUGS = (
    "centro", "baquedano", "hermanos-carrera", "rafael-torreblanca", "quinta-valle", "acceso-norte",
    "barrio-estacion", "acceso-sur", "villa-el-eden", "vista-alegre", "altiplano-sur",
    "ribera-sur-oriente", "ribera-norte-oriente", "la-turbina",
)
#: Eight compass directions (Spanish of Chile), clockwise from north, 45° each.
_DIRECTIONS = ("Norte", "Nororiente", "Oriente", "Suroriente", "Sur", "Surponiente", "Poniente", "Norponiente")


def _area_kind(code: str) -> str:
    """``urbana``, ``rural`` or ``sin asignar`` for an 11-digit geocodigo."""
    if code == UNASSIGNED_CODE:
        return "sin asignar"
    return {"1": "urbana", "2": "rural"}.get(code[7], "desconocida")


# --------------------------------------------------------------------------- population


def load_population(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Census population by code, one row per geocodigo.

    Parameters
    ----------
    path : path-like, optional
        CSV with ``geocodigo``, ``edad`` (one of :data:`AGE_GROUPS`) and ``poblacion``
        (persons), long format; :data:`POPULATION_PATH` by default.

    Returns
    -------
    pandas.DataFrame
        ``geocodigo`` (str), ``area`` (``urbana``, ``rural``, ``sin asignar``) and
        :data:`POPULATION_FIELDS` (int64, persons), sorted by code.

    Raises
    ------
    DataValidationError
        On missing fields, codes not of the commune, unknown age groups, repeated or
        missing (code, age group) pairs, or negative counts.
    """
    path = Path(path) if path is not None else POPULATION_PATH
    if not path.is_file():
        raise DataValidationError(f"No se encontró la tabla de población del censo: {path}.", code="missing_file", path=str(path))
    table = pd.read_csv(path, dtype={"geocodigo": str, "edad": str})
    problems = []
    if not {"geocodigo", "edad", "poblacion"} <= set(table.columns):
        raise DataValidationError("La tabla de población necesita los campos geocodigo, edad y poblacion.", path=str(path))
    bad_code = sorted(set(table.loc[~table["geocodigo"].str.fullmatch(COMMUNE_CODE + r"\d{6}"), "geocodigo"].astype(str)))
    if bad_code:
        problems.append(f"códigos que no son de la comuna: {', '.join(bad_code)}")
    bad_age = sorted(set(table["edad"]) - set(AGE_GROUPS))
    if bad_age:
        problems.append(f"grupos de edad desconocidos: {', '.join(bad_age)}")
    counts = pd.to_numeric(table["poblacion"], errors="coerce")
    if counts.isna().any() or (counts < 0).any() or not np.allclose(counts, counts.round()):
        problems.append("poblacion debe ser un entero no negativo")
    if table.duplicated(["geocodigo", "edad"]).any():
        problems.append("pares código y edad repetidos")
    if problems:
        raise DataValidationError("Tabla de población del censo no válida: " + "; ".join(problems) + ".", path=str(path))
    wide = table.assign(poblacion=counts.astype("int64")).pivot(index="geocodigo", columns="edad", values="poblacion")
    incomplete = wide.index[wide.isna().any(axis=1)].tolist()
    if incomplete:
        raise DataValidationError(f"Códigos sin los cuatro grupos de edad: {', '.join(incomplete)}.", path=str(path))
    wide = wide.rename(columns=AGE_GROUPS).astype("int64")
    wide["poblacion"] = wide[list(AGE_GROUPS.values())].sum(axis=1)
    out = wide.reset_index()
    out.insert(1, "area", out["geocodigo"].map(_area_kind))
    return out[["geocodigo", "area", *POPULATION_FIELDS]].sort_values("geocodigo", ignore_index=True)


def population_summary(population: pd.DataFrame) -> dict[str, int]:
    """Totals of the census table, in persons.

    Parameters
    ----------
    population : pandas.DataFrame
        As returned by :func:`load_population`.

    Returns
    -------
    dict
        ``total_tabla`` (sum of the table, 48,759 for Vallenar; the total every rate of the
        project uses), ``urbana`` (the 13 urban zones), ``comuna_menos_urbana`` (the census
        rural population: table total minus urban zones), of which ``rural`` (rural
        locality codes) and ``sin_asignar`` (code :data:`UNASSIGNED_CODE`),
        ``codigos_rurales_con_poblacion`` and ``total_ine_publicado`` (about 51,900,
        INE's published figure, which the table does not reach).
    """
    by_area = population.groupby("area")["poblacion"].sum()
    total = int(population["poblacion"].sum())
    urban = int(by_area.get("urbana", 0))
    rural = population[population["area"] == "rural"]
    return {
        "total_tabla": total,
        "urbana": urban,
        "comuna_menos_urbana": total - urban,
        "rural": int(by_area.get("rural", 0)),
        "sin_asignar": int(by_area.get("sin asignar", 0)),
        "codigos_rurales_con_poblacion": int((rural["poblacion"] > 0).sum()),
        "total_ine_publicado": INE_PUBLISHED_TOTAL,
    }


def rural_population(population: pd.DataFrame) -> pd.DataFrame:
    """Rural locality codes that carry population, as the census gives them.

    The census has no geometry for these codes, and the project does not attach them
    to its referential rural localities: rural population is never invented per locality.

    Returns
    -------
    pandas.DataFrame
        Rows of ``population`` with ``area == "rural"`` and ``poblacion > 0``, largest first.
    """
    rural = population[(population["area"] == "rural") & (population["poblacion"] > 0)]
    return rural.sort_values(["poblacion", "geocodigo"], ascending=[False, True], ignore_index=True)


# --------------------------------------------------------------------------- zones and blocks


def _read_polygons(path: Path, what: str) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise DataValidationError(f"No se encontró la capa de {what}: {path}.", code="missing_file", path=str(path))
    gdf = gpd.read_file(path, engine="pyogrio")
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)  # GeoJSON without a crs member is WGS 84 by definition
    gdf = to_wgs84(gdf)
    geoms = gdf.geometry.array
    if not (np.isin(gdf.geom_type.to_numpy(), ("Polygon", "MultiPolygon")).all() and shapely.is_valid(geoms).all()):
        raise DataValidationError(f"La capa de {what} tiene geometrías que no son polígonos válidos.", path=str(path))
    return gdf


def load_zones(path: str | os.PathLike | None = None, population: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """The urban census zones with their population and area.

    Parameters
    ----------
    path : path-like, optional
        GeoJSON with ``geocodigo`` (11-digit urban codes); :data:`ZONES_PATH` by default.
    population : pandas.DataFrame, optional
        From :func:`load_population`; read from the shipped table by default.

    Returns
    -------
    geopandas.GeoDataFrame
        ``geocodigo``, ``distrito`` and ``zona`` (int), :data:`POPULATION_FIELDS` (int64,
        persons, Censo 2017), ``area_km2`` (km², EPSG:32719), geometry in EPSG:4326;
        sorted by code.

    Raises
    ------
    DataValidationError
        On a missing file, repeated or non-urban codes, invalid polygons or a zone the
        population table does not know.
    """
    zones = _read_polygons(Path(path) if path is not None else ZONES_PATH, "zonas censales")
    codes = zones["geocodigo"].astype(str)
    if codes.duplicated().any() or not codes.map(_area_kind).eq("urbana").all():
        raise DataValidationError("Las zonas censales deben tener geocódigos urbanos únicos de la comuna.")
    population = load_population() if population is None else population
    table = population.set_index("geocodigo")
    unknown = sorted(set(codes) - set(table.index))
    if unknown:
        raise DataValidationError(f"Zonas censales sin población en la tabla: {', '.join(unknown)}.")
    out = gpd.GeoDataFrame({"geocodigo": codes}, geometry=zones.geometry.to_numpy(), crs=WGS84)
    out["distrito"] = codes.str[5:7].astype(int)
    out["zona"] = codes.str[8:].astype(int)
    for field in POPULATION_FIELDS:
        out[field] = table.loc[codes, field].to_numpy().astype("int64")
    out["area_km2"] = area_km2(out).round(4)
    cols = ["geocodigo", "distrito", "zona", *POPULATION_FIELDS, "area_km2", "geometry"]
    return out[cols].sort_values("geocodigo", ignore_index=True)


def load_blocks(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """The urban census blocks (manzanas).

    Parameters
    ----------
    path : path-like, optional
        GeoJSON with ``manzent`` (14 digits); :data:`BLOCKS_PATH` by default.

    Returns
    -------
    geopandas.GeoDataFrame
        ``manzent`` and ``geocodigo`` (the zone, its first 11 digits), geometry in EPSG:4326.

    Raises
    ------
    DataValidationError
        On a missing file, malformed or repeated codes, or invalid polygons.
    """
    blocks = _read_polygons(Path(path) if path is not None else BLOCKS_PATH, "manzanas censales")
    codes = blocks["manzent"].astype(str)
    if codes.duplicated().any() or not codes.str.fullmatch(COMMUNE_CODE + r"\d{9}").all():
        raise DataValidationError("Las manzanas censales deben tener códigos manzent únicos de 14 dígitos de la comuna.")
    return gpd.GeoDataFrame(
        {"manzent": codes, "geocodigo": codes.str[:11]}, geometry=blocks.geometry.to_numpy(), crs=WGS84
    )


# --------------------------------------------------------------------------- named places


def load_places(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """The named places the project knows, with their source and accuracy.

    Parameters
    ----------
    path : path-like, optional
        CSV with :data:`PLACE_FIELDS` (``lat``/``lon`` in decimal degrees, WGS 84, both
        empty for a place whose position is not known; ``precision_m`` in metres);
        :data:`PLACES_PATH` by default.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`PLACE_FIELDS` without ``lat``/``lon``, points in EPSG:4326, a null
        geometry (and ``precision_m`` <NA>) where the position is unknown; file order.

    Raises
    ------
    DataValidationError
        On missing fields, bad or repeated slugs, unknown types, a source missing, half a
        coordinate, or a placed row without a positive precision.
    """
    path = Path(path) if path is not None else PLACES_PATH
    if not path.is_file():
        raise DataValidationError(f"No se encontró la capa de lugares: {path}.", code="missing_file", path=str(path))
    frame = pd.read_csv(path, dtype={"slug": str, "nombre": str, "tipo": str, "fuente": str})
    missing = [f for f in PLACE_FIELDS if f not in frame.columns]
    if missing:
        raise DataValidationError(f"A la capa de lugares le faltan los campos: {', '.join(missing)}.", path=str(path))
    problems = []
    slugs = frame["slug"].fillna("")
    if not slugs.str.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*").all() or slugs.duplicated().any():
        problems.append("slugs vacíos, repetidos o no válidos")
    bad_tipo = sorted(set(frame["tipo"].fillna("")) - set(PLACE_TYPES))
    if bad_tipo:
        problems.append(f"tipos desconocidos: {', '.join(map(repr, bad_tipo))}")
    if frame["nombre"].fillna("").str.strip().eq("").any() or frame["fuente"].fillna("").str.strip().eq("").any():
        problems.append("todo lugar necesita nombre y fuente")
    placed = frame["lat"].notna() & frame["lon"].notna()
    if (frame["lat"].notna() != frame["lon"].notna()).any():
        problems.append("lat y lon van juntas o ambas vacías")
    if not (frame.loc[placed, "precision_m"] > 0).all():
        problems.append("todo lugar ubicado necesita precision_m positiva")
    if problems:
        raise DataValidationError("Lugares no válidos: " + "; ".join(problems) + ".", path=str(path))
    geometry = [shapely.Point(x, y) if ok else None for x, y, ok in zip(frame["lon"], frame["lat"], placed)]
    out = gpd.GeoDataFrame(frame.drop(columns=["lat", "lon"]), geometry=geometry, crs=WGS84)
    out["precision_m"] = out["precision_m"].round().astype("Int64")
    return out


def locate_places(places: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Which census zone each placed named place lies in, or is nearest to.

    Parameters
    ----------
    places : geopandas.GeoDataFrame
        From :func:`load_places` (unplaced rows are skipped).
    zones : geopandas.GeoDataFrame
        From :func:`load_zones`.

    Returns
    -------
    pandas.DataFrame
        ``slug``, ``nombre``, ``tipo``, ``precision_m`` of the place; ``geocodigo`` of the
        zone that covers its point, or of the nearest zone; ``dentro`` (bool) and
        ``distancia_m`` (int, metres in EPSG:32719, 0 inside).
    """
    placed = places[places.geometry.notna()]
    pts = placed.geometry.to_crs(UTM19S).array
    zm = zones.geometry.to_crs(UTM19S).array
    nearest = shapely.STRtree(zm).query_nearest(pts, return_distance=True, all_matches=False)
    (ip, iz), dist = nearest
    order = np.argsort(ip)
    iz, dist = iz[order], dist[order]
    out = placed[["slug", "nombre", "tipo", "precision_m"]].reset_index(drop=True)
    out["geocodigo"] = zones["geocodigo"].to_numpy()[iz]
    out["dentro"] = shapely.covers(zm[iz], pts)
    out["distancia_m"] = np.where(out["dentro"], 0, np.round(dist)).astype("int64")
    return out


def _direction(dx: float, dy: float) -> str:
    """Compass direction (8 points) of a displacement in metres (x east, y north)."""
    bearing = np.degrees(np.arctan2(dx, dy)) % 360
    return _DIRECTIONS[int(((bearing + 22.5) % 360) // 45)]


def name_zones(zones: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> pd.DataFrame:
    """Name each census zone by the named places that lie in it.

    Rule (written in ``data/README.md``): a zone takes the names of the places of
    :func:`load_places` whose point it covers, of the first kind of :data:`PLACE_TYPES`
    that it holds (neighbourhoods, else landmarks, else descriptive references), the most
    precise first, joined by `` · ``; its slug is the slug of that first (main) place.
    A zone that holds no named place is described by its compass direction from the
    Plaza de Armas (:data:`CENTRE_PLACE`), measured in EPSG:32719 to the zone's
    centroid, and by its census district and zone number, which make the name unique
    (``Oriente del centro · zona censal 3-2``, slug ``oriente-3-2``). Places outside every
    zone name none.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        From :func:`load_zones`.
    places : geopandas.GeoDataFrame
        From :func:`load_places`; must place :data:`CENTRE_PLACE`.

    Returns
    -------
    pandas.DataFrame
        ``geocodigo``, ``slug``, ``nombre``, ``lugares`` (names of every place that lies
        in the zone, ``; ``-separated, empty if none) and ``regla`` (``lugar`` or
        ``descripcion``), in the order of ``zones``.

    Raises
    ------
    DataValidationError
        When the centre place has no position, or two zones would get the same slug.
    """
    centre = places.loc[(places["slug"] == CENTRE_PLACE) & places.geometry.notna()]
    if centre.empty:
        raise DataValidationError(f"La capa de lugares debe ubicar {CENTRE_PLACE} para describir las zonas sin nombre.")
    centre_m = centre.geometry.to_crs(UTM19S).iloc[0]
    located = locate_places(places, zones)
    inside = located[located["dentro"]].copy()
    inside["_kind"] = inside["tipo"].map(PLACE_TYPES.index)
    inside["_row"] = np.arange(len(inside))
    inside = inside.sort_values(["_kind", "precision_m", "_row"])
    centroids = zones.geometry.to_crs(UTM19S).centroid
    rows = []
    for code, distrito, zona, c in zip(zones["geocodigo"], zones["distrito"], zones["zona"], centroids):
        here = inside[inside["geocodigo"] == code]
        everyone = "; ".join(here["nombre"])
        if len(here):
            first = here[here["_kind"] == here["_kind"].iloc[0]]
            rows.append((code, first["slug"].iloc[0], " · ".join(first["nombre"]), everyone, "lugar"))
            continue
        direction = _direction(c.x - centre_m.x, c.y - centre_m.y)
        name = f"{direction} del centro · zona censal {distrito}-{zona}"
        rows.append((code, f"{direction.lower()}-{distrito}-{zona}", name, everyone, "descripcion"))
    out = pd.DataFrame(rows, columns=["geocodigo", "slug", "nombre", "lugares", "regla"])
    if out["slug"].duplicated().any():
        raise DataValidationError(f"Dos zonas censales tendrían el mismo slug: {', '.join(out.loc[out['slug'].duplicated(), 'slug'])}.")
    return out


# --------------------------------------------------------------------------- aliases of old slugs


def alias_table(places: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Every placed named place -> the census zone that contains it, or the nearest one.

    The slugs of the old urban sectors (:data:`OLD_URBAN_SLUGS`) are slugs of named
    places, so this table resolves each of them; a zone's own slug maps to itself.

    Parameters
    ----------
    places, zones : geopandas.GeoDataFrame
        From :func:`load_places` and :func:`load_zones`.
    names : pandas.DataFrame
        From :func:`name_zones`.

    Returns
    -------
    pandas.DataFrame
        ``alias`` (place slug), ``nombre_alias`` (place name), ``slug`` and ``nombre`` of the
        zone, ``geocodigo``, ``relacion`` (``dentro`` or ``más cercana``) and
        ``distancia_m`` (int, metres in EPSG:32719 from the place to the zone, 0 inside).
    """
    located = locate_places(places, zones)
    zone = names.set_index("geocodigo").loc[located["geocodigo"]]
    return pd.DataFrame({
        "alias": located["slug"].to_numpy(),
        "nombre_alias": located["nombre"].to_numpy(),
        "slug": zone["slug"].to_numpy(),
        "nombre": zone["nombre"].to_numpy(),
        "geocodigo": located["geocodigo"].to_numpy(),
        "relacion": np.where(located["dentro"], "dentro", "más cercana"),
        "distancia_m": located["distancia_m"].to_numpy(),
    })


def load_aliases(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The shipped alias table (:data:`ALIASES_PATH`), columns as :func:`alias_table`.

    Read once per file version (path, size and modification time); a copy is returned.
    """
    path = Path(path) if path is not None else ALIASES_PATH
    if not path.is_file():
        raise DataValidationError(f"No se encontró la tabla de alias de sectores: {path}.", code="missing_file", path=str(path))
    stat = path.stat()
    return _read_aliases(str(path), stat.st_size, stat.st_mtime_ns).copy()


@functools.lru_cache(maxsize=4)
def _read_aliases(path: str, size: int, mtime_ns: int) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["distancia_m"] = table["distancia_m"].astype("int64")
    return table


def resolve_slug(slug: str, known: set[str] | pd.Series, aliases: pd.DataFrame | None = None) -> str:
    """The territory slug that ``slug`` names: itself when known, else its alias.

    Parameters
    ----------
    slug : str
        A territory slug, or an old urban sector / named place slug.
    known : set of str or pandas.Series
        Slugs of the active territory layer.
    aliases : pandas.DataFrame, optional
        From :func:`load_aliases` (the shipped table by default).

    Returns
    -------
    str
        A slug of ``known``.

    Raises
    ------
    UnknownTerritoryError
        When ``slug`` is neither a known slug nor an alias of one (``data``: ``slug``).
    """
    known = set(known)
    if slug in known:
        return slug
    aliases = load_aliases() if aliases is None else aliases
    target = aliases.loc[aliases["alias"] == slug, "slug"]
    if len(target) and target.iloc[0] in known:
        return str(target.iloc[0])
    raise UnknownTerritoryError(f"No existe el territorio «{slug}».", slug=slug)


# --------------------------------------------------------------------------- territory layer


def _keep_seed_part(geom: shapely.Geometry, seed: shapely.Point) -> shapely.Geometry:
    """The part of ``geom`` that covers ``seed`` (the largest part if none does)."""
    parts = shapely.get_parts(geom)
    if len(parts) <= 1:
        return geom
    hit = parts[shapely.covers(parts, seed)]
    return hit[0] if len(hit) else parts[np.argmax(shapely.area(parts))]


def _urban_rows(zones: gpd.GeoDataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Attribute rows (:data:`layers.territories.FIELDS` + census fields) of the zones."""
    named = names.set_index("geocodigo").loc[zones["geocodigo"]]
    why = [
        f"nombre por los lugares que contiene: {lugares}" if regla == "lugar"
        else "ningún lugar con nombre conocido cae en ella: nombre descriptivo por su dirección desde la Plaza de Armas"
        for regla, lugares in zip(named["regla"], named["lugares"])
    ]
    rows = pd.DataFrame({
        "slug": named["slug"].to_numpy(),
        "nombre": named["nombre"].to_numpy(),
        "tipo": "sector urbano",
        "fuente": [f"{FUENTE_CENSO} Zona censal urbana {c}; {w} (data/lugares/lugares.csv)." for c, w in zip(zones["geocodigo"], why)],
        "fuente_geometria": "Zona censal urbana del INE (Censo 2017) simplificada por chilemapas; coordenadas redondeadas a 6 decimales",
        "precision_m": PRECISION_M,
        "geocodigo": zones["geocodigo"].to_numpy(),
    })
    for field in POPULATION_FIELDS:
        rows[field] = zones[field].to_numpy()
    return rows


def build_census_territories(
    commune_geom: shapely.Geometry | None = None,
    source_dir: str | os.PathLike | None = None,
    zones: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The territory layer whose urban territories are the 2017 census zones.

    - Urban territories (``sector urbano``): the 13 census zones, named by
      :func:`name_zones`, with ``geocodigo`` and population (:data:`POPULATION_FIELDS`).
    - Rural localities: the referential shapes of :func:`layers.territories.build_territories`
      (discs around seeds, Voronoi among localities, outside the referential urban area)
      minus the census urban area, keeping the part that holds the seed. No population:
      the census gives none per locality (see :func:`rural_population`).
    - ``resto-rural``: the commune minus everything else.

    Coordinates are snapped to the 1e-6 degree grid of the shipped GeoJSON before the
    remainder is taken, so that the layer tiles the commune. Areas in EPSG:32719.

    Parameters
    ----------
    commune_geom : shapely geometry, optional
        Commune boundary in EPSG:4326; the official one (:mod:`layers.commune`) by default.
    source_dir : path-like, optional
        Folder of the referential seeds and urban area (``data/territorios`` by default).
    zones, places : geopandas.GeoDataFrame, optional
        From :func:`load_zones` and :func:`load_places`; the shipped files by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Fields :data:`layers.territories.FIELDS` + :data:`layers.territories.EXTRA_FIELDS`,
        EPSG:4326: zones by code, then rural localities in seed order, then ``resto-rural``.

    Raises
    ------
    DataValidationError
        When a zone leaves the commune, or the inputs break the rules of
        :func:`layers.territories.build_territories` or :func:`name_zones`.
    """
    started = time.perf_counter()
    if commune_geom is None:
        from layers.commune import commune_geometry  # local import: commune reads a package file

        commune_geom = commune_geometry()
    zones = load_zones() if zones is None else zones
    places = load_places() if places is None else places
    names = name_zones(zones, places)
    reference = territories.build_territories(source_dir, commune_geom)

    urban = shapely.set_precision(zones.geometry.array, territories.GRID_DEG)
    commune_m = gpd.GeoSeries([commune_geom], crs=WGS84).to_crs(UTM19S).iloc[0]
    urban_m = gpd.GeoSeries(urban, crs=WGS84).to_crs(UTM19S).array
    outside = ~shapely.covered_by(urban_m, shapely.buffer(commune_m, territories.TOLERANCE_M))
    if outside.any():
        raise DataValidationError(f"Zonas censales fuera de la comuna: {', '.join(zones.loc[outside, 'geocodigo'])}.")
    city = shapely.union_all(urban)

    rural = reference[reference["tipo"] == "localidad rural"].reset_index(drop=True)
    seeds = territories.read_seeds(Path(source_dir) / territories.SEEDS_FILE if source_dir else None).set_index("slug")
    cut = shapely.set_precision(shapely.difference(rural.geometry.array, city), territories.GRID_DEG)
    cut = [
        territories.single_polygon(_keep_seed_part(g, seeds.geometry[s]), s) for g, s in zip(cut, rural["slug"])
    ]
    resto = shapely.set_precision(shapely.difference(commune_geom, shapely.union_all([*urban, *cut])), territories.GRID_DEG)

    rest_rows = reference[reference["tipo"] != "sector urbano"][list(territories.FIELDS)].reset_index(drop=True)
    rest_rows["fuente_geometria"] = [
        g.replace("límite urbano referencial", "límite urbano referencial y de las zonas censales urbanas (INE 2017)")
        for g in rest_rows["fuente_geometria"]
    ]
    is_resto = rest_rows["slug"] == territories.RESTO_SLUG
    rest_rows.loc[is_resto, "fuente_geometria"] = (
        "Límite comunal (DPA 2023) menos las zonas censales urbanas (INE 2017) y las localidades rurales"
    )
    rest_rows.loc[is_resto, "fuente"] = rest_rows.loc[is_resto, "fuente"].str.replace(
        "del límite urbano referencial.", "de las zonas censales urbanas del INE (Censo 2017).", regex=False
    )
    out = gpd.GeoDataFrame(
        pd.concat([_urban_rows(zones, names), rest_rows], ignore_index=True),
        geometry=[*urban, *cut, resto],
        crs=WGS84,
    )
    for field in POPULATION_FIELDS:
        out[field] = out[field].astype("Int64")
    out["area_km2"] = area_km2(out).round(4)
    log.info("census territories built: %d features in %.2f s", len(out), time.perf_counter() - started)
    return out[[*territories.FIELDS, *territories.EXTRA_FIELDS, "geometry"]]


# --------------------------------------------------------------------------- population-based measures


def alias_entry(slug: str, known: set[str] | pd.Series, aliases: pd.DataFrame | None = None) -> dict[str, object] | None:
    """What an alias slug stands for, when it is not itself a territory of ``known``.

    Parameters
    ----------
    slug : str
        A slug given by a person (URL, command line).
    known : set of str or pandas.Series
        Slugs of the active territory layer.
    aliases : pandas.DataFrame, optional
        From :func:`load_aliases` (the shipped table by default).

    Returns
    -------
    dict or None
        The alias row (``alias``, ``nombre_alias``, ``slug``, ``nombre``, ``geocodigo``,
        ``relacion``, ``distancia_m``) when ``slug`` is an alias whose zone is in
        ``known``; ``None`` when ``slug`` is a territory itself or no alias.
    """
    known = set(known)
    if slug in known:
        return None
    aliases = load_aliases() if aliases is None else aliases
    rows = aliases[(aliases["alias"] == slug) & aliases["slug"].isin(known)]
    return rows.iloc[0].to_dict() if len(rows) else None


def alias_note(entry: dict[str, object], named: bool = False) -> str:
    """One Spanish sentence saying where the place of an alias lies, for the page that opens it.

    Parameters
    ----------
    entry : dict
        A row of :func:`alias_entry`.
    named : bool
        Name the zone (for a page that shows several territories, such as the plan map)
        instead of saying «esta» (the sector page, which opens that zone).

    Returns
    -------
    str
        For instance «Población Hermanos Carrera» (dirección anterior «hermanos-carrera») no
        cae en ninguna zona censal: su punto referencial queda a 1.765 m de esta, la más cercana.
    """
    from layers.text import format_number  # local import: text is a leaf module

    head = f"«{entry['nombre_alias']}» (dirección anterior «{entry['alias']}»)"
    if named:
        zone = f"«{entry['nombre']}»"
        if entry["relacion"] == "dentro":
            return f"{head} se muestra como {zone}, la zona censal que lo contiene."
        return (
            f"{head} se muestra como {zone}, la zona censal más cercana: su punto referencial no cae en "
            f"ninguna y queda a {format_number(float(entry['distancia_m']))} m de esta."
        )
    if entry["relacion"] == "dentro":
        return f"{head} está en esta zona censal."
    return (
        f"{head} no cae en ninguna zona censal: su punto referencial queda a "
        f"{format_number(float(entry['distancia_m']))} m de esta, la más cercana."
    )


def per_thousand(counts: np.ndarray | pd.Series, population: np.ndarray | pd.Series) -> np.ndarray:
    """Initiatives per 1,000 inhabitants.

    Parameters
    ----------
    counts : array-like of int
        Initiatives per territory.
    population : array-like of float
        Census population (persons, Censo 2017) of the same territories; missing
        (NaN / <NA>) or zero where the census gives none.

    Returns
    -------
    numpy.ndarray of float
        ``1000 * counts / population``; NaN where there is no population.
    """
    n = pd.to_numeric(pd.Series(np.asarray(counts)), errors="coerce").to_numpy(dtype=float)
    pop = pd.to_numeric(pd.Series(np.asarray(population, dtype=object)), errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 1000.0 * n / pop
    rate[~(pop > 0)] = np.nan
    return rate


def zone_equity(
    territories: pd.DataFrame,
    relations: links.Relations,
    selected_ids: pd.Series | list[str] | None = None,
    amounts: pd.Series | None = None,
) -> pd.DataFrame:
    """Urban zones side by side: population and the initiatives specific to each.

    Parameters
    ----------
    territories : pandas.DataFrame
        Territory layer with ``slug``, ``nombre``, ``tipo`` and ``poblacion``.
    relations : layers.links.Relations
        :func:`layers.links.relate` of the initiatives with ``territories`` (its specific pairs count).
    selected_ids : sequence of str, optional
        Initiatives to count (all related ones by default).
    amounts : pandas.Series, optional
        Amount of each initiative in pesos (CLP), indexed by id (the monitoring's approved
        amount, else its estimate); missing where none is recorded.

    Returns
    -------
    pandas.DataFrame
        One row per urban territory with a population, in layer order: ``slug``,
        ``nombre``, ``geocodigo``, ``poblacion`` (persons, Censo 2017), ``ubicadas``,
        ``vinculadas``, ``especificas`` (sited in it or linked to it by name),
        ``por_mil`` (specific initiatives per 1,000 inhabitants) and
        ``inversion_ubicada_clp`` (sum of ``amounts`` of the initiatives sited in the zone;
        <NA> when none of them has an amount). Empty when the layer carries no population
        (an imported layer, for instance).
    """
    from layers import links  # local import: links imports territories, as census does

    columns = [
        "slug", "nombre", "geocodigo", "poblacion", "ubicadas", "vinculadas", "especificas", "por_mil",
        "inversion_ubicada_clp",
    ]
    if "poblacion" not in territories.columns:
        return pd.DataFrame(columns=columns)
    urban = territories[(territories["tipo"] == "sector urbano") & territories["poblacion"].notna()]
    rel = relations.specific
    if selected_ids is not None:
        rel = rel[rel["id"].isin(set(selected_ids))]
    table = rel.groupby(["slug", "relacion"]).size().unstack(fill_value=0)
    table = table.reindex(index=urban["slug"], columns=list(links.SPECIFIC_RELATIONS), fill_value=0).fillna(0)
    out = pd.DataFrame({
        "slug": urban["slug"].to_numpy(),
        "nombre": urban["nombre"].to_numpy(),
        "geocodigo": urban["geocodigo"].to_numpy() if "geocodigo" in urban.columns else None,
        "poblacion": urban["poblacion"].astype("int64").to_numpy(),
        "ubicadas": table["ubicada"].astype("int64").to_numpy(),
        "vinculadas": table["vinculada"].astype("int64").to_numpy(),
    })
    # One initiative may be both sited and linked in a zone only once (relate keeps the most specific).
    out["especificas"] = out["ubicadas"] + out["vinculadas"]
    out["por_mil"] = per_thousand(out["especificas"], out["poblacion"]).round(3)
    invested = pd.Series(pd.NA, index=out["slug"], dtype="Int64")
    if amounts is not None:
        sited = rel[rel["relacion"] == "ubicada"].assign(monto=lambda r: pd.to_numeric(r["id"].map(amounts), errors="coerce"))
        sums = sited.dropna(subset=["monto"]).groupby("slug")["monto"].sum().round().astype("int64")
        invested.loc[invested.index.intersection(sums.index)] = sums.reindex(invested.index).dropna().astype("int64")
    out["inversion_ubicada_clp"] = pd.array(invested.tolist(), dtype="Int64")
    return out[columns]
