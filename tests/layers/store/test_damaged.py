"""A damaged store is detected when opened and repaired: shipped layers rebuilt, readable ones recovered."""

from __future__ import annotations

import pytest

from layers import settings, store
from layers.store import repair
from tests.layers.store._damage import EDITABLE, IMPORTED, KINDS, N_POINTS, N_ROWS, damage, populate


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_store_is_detected_with_its_code(fresh_store, kind):
    populate()
    damage(settings.store_path(), kind)
    for call in (store.list_layers, store.version, lambda: store.read_layer("iniciativas"), lambda: store.read_table(EDITABLE)):
        with pytest.raises(store.StoreDamagedError) as err:
            call()
        assert err.value.code == "store_damaged"
        assert "dañado" in str(err.value) and "\n" not in str(err.value) and "--" not in str(err.value)
        assert err.value.data["path"] == str(settings.store_path())


def test_empty_file_is_damaged(fresh_store):
    settings.store_path().write_bytes(b"")
    with pytest.raises(store.StoreDamagedError):
        store.list_layers()


@pytest.mark.parametrize("kind", KINDS)
def test_repair_rebuilds_and_reports_every_layer(fresh_store, kind):
    populate()
    path = settings.store_path()
    stale = path.with_name(f".{path.stem}.99999.tmp{path.suffix}")
    stale.write_bytes(b"left by a killed writer")
    damage(path, kind)
    report = store.repair_store()
    assert report.damage and report.kept_at.exists() and report.kept_at.name.startswith(path.stem + ".danado-")
    assert stale in report.stale and not stale.exists()
    assert len(store.read_layer("iniciativas")) == 194
    assert set(report.shipped) >= {"comuna", "territorios", "iniciativas", "estrategias", "objetivos", "planes"}
    named = {name for name, *_ in report.recovered} | {name for name, *_ in report.lost}
    if kind == "garbage":
        assert report.inventory_lost and not report.recovered
        assert "se perdieron" in repair.format_report(report)
    else:
        assert named == {IMPORTED, EDITABLE} or report.inventory_lost
    for name, kind_, n, expected in report.recovered:
        reread = store.read_table(name) if kind_ == "tabla editable" else store.read_layer(name)
        assert len(reread) == n and (expected is None or n <= expected)
    text = repair.format_report(report)
    assert text.startswith("El almacén estaba dañado") and str(report.kept_at) in text
    store.backend().check()  # the new store is sound


def test_repair_recovers_all_that_the_damage_spared(fresh_store):
    """Zeros over the imported layer's pages: that layer is lost or cut, the editable table comes back whole."""
    populate()
    path = settings.store_path()
    damage(path, "zeroed", table=IMPORTED)
    with pytest.raises(store.StoreDamagedError):
        store.list_layers()
    report = store.repair_store()
    recovered = {name: (n, expected) for name, _kind, n, expected in report.recovered}
    assert recovered[EDITABLE] == (N_ROWS, N_ROWS)
    rows = store.read_table(EDITABLE)
    assert len(rows) == N_ROWS and set(rows["estado"]) == {"sin iniciar"}
    assert store.layer_info(EDITABLE)["clase"] == store.EDITABLE
    assert IMPORTED in {name for name, *_ in report.lost} or recovered[IMPORTED][0] < N_POINTS
    reg = store.list_layers().set_index("nombre")
    if IMPORTED in reg.index:
        assert reg.loc[IMPORTED, "titulo"] == "Puntos importados" and reg.loc[IMPORTED, "origen"] == store.IMPORTED


def test_repair_of_a_sound_store_keeps_everything(fresh_store):
    populate()
    report = store.repair_store()
    assert report.damage is None and report.kept_at is None
    assert len(store.read_layer(IMPORTED)) == N_POINTS and len(store.read_table(EDITABLE)) == N_ROWS
    assert repair.format_report(report).startswith("El almacén no estaba dañado")
