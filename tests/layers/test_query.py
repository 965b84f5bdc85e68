"""The shared filter of initiatives."""

from __future__ import annotations

import pytest

from layers import census, links, query, store
from layers._errors import InvalidFilterError, UnknownTerritoryError


@pytest.fixture(scope="module")
def layer(data_dir):
    inits = store.read_layer("iniciativas")
    terr = store.read_layer("territorios")
    return inits, terr, links.relate(inits, terr)


def test_no_filter_returns_everything(layer):
    inits, _, rel = layer
    assert len(query.filter_initiatives(inits, rel)) == 194


def test_values_within_a_filter_are_or_and_filters_are_and(layer):
    inits, _, rel = layer
    e1 = query.filter_initiatives(inits, rel, estrategia=1)
    e12 = query.filter_initiatives(inits, rel, estrategia=["E1", "2"])
    assert len(e12) == len(e1) + (inits["estrategia"] == "E2").sum()
    both = query.filter_initiatives(inits, rel, estrategia=1, tipo="estudio")
    assert set(both["estrategia"]) == {"E1"} and set(both["tipo"]) == {"Estudio"}


def test_several_territories_union(layer):
    inits, terr, rel = layer
    dom = set(query.filter_initiatives(inits, rel, territorio="domeyko")["id"])
    cen = set(query.filter_initiatives(inits, rel, territorio="centro")["id"])
    both = set(query.filter_initiatives(inits, rel, territorio=["domeyko", "centro"], territories=terr)["id"])
    assert both == dom | cen


@pytest.mark.parametrize("old", census.OLD_URBAN_SLUGS)
def test_every_former_urban_slug_filters_as_its_census_zone(layer, old):
    inits, terr, rel = layer
    zone = census.resolve_slug(old, terr["slug"])
    assert query.check_territories([old], terr) == [zone]
    got = set(query.filter_initiatives(inits, rel, territorio=old, territories=terr)["id"])
    assert got == set(query.filter_initiatives(inits, rel, territorio=zone, territories=terr)["id"])


def test_former_slugs_name_nothing_in_another_layer(layer):
    _, terr, _ = layer
    other = terr.assign(slug=[f"uv-{i}" for i in range(len(terr))])
    with pytest.raises(UnknownTerritoryError, match="hermanos-carrera"):
        query.check_territories(["hermanos-carrera"], other)


def test_text_search_ignores_case_and_accents(layer):
    inits, _, rel = layer
    hits = query.filter_initiatives(inits, rel, q="AGUA potable")
    assert "Construcción agua potable rural, diversos sectores" in set(hits["nombre"])
    assert set(query.filter_initiatives(inits, rel, q="jardin vista")["nombre"]) == {"Jardín Infantil Vista Alegre"}
    assert query.filter_initiatives(inits, rel, q="zzzz").empty


def test_scope_filter(layer):
    inits, _, rel = layer
    rural = query.filter_initiatives(inits, rel, alcance="rural")
    assert len(rural) == (inits["alcance"] == "rural").sum() > 0
    with pytest.raises(InvalidFilterError, match="Alcance desconocido"):
        query.filter_initiatives(inits, rel, alcance="lunar")


def test_unknown_territory_suggests(layer):
    inits, terr, rel = layer
    with pytest.raises(UnknownTerritoryError, match="¿Quiso decir «domeyko»?"):
        query.filter_initiatives(inits, rel, territorio="domeyco", territories=terr)
    with pytest.raises(UnknownTerritoryError) as info:  # a place with no zone of its own: no look-alike offered
        query.check_territories(["cementerio"], terr)
    assert "Quiso decir" not in str(info.value)


def test_a_slug_typed_with_capitals_names_its_territory(layer):
    _, terr, _ = layer
    assert query.check_territories(["DOMEYKO", " Centro "], terr) == ["domeyko", "centro"]
    assert query.check_territories(["HERMANOS-CARRERA"], terr) == ["norte-4-2"]  # a former slug, too


def test_a_name_typed_with_spaces_and_accents_names_its_territory(layer):
    _, terr, _ = layer
    assert query.check_territories(["Hermanos Carrera", "quinta valle"], terr) == ["norte-4-2", "quinta-valle"]
    assert query.check_territories(["Dómeyko"], list(terr["slug"])) == ["domeyko"]  # the layer's slugs alone do
    with pytest.raises(UnknownTerritoryError):
        query.check_territories(["   "], terr)


def test_fold():
    assert query.fold("Ñuñoa Edén") == "nunoa eden"


def test_filter_keys_are_the_filters_of_filter_initiatives(layer):
    import inspect

    from layers import selection

    params = inspect.signature(query.filter_initiatives).parameters
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in query.FILTER_KEYS)
    assert selection.FILTER_KEYS is query.FILTER_KEYS
    inits, terr, rel = layer
    state = {**selection.empty_filters(), "estrategia": ["E1"], "territorio": ["domeyko"]}
    expected = query.filter_initiatives(inits, rel, estrategia=["E1"], territorio=["domeyko"])
    assert 0 < len(expected) < len(inits)
    assert list(selection.apply(inits, rel, state, terr)["id"]) == list(expected["id"])


def test_errors_carry_code_and_data(layer):
    _, terr, _ = layer
    with pytest.raises(UnknownTerritoryError) as err:
        query.check_territories(["domeiko"], terr)
    assert err.value.code == "unknown_territory"
    assert err.value.data == {"slug": "domeiko", "suggestion": "domeyko"}
    with pytest.raises(InvalidFilterError) as err:
        query.check_scopes(["galáctico"])
    assert err.value.code == "unknown_scope" and err.value.data["value"] == "galáctico"
