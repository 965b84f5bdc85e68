"""Monitoring page (``/seguimiento``): progress of the plan, delays, one initiative's record and timeline, downloads.

Reads the monitoring record of the store (:mod:`layers.monitoring`); editing in
the app comes with accounts. ``?iniciativa=ID`` opens one initiative's record.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from layers import monitoring, store
from layers.monitoring import fields as F
from layers.monitoring import history, progress, report, sheet
from layers.text import format_number
from pages import _shared as shared
from views import public_account

shared.run_inside_app()

PICKER = "seguimiento_iniciativa"
LEVEL = "seguimiento_nivel"
YEAR = "seguimiento_anio"
LEVEL_LABELS = {"Estrategia": "estrategia", "Plan": "plan", "Programa": "programa"}
LIGHT_LABELS = {"rojo": "Rojo", "amarillo": "Amarillo", "verde": "Verde", "gris": "Gris"}
LIGHT_COLORS = {"rojo": "#f4c7c3", "amarillo": "#fce8b2", "verde": "#c8e6c9", "gris": "#e0e0e0"}


@st.cache_data(show_spinner=False, max_entries=4)
def _joined(version: int) -> pd.DataFrame:
    return monitoring.joined()


@st.cache_data(show_spinner=False, max_entries=4)
def _history(version: int) -> pd.DataFrame:
    return history.history()


@st.cache_data(show_spinner="Preparando el informe…", max_entries=8)
def _report_files(year: int, version: int, day: str) -> tuple[str, bytes]:
    figures = monitoring.account_figures(year)
    return public_account.render(figures), report.tables_csv(figures)


@st.cache_data(show_spinner="Preparando la planilla…", max_entries=4)
def _matrix_file(fmt: str, version: int) -> bytes:
    inits = monitoring.initiatives()
    return sheet.sheet_bytes(sheet.matrix_frame(history.current_values(inits["id"]), inits), fmt)


def _show(name: str, value: object) -> str:
    """A field value for people: Chilean numbers, units, a dash when empty."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return "—"
    kind = F.field(name).kind
    if kind == "percent":
        return f"{format_number(float(value), 1)} %"
    if kind == "amount":
        return f"$ {format_number(float(value))}"
    return str(value)


def _progress_table(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "Clave": table["clave"], "Nombre": table["nombre"], "Iniciativas": table["n"],
        "Avance por conteo (%)": table["avance_conteo"].round(1),
        "Avance ponderado por monto (%)": table["avance_monto"].round(1),
        "Con monto": table["n_con_monto"].astype(str) + " de " + table["n_activas"].astype(str),
        "Difieren": table["difieren"].map({True: "sí", False: ""}),
        "Atrasadas": table["atrasadas"],
    })
    for estado in F.ESTADOS:
        out[estado.capitalize()] = table[estado]
    return out


def _progress_chart(table: pd.DataFrame) -> alt.Chart:
    rows = []
    for row in table.itertuples(index=False):
        label = f"{row.clave} · {row.nombre}"
        rows.append({"grupo": label, "medida": "Por conteo", "avance": row.avance_conteo})
        if row.difieren:
            rows.append({"grupo": label, "medida": "Ponderado por monto", "avance": row.avance_monto})
    data = pd.DataFrame(rows)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("avance:Q", title="Avance (%)", scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("grupo:N", title=None, sort=list(dict.fromkeys(data["grupo"])), axis=alt.Axis(labelLimit=380)),
        yOffset="medida:N",
        color=alt.Color("medida:N", title="Medida", scale=alt.Scale(domain=["Por conteo", "Ponderado por monto"],
                                                                     range=["#2e7d5b", "#b35c00"])),
        tooltip=[alt.Tooltip("grupo:N", title="Grupo"), alt.Tooltip("medida:N", title="Medida"),
                 alt.Tooltip("avance:Q", title="Avance (%)", format=".1f")],
    )


def _progress_section(joined: pd.DataFrame) -> None:
    st.caption(
        "**Por conteo**: promedio simple del avance físico de las iniciativas (sin avance registrado cuenta 0 %, o "
        "100 % si está terminada). **Ponderado por monto**: promedio pesado por el monto aprobado (o el estimado) de "
        "las iniciativas que tienen monto. Las descartadas no cuentan. El gráfico muestra ambas medidas donde "
        f"difieren en {format_number(progress.DIFFERENCE_PP)} punto o más. Un programa agrupa su fila y las que encabeza."
    )
    label = st.radio("Agrupar por", list(LEVEL_LABELS), horizontal=True, key=LEVEL)
    table = progress.progress(joined, LEVEL_LABELS[label])
    st.altair_chart(_progress_chart(table).properties(height=alt.Step(14)), width="stretch")
    st.dataframe(
        _progress_table(table), hide_index=True, width="stretch",
        column_config={
            "Avance por conteo (%)": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.1f %%"),
            "Avance ponderado por monto (%)": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.1f %%"),
        },
    )


def _delay_section(joined: pd.DataFrame) -> None:
    lights = progress.traffic_light(joined)
    counts = lights.value_counts()
    cols = st.columns(4)
    for col, (key, meaning) in zip(cols, progress.SEMAFORO.items()):
        col.metric(LIGHT_LABELS[key], int(counts.get(key, 0)), help=meaning)
    order = {"rojo": 0, "amarillo": 1, "verde": 2, "gris": 3}
    table = joined.assign(semaforo=lights, _o=lights.map(order))
    table = table[table["semaforo"].isin(["rojo", "amarillo"])].sort_values(["_o", "fecha_termino_plan"])
    if table.empty:
        st.info("Ninguna iniciativa está atrasada ni vence en los próximos "
                f"{progress.WARNING_DAYS} días.")
        return
    shown = pd.DataFrame({
        "Semáforo": table["semaforo"].map(LIGHT_LABELS), "Id": table["id"], "Iniciativa": table["nombre"],
        "Estado": table["estado"], "Término planificado": table["fecha_termino_plan"],
        "Avance físico": [_show("avance_fisico", v) for v in table["avance_fisico"]],
        "Unidad responsable": table["unidad_responsable"].fillna(""),
    })
    colors = dict(zip(LIGHT_LABELS.values(), LIGHT_COLORS.values()))
    styled = shown.style.map(lambda v: f"background-color: {colors.get(v, '')}", subset=["Semáforo"])
    st.dataframe(styled, hide_index=True, width="stretch")


def _pick_initiative(joined: pd.DataFrame) -> str:
    ids = joined["id"].tolist()
    labels = dict(zip(joined["id"], joined["nombre"]))
    wanted = st.query_params.get("iniciativa")
    if PICKER not in st.session_state and wanted in labels:
        st.session_state[PICKER] = wanted
    ident = st.selectbox("Iniciativa", ids, key=PICKER, format_func=lambda i: f"{i} · {labels[i]}")
    st.query_params["iniciativa"] = ident
    return ident


def _timeline(entries: pd.DataFrame) -> None:
    if entries.empty:
        st.markdown("*Sin cambios registrados: la iniciativa está en su estado de partida.*")
        return
    esc = shared.md_escape
    groups = entries.groupby(["lote", "fecha_hora", "autor", "motivo"], sort=False)
    for (_, when, autor, motivo), part in reversed(list(groups)):
        stamp = when.replace("T", " ")[:16]
        header = f"**{esc(stamp)}** · {esc(autor)}" + (f" — {esc(motivo)}" if motivo else "")
        lines = [
            f"- {esc(F.field(r.campo).label if r.campo in F.FIELD_NAMES else r.campo)}: "
            f"{esc(_show(r.campo, r.valor_anterior))} → {esc(_show(r.campo, r.valor_nuevo))}"
            for r in part.itertuples(index=False)
        ]
        with st.container(border=True):
            st.markdown(header + "\n\n" + "\n".join(lines))


def _initiative_section(joined: pd.DataFrame, all_history: pd.DataFrame) -> None:
    ident = _pick_initiative(joined)
    row = joined.set_index("id").loc[ident]
    esc = shared.md_escape
    st.markdown(f"**{esc(row['nombre'])}** · {esc(row['tipo'])} · plan {esc(row['plan'])} ({esc(row['plan_nombre'])})")
    light = progress.traffic_light(joined.set_index("id").loc[[ident]].reset_index()).iloc[0]
    st.caption(f"Semáforo: {LIGHT_LABELS[light]} — {progress.SEMAFORO[light]}")
    left, right = st.columns(2)
    editable = list(F.EDITABLE)
    half = (len(editable) + 1) // 2
    for column, names in ((left, editable[:half]), (right, editable[half:])):
        column.markdown("\n".join(f"- **{F.field(n).label}**: {esc(_show(n, row[n]))}" for n in names))
    if row["actualizado_el"]:
        st.caption(f"Última actualización: {row['actualizado_el']} por {row['actualizado_por']}")
    st.markdown("##### Historial")
    _timeline(all_history[all_history["id"] == ident])


def _downloads(version: int) -> None:
    this_year = dt.date.today().year
    shared.init_widget(YEAR, this_year)
    year = int(st.number_input("Año de la cuenta pública", min_value=2000, max_value=this_year + 1, step=1, key=YEAR))
    html, table = _report_files(year, version, dt.date.today().isoformat())
    c1, c2 = st.columns(2)
    c1.download_button("Informe de cuenta pública (HTML imprimible)", html.encode("utf-8"),
                       file_name=f"cuenta_publica_{year}.html", mime="text/html", key="seg_html")
    c2.download_button("Tablas del informe (CSV)", table, file_name=f"cuenta_publica_{year}.csv", mime="text/csv",
                       key="seg_csv")
    st.caption("Matriz de seguimiento completa, para editarla en una planilla y cargarla con "
               "`cli.py seguimiento importar` (ver docs/seguimiento.md).")
    c3, c4 = st.columns(2)
    c3.download_button("Matriz (CSV)", _matrix_file("csv", version), file_name="seguimiento.csv",
                       mime="text/csv", key="seg_matriz_csv")
    c4.download_button("Matriz (Excel .xlsx)", _matrix_file("xlsx", version), file_name="seguimiento.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="seg_matriz_xlsx")


shared.store_version()
version = store.version()
joined = _joined(version)
all_history = _history(version)

st.title("Seguimiento del plan", anchor=False)
stamps = [v for v in joined["actualizado_el"] if isinstance(v, str) and v]
st.caption(
    f"Estado, avance y financiamiento de las {len(joined)} iniciativas del PLADECO, según el registro de la "
    "municipalidad. " + (f"Último cambio: {max(stamps)}." if stamps else "Aún no hay cambios registrados: "
                         "todas las iniciativas están en su estado de partida («sin iniciar»).")
)
late = progress.delayed(joined)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Sin iniciar", int((joined["estado"] == F.ESTADO_INICIAL).sum()))
m2.metric("En ejecución", int((joined["estado"] == "en ejecución").sum()))
m3.metric("Terminadas", int((joined["estado"] == F.DONE).sum()))
m4.metric("Atrasadas", int(late.sum()))

tab_progress, tab_delays, tab_one, tab_files = st.tabs(["Avance", "Atrasos", "Iniciativa", "Descargas"])
with tab_progress:
    _progress_section(joined)
with tab_delays:
    _delay_section(joined)
with tab_one:
    _initiative_section(joined, all_history)
with tab_files:
    _downloads(version)
