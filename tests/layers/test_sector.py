"""One territory seen from the inside: neighbours and the initiatives that concern it."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.crs import UTM19S, WGS84
from layers import links, sector
from layers._errors import UnknownTerritoryError

PASEOS = "Habilitación Paseos Peatonales centro de la ciudad"
AGUA_RURAL = "Construcción agua potable rural, diversos sectores"
EXTRACOMUNAL = "E4-P2-07"  # Casa Acogida a Estudiantes ... en La Serena



def summary_of(shipped, slug):
    return sector.sector_summary(
        slug, shipped["initiatives"], shipped["territories"], shipped["relations"], shipped["strategies"]
    )


def names_in(group_list, key):
    group = next((g for g in group_list if g.key == key), None)
    return [] if group is None else list(group.initiatives["nombre"])


def test_domeyko_gets_rural_programmes_not_the_city_centre(shipped):
    s = summary_of(shipped, "domeyko")
    assert s.nombre == "Domeyko" and s.tipo == "localidad rural"
    assert AGUA_RURAL in names_in(s.by_relation, "programa")
    labels = {g.key: g.label for g in s.by_relation}
    assert labels["programa"] == "Programas rurales"
    row = s.initiatives.loc[s.initiatives["nombre"] == AGUA_RURAL].iloc[0]
    assert (row["relacion"], row["grupo"]) == ("rural", "programa")
    assert PASEOS not in set(s.initiatives["nombre"])
    # Domeyko is named by the connectivity project along the highway.
    assert "E1-P4-09" in set(s.initiatives.loc[s.initiatives["grupo"] == "vinculada", "id"])
    assert s.counts["ubicada"] == 0


def test_centro_holds_its_sited_projects(shipped):
    s = summary_of(shipped, "centro")
    sited = names_in(s.by_relation, "ubicada")
    assert PASEOS in sited
    assert any(n.startswith("Reconversión Macromanzana") for n in sited)
    assert AGUA_RURAL not in set(s.initiatives["nombre"])
    assert next(g.label for g in s.by_relation if g.key == "programa") == "Programas urbanos"
    assert set(s.sited["id"]) >= {"E1-P1-03", "E6-P1-06"}


def test_a_site_brought_into_the_census_city_is_in_its_zone(shipped):
    # The referential points of Hermanos Carrera and Rafael Torreblanca lay 1.2-1.8 km from the
    # city the census drew; they were brought into the nearest zones (data/README.md), where the
    # old slugs of those poblaciones lead, so the committee that opens its sector finds its project.
    for slug in ("norte-4-2", "quinta-valle"):
        zone = summary_of(shipped, slug)
        assert any(n.startswith("Centro Comunitario Familiar") for n in names_in(zone.by_relation, "ubicada")), slug
    rest = summary_of(shipped, "resto-rural")
    assert not any(n.startswith("Centro Comunitario Familiar") for n in rest.initiatives["nombre"])


@pytest.mark.parametrize("slug", ["centro", "domeyko", "resto-rural", "norte-4-2"])
def test_groups_and_counts_are_consistent(shipped, slug):
    s = summary_of(shipped, slug)
    assert EXTRACOMUNAL not in set(s.initiatives["id"])
    assert (s.initiatives["alcance"] != "extracomunal").all()
    assert s.initiatives["id"].is_unique
    assert s.counts["total"] == len(s.initiatives) == sum(s.counts[k] for k in sector.GRUPOS)
    assert sum(g.n for g in s.by_relation) == s.counts["total"]
    assert sum(g.n for g in s.by_strategy) == s.counts["total"]
    assert [g.key for g in s.by_relation] == [k for k in sector.GRUPOS if s.counts[k]]
    assert [g.key for g in s.by_strategy] == sorted({*s.initiatives["estrategia"]}, key=lambda x: int(x[1:]))
    # Catalogue order is kept inside every group.
    order = {i: n for n, i in enumerate(shipped["initiatives"]["id"])}
    for g in (*s.by_relation, *s.by_strategy):
        ranks = [order[i] for i in g.initiatives["id"]]
        assert ranks == sorted(ranks)
    # The relation table agrees: same ids as relate() gives for the territory.
    rel = shipped["relations"].pairs(slugs=[slug])
    assert set(s.initiatives["id"]) == set(rel["id"])


def test_every_commune_wide_initiative_concerns_every_territory(shipped):
    inits = shipped["initiatives"]
    comunal = set(inits.loc[inits["alcance"] == "comunal", "id"])
    for slug in ("centro", "domeyko", "resto-rural"):
        s = summary_of(shipped, slug)
        assert set(s.initiatives.loc[s.initiatives["grupo"] == "comunal", "id"]) == comunal


def test_neighbours_of_centro_share_an_edge(shipped):
    s = summary_of(shipped, "centro")
    neigh = s.neighbours
    assert len(neigh) > 0
    assert "centro" not in set(neigh["slug"])
    assert {"plaza-de-armas", "barrio-estacion", "vista-alegre"} <= set(neigh["slug"])
    assert "domeyko" not in set(neigh["slug"])
    own = gpd.GeoSeries([s.territory.geometry], crs=WGS84).to_crs(UTM19S).iloc[0]
    for geom, edge in zip(neigh.geometry.to_crs(UTM19S), neigh["borde_m"]):
        assert shapely.distance(own, geom) < 0.5
        shared = shapely.length(shapely.intersection(own.boundary, shapely.buffer(geom, 0.5)))
        assert shared >= sector.MIN_SHARED_EDGE_M
        assert edge == pytest.approx(shared, abs=0.1)
        # They touch: no overlap beyond rounding noise.
        assert shapely.area(shapely.intersection(own, geom)) < 100.0
    assert list(neigh["slug"]) == sector.territory_order(neigh)


def test_domeyko_only_borders_the_rural_remainder(shipped):
    assert list(summary_of(shipped, "domeyko").neighbours["slug"]) == ["resto-rural"]


def test_corner_contact_is_not_a_shared_edge():
    # Three 1 km squares in EPSG:32719: b shares an edge with a, c only a corner.
    a = shapely.box(300_000, 6_840_000, 301_000, 6_841_000)
    b = shapely.box(301_000, 6_840_000, 302_000, 6_841_000)
    c = shapely.box(301_000, 6_841_000, 302_000, 6_842_000)
    frame = gpd.GeoDataFrame(
        {"slug": ["a", "b", "c"], "nombre": ["A", "B", "C"], "tipo": ["sector urbano"] * 3},
        geometry=[a, b, c], crs=UTM19S,
    ).to_crs(WGS84)
    out = sector.neighbours("a", frame)
    assert list(out["slug"]) == ["b"]
    assert out["borde_m"].iloc[0] == pytest.approx(1000.0, abs=1.0)


def test_unknown_territory_is_a_spanish_error_with_a_suggestion(shipped):
    with pytest.raises(UnknownTerritoryError, match="¿Quiso decir «domeyko»?") as info:
        summary_of(shipped, "domeiko")
    assert "Territorio desconocido: «domeiko»" in str(info.value)
    with pytest.raises(UnknownTerritoryError):
        summary_of(shipped, "xyz")


def test_territory_order_is_by_kind_then_name(shipped):
    terr = shipped["territories"]
    order = sector.territory_order(terr)
    assert sorted(order) == sorted(terr["slug"])
    kinds = terr.set_index("slug").loc[order, "tipo"].tolist()
    rank = [("sector urbano", "localidad rural", "resto rural").index(k) for k in kinds]
    assert rank == sorted(rank)
    assert order[-1] == "resto-rural"


def test_sector_layer_is_exportable(shipped):
    s = summary_of(shipped, "centro")
    layer = sector.sector_layer(s)
    assert "relacion" in layer.columns and "grupo" not in layer.columns
    assert set(layer["relacion"]) <= set(links.RELACIONES)
    assert layer.crs.to_epsg() == 4326
    assert len(layer) == s.counts["total"]
    assert sector.relation_label("rural") == "Programa rural"
