"""The monitoring record in the store: shipped state, changes with history, idempotence, concurrency, rebuilds."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from layers import catalogue, store
from layers._errors import SitError
from layers.monitoring import history as H

IDS = catalogue.load_initiatives()["id"].tolist()
WHEN = dt.datetime(2026, 3, 15, 13, 20, tzinfo=dt.UTC)


def updates(rows: dict[str, dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index").astype(object)
    return frame.where(frame.notna(), None).rename_axis("id")


def test_shipped_state_is_sin_iniciar_with_empty_fields(fresh_store):
    matrix = H.current_values(IDS)
    assert len(matrix) == 194 and list(matrix.index) == IDS
    assert (matrix["estado"] == "sin iniciar").all()
    assert (matrix["version"] == 0).all()
    others = matrix.drop(columns=["estado", "version"])
    assert others.isna().all().all()
    assert H.history().empty


def test_changes_are_saved_with_their_history(fresh_store):
    change = H.apply_changes(updates({
        "E1-P1-08": {"estado": "en ejecución", "avance_fisico": 30.5, "monto_aprobado_clp": 1_200_000_000},
        "E3-P4-03": {"estado": "postulada", "avance_fisico": None, "monto_aprobado_clp": None},
    }), "Ana Pérez", "Informe trimestral", now=WHEN)
    assert change.n_initiatives == 2 and change.n_fields == 4
    matrix = H.current_values(IDS)
    row = matrix.loc["E1-P1-08"]
    assert (row["estado"], row["avance_fisico"], row["monto_aprobado_clp"]) == ("en ejecución", 30.5, 1_200_000_000)
    assert row["actualizado_por"] == "Ana Pérez" and row["version"] == 1
    assert row["actualizado_el"] == "2026-03-15T10:20:00-03:00"  # America/Santiago, ISO 8601 with offset
    entries = H.history("E1-P1-08")
    assert entries[["campo", "valor_anterior", "valor_nuevo"]].values.tolist() == [
        ["estado", "sin iniciar", "en ejecución"], ["avance_fisico", "", "30.5"],
        ["monto_aprobado_clp", "", "1200000000"],
    ]
    assert set(entries["autor"]) == {"Ana Pérez"} and set(entries["motivo"]) == {"Informe trimestral"}
    assert entries["lote"].nunique() == 1
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", v) for v in entries["fecha_hora"])
    assert matrix.loc["E1-P1-01", "version"] == 0


def test_identical_values_add_nothing(fresh_store):
    first = updates({"E1-P1-01": {"estado": "financiada", "avance_financiero": 10.0, "codigo_bip": "30123456-0"}})
    H.apply_changes(first, "Ana")
    again = H.apply_changes(first, "Otra persona", "reenvío")
    assert again.n_fields == 0
    assert len(H.history()) == 3
    assert H.current_values(["E1-P1-01"]).loc["E1-P1-01", "version"] == 1
    assert H.current_values(["E1-P1-01"]).loc["E1-P1-01", "actualizado_por"] == "Ana"


def test_partial_changes_keep_other_fields_and_clearing_is_recorded(fresh_store):
    H.apply_changes(updates({"E1-P1-01": {"estado": "financiada", "meta": "300 m²"}}), "Ana")
    H.apply_changes(updates({"E1-P1-01": {"meta": None}}), "Luis", "meta retirada")
    row = H.current_values(["E1-P1-01"]).loc["E1-P1-01"]
    assert row["estado"] == "financiada" and row["meta"] is None and row["version"] == 2
    last = H.history("E1-P1-01").iloc[-1]
    assert (last["campo"], last["valor_anterior"], last["valor_nuevo"], last["autor"]) == ("meta", "300 m²", "", "Luis")


def test_history_is_append_only_and_oldest_first(fresh_store):
    for pct in (10.0, 20.0, 30.0):
        H.apply_changes(updates({"E1-P1-02": {"avance_fisico": pct}}), "Ana")
    entries = H.history("E1-P1-02")
    assert entries["valor_nuevo"].tolist() == ["10", "20", "30"]
    assert entries["valor_anterior"].tolist() == ["", "10", "20"]


def test_stale_version_is_refused_and_nothing_written(fresh_store):
    H.apply_changes(updates({"E1-P1-03": {"estado": "postulada"}}), "Ana")
    read_at = {"E1-P1-03": 0}  # read before Ana's change
    with pytest.raises(H.StaleVersionError) as info:
        H.apply_changes(updates({"E1-P1-03": {"estado": "descartada"}}), "Luis", expected_versions=read_at)
    assert info.value.code == "stale_version" and info.value.data["ids"] == ["E1-P1-03"]
    assert H.current_values(["E1-P1-03"]).loc["E1-P1-03", "estado"] == "postulada"
    assert len(H.history()) == 1
    ok = H.apply_changes(updates({"E1-P1-03": {"estado": "descartada"}}), "Luis", expected_versions={"E1-P1-03": 1})
    assert ok.n_fields == 1


@pytest.mark.parametrize("autor", ["", "   ", None, "x" * 121, "a\x07b"])
def test_author_is_required(fresh_store, autor):
    with pytest.raises(SitError) as info:
        H.apply_changes(updates({"E1-P1-01": {"estado": "postulada"}}), autor)
    assert info.value.code == "bad_author"
    assert H.history().empty


def test_record_survives_a_forced_rebuild(fresh_store):
    H.apply_changes(updates({"E1-P1-08": {"estado": "terminada", "avance_fisico": 100.0}}), "Ana", "cierre")
    before_matrix, before_history = H.current_values(IDS), H.history()
    store.ensure_store(force=True)
    pd.testing.assert_frame_equal(H.current_values(IDS), before_matrix)
    pd.testing.assert_frame_equal(H.history(), before_history)
    registry = store.list_layers().set_index("nombre")
    assert registry.at[H.TABLE, "clase"] == store.EDITABLE and registry.at[H.HISTORY, "clase"] == store.EDITABLE


def test_killed_writer_leaves_values_and_history_consistent(fresh_store):
    """SIGKILL a process that keeps saving change sets: every committed set is whole, in both tables."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from layers import settings

    script = (
        "import pandas as pd\n"
        "from layers import catalogue\n"
        "from layers.monitoring import history as H\n"
        "ids = catalogue.load_initiatives()['id'].tolist()\n"
        "for i in range(10_000):\n"
        "    frame = pd.DataFrame({'avance_fisico': [float(i % 100) + 0.5] * len(ids),\n"
        "                          'observaciones': [f'vuelta {i}'] * len(ids)}, index=pd.Index(ids, name='id'), dtype=object)\n"
        "    H.apply_changes(frame, 'Proceso', f'vuelta {i}')\n"
        "    print(i, flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=settings.PROJECT_DIR, stdout=subprocess.PIPE,
                            env=dict(os.environ), text=True)
    try:
        assert proc.stdout.readline().strip() == "0"  # at least one change set committed
        time.sleep(0.7)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    matrix, entries = H.current_values(IDS), H.history()
    lots_per_id = entries.groupby("id")["lote"].nunique()
    assert (matrix["version"] == lots_per_id.reindex(IDS).fillna(0).astype(int)).all()
    assert len(entries) == 2 * len(IDS) * int(matrix["version"].iloc[0])
    assert matrix["version"].nunique() == 1
    last = entries.iloc[-1]
    assert matrix.loc[last["id"], "observaciones"] == last["valor_nuevo"]


def test_values_at_a_past_moment_undo_later_changes(fresh_store):
    first = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    second = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
    H.apply_changes(updates({"E1-P1-08": {"estado": "en ejecución", "avance_fisico": 40.0, "monto_aprobado_clp": 900}}),
                    "Ana", now=first)
    H.apply_changes(updates({"E1-P1-08": {"estado": "terminada", "avance_fisico": 100.0, "monto_aprobado_clp": None},
                             "E1-P1-01": {"estado": "postulada", "avance_fisico": None, "monto_aprobado_clp": None}}),
                    "Luis", now=second)
    end_2025 = dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    past = H.values_at(IDS, end_2025)
    row = past.loc["E1-P1-08"]
    assert (row["estado"], row["avance_fisico"], row["monto_aprobado_clp"]) == ("en ejecución", 40.0, 900)
    assert (row["version"], row["actualizado_por"]) == (1, "Ana")
    other = past.loc["E1-P1-01"]
    assert other["estado"] == "sin iniciar" and other["version"] == 0 and other["actualizado_el"] is None
    pd.testing.assert_frame_equal(H.values_at(IDS, dt.datetime(2030, 1, 1, tzinfo=dt.UTC)), H.current_values(IDS))
    assert (H.values_at(IDS, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))["estado"] == "sin iniciar").all()


def _record_across_new_year():
    H.apply_changes(updates({"E1-P1-08": {"estado": "terminada", "fecha_termino_real": "2025-11-01",
                                          "monto_ejecutado_clp": 500}}), "Ana", now=dt.datetime(2025, 11, 2, tzinfo=dt.UTC))
    H.apply_changes(updates({"E1-P1-03": {"estado": "terminada", "fecha_termino_real": "2026-01-05",
                                          "monto_ejecutado_clp": 700},
                             "E1-P1-08": {"estado": "terminada", "fecha_termino_real": "2025-11-01",
                                          "monto_ejecutado_clp": 550}}), "Luis", now=dt.datetime(2026, 1, 6, tzinfo=dt.UTC))


def test_public_account_of_a_closed_year_reports_what_was_recorded_later(fresh_store):
    """The account of 2025 is written in 2026, from what was recorded then (the default)."""
    from layers import monitoring

    _record_across_new_year()
    H.apply_changes(updates({"E1-P1-01": {"estado": "terminada", "fecha_termino_real": "2025-12-20"}}), "Ana",
                    now=dt.datetime(2026, 3, 10, tzinfo=dt.UTC))  # loaded in March for the past year
    report = monitoring.account_figures(2025, today=dt.date(2026, 6, 30))
    assert sorted(report["terminadas"]["id"]) == ["E1-P1-01", "E1-P1-08"]  # finished in 2025, recorded in 2026
    assert report["totales"]["monto_ejecutado_clp"] == 1250 and not report["al_cierre"]
    assert report["fecha_datos"].startswith("2026-03-")


def test_public_account_at_year_end_uses_the_record_at_its_end(fresh_store):
    from layers import monitoring

    _record_across_new_year()
    closed = monitoring.account_figures(2025, today=dt.date(2026, 6, 30), at_year_end=True)
    assert closed["al_cierre"]
    assert closed["totales"]["terminada"] == 1 and closed["totales"]["monto_ejecutado_clp"] == 500
    assert closed["terminadas"]["id"].tolist() == ["E1-P1-08"] and closed["fecha_referencia"] == "2025-12-31"
    assert closed["fecha_datos"].startswith("2025-11-01T")  # 2025-11-02 00:00 UTC is still Nov 1 in Chile
    current = monitoring.account_figures(2026, today=dt.date(2026, 6, 30))
    assert current["totales"]["terminada"] == 2 and current["totales"]["monto_ejecutado_clp"] == 1250
    assert current["terminadas"]["id"].tolist() == ["E1-P1-03"]
