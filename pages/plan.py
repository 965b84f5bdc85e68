"""The plan as a tree: strategies with their objectives, plans, programmes and their rows, with counts."""

from __future__ import annotations

import textwrap

import altair as alt
import pandas as pd
import streamlit as st

from layers import census, links, monitoring, planview
from layers._errors import SitError
from layers.monitoring import progress
from layers.text import format_number
from pages import _shared as shared
from views.escape import markdown_code

shared.run_inside_app()

SITED = ":material/location_on: con lugar en el mapa"
#: Widest line of a bar label, in pixels: the bars keep most of a 390 px phone screen.
LABEL_LIMIT = 150
#: Characters per line of a bar label: names are wrapped at spaces, never cut, so that
#: «Oriente del centro · zona censal 3-2» and «… 3-3» stay apart at 390 px.
LABEL_CHARS = 26
#: Height of one line of a bar label, in pixels.
LABEL_LINE_PX = 12
#: Vega expression that draws a label on the lines :func:`_wrapped` gave it.
LABEL_LINES = "split(datum.label, '\\n')"
#: Charts drawn as SVG: their text is real text (readable by screen readers and by the tests).
SVG = {"embedOptions": {"renderer": "svg"}}


def _wrapped(text: str, width: int = LABEL_CHARS) -> str:
    """``text`` on lines of at most ``width`` characters, cut at spaces only, joined by ``\\n``.

    A ``·`` never starts a line: it stays with the word before it.
    """
    glued = str(text).replace(" ·", "\u00a0·")  # textwrap never breaks at a no-break space
    lines = textwrap.wrap(glued, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines).replace("\u00a0", " ") or str(text)


def _name_width(names) -> int:
    """Width in pixels of a table column that shows every name of ``names`` whole (14 px text, 200 to 360 px)."""
    return max(200, min(360, 8 * max((len(str(n)) for n in names), default=0) + 16))


def _label_axis(labels, label_limit: int = LABEL_LIMIT) -> tuple[alt.Axis, int]:
    """A y axis that draws wrapped labels whole (lines up to ``label_limit`` px), and the row height in px they need."""
    lines = max((str(t).count("\n") + 1 for t in labels), default=1)
    axis = alt.Axis(labelLimit=label_limit, labelExpr=LABEL_LINES, labelLineHeight=LABEL_LINE_PX)
    return axis, lines * LABEL_LINE_PX + 6


def _count(n: int, sited: int) -> str:
    word = "iniciativa" if n == 1 else "iniciativas"
    return f"{n} {word}, {sited} con lugar en el mapa"


def _item_line(item: dict, indent: str = "") -> list[str]:
    esc = shared.md_escape
    text = f"{indent}- {markdown_code(item['id'])} {esc(item['tipo'])} · {esc(item['nombre'])}"
    if item["ubicada"]:
        text += f" · {SITED}"
    if item["hijos"]:
        text += f" — *{_count(item['n'], item['ubicadas'])}*"
    lines = [text]
    for child in item["hijos"]:
        lines.extend(_item_line(child, indent + "    "))
    return lines


@st.cache_data(show_spinner=False, max_entries=4)
def _progress(version: int) -> tuple:
    """Progress per strategy and per plan, and the delayed count, from the monitoring record (cached)."""
    joined = monitoring.joined()
    return (progress.progress(joined, "estrategia"), progress.progress(joined, "plan"),
            int(progress.delayed(joined).sum()), int((progress.traffic_light(joined) == "amarillo").sum()))


def _percent(value: float) -> str:
    return "—" if value != value else f"{format_number(value, 1)} %"


def _progress_text(row) -> str:
    """``avance 12,3 % por conteo (18,0 % ponderado por monto)``: the amount-weighted figure only where it differs."""
    text = f"avance {_percent(row['avance_conteo'])} por conteo"
    return text + (f" ({_percent(row['avance_monto'])} ponderado por monto)" if row["difieren"] else "")


def _stacked_bars(data, *, y: str, y_title: str, color: str, color_title: str, domain: list[str],
                  colors: list[str], step: int, label_limit: int, order: str | None = None) -> alt.Chart:
    """Horizontal stacked bars of ``n`` per ``y``, split by ``color`` (rows keep the data's order).

    The bars are labelled with ``y`` wrapped on lines (:func:`_wrapped`); the tooltip
    and the spoken description keep it on one line.
    """
    data = data.assign(etiqueta=[_wrapped(v) for v in data[y]])
    axis, needed = _label_axis(data["etiqueta"], label_limit)
    step = max(step, needed)
    encoding = {
        "x": alt.X("n:Q", title="Iniciativas", stack="zero"),
        "y": alt.Y("etiqueta:N", title=None, sort=list(dict.fromkeys(data["etiqueta"])), axis=axis),
        # The legend goes under the bars, so the bars keep the width of a phone screen.
        "color": alt.Color(f"{color}:N", title=color_title, scale=alt.Scale(domain=domain, range=colors), sort=domain,
                           legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)),
        "tooltip": [alt.Tooltip(f"{y}:N", title=y_title), alt.Tooltip(f"{color}:N", title=color_title),
                 alt.Tooltip("n:Q", title="Iniciativas")],
    }
    if order:
        encoding["order"] = alt.Order(f"{order}:Q")
    # What a screen reader says of each bar: its words, not the table's field names.
    encoding["description"] = alt.Description("descripcion:N")
    spoken = f"datum['{y}'] + ': ' + datum.n + ' iniciativas, ' + datum['{color}']"
    return (alt.Chart(data).transform_calculate(descripcion=spoken).mark_bar().encode(**encoding)
            .properties(height=alt.Step(step), description=f"Iniciativas por {y_title.lower()}", usermeta=SVG))


st.title("Plan de desarrollo comunal", anchor=False)
st.caption(
    "Las estrategias del PLADECO de Vallenar con sus objetivos específicos, planes y las iniciativas de cada plan. "
    "Los programas encabezados agrupan las filas que dependen de ellos. "
    "Una iniciativa tiene lugar en el mapa cuando el plan nombra dónde se hace y el sistema le dibujó una "
    "geometría referencial; las demás valen para toda la comuna, la ciudad, el campo o territorios con nombre."
)

strategies = shared.layer("estrategias")
objectives = shared.layer("objetivos")
plans = shared.layer("planes")
initiatives = shared.layer("iniciativas")
names = shared.strategy_names()
tree = planview.plan_tree(strategies, objectives, plans, initiatives)
by_strategy, by_plan, delayed, due_soon = _progress(shared.store_version())
plan_progress = by_plan.set_index("clave")

c1, c2, c3, c4 = st.columns(4)
c1.metric("Estrategias", len(tree))
c2.metric("Planes", sum(len(s["planes"]) for s in tree))
c3.metric("Iniciativas", len(initiatives))
c4.metric("Con lugar en el mapa", sum(s["ubicadas"] for s in tree))

st.subheader("Estrategias, planes e iniciativas", anchor=False)
for strategy in tree:
    label = f"{strategy['numero']}. {shared.md_escape(strategy['nombre'])} — {_count(strategy['n'], strategy['ubicadas'])}"
    with st.expander(label):
        if strategy["objetivos"]:
            st.markdown("**Objetivos específicos**")
            st.markdown("\n".join(f"{i}. {shared.md_escape(o)}" for i, o in enumerate(strategy["objetivos"], start=1)))
        for plan in strategy["planes"]:
            st.markdown(
                f"**{shared.md_escape(plan['id'])} · {shared.md_escape(plan['nombre'])}** — "
                f"*{_count(plan['n'], plan['ubicadas'])}*"
                + (f" · *{_progress_text(plan_progress.loc[plan['id']])}*" if plan["id"] in plan_progress.index else "")
            )
            lines = [line for item in plan["items"] for line in _item_line(item)]
            st.markdown("\n".join(lines) if lines else "*Sin iniciativas.*")


st.subheader("Iniciativas por estrategia", anchor=False)
st.altair_chart(
    _stacked_bars(
        planview.per_strategy(initiatives, names), y="estrategia", y_title="Estrategia",
        color="ubicacion", color_title="Ubicación", domain=["Ubicada en el mapa", "Sin ubicación"],
        colors=["#0072B2", "#BDB3DC"], step=28, label_limit=LABEL_LIMIT,
    ),
    width="stretch",
)

st.subheader("Avance por estrategia", anchor=False)
st.caption(
    "Según el registro de seguimiento del plan. **Por conteo**: promedio simple del avance físico de las "
    "iniciativas (sin avance registrado cuenta 0 %, o 100 % si está terminada). **Ponderado por monto**: "
    "promedio pesado por el monto aprobado (o el estimado) de las iniciativas que tienen monto. Las descartadas "
    "no cuentan. Se muestran ambas; «Difieren» marca las estrategias donde se separan en "
    f"{format_number(progress.DIFFERENCE_PP)} punto o más."
)
st.dataframe(
    {
        "Estrategia": [f"{k} · {n}" for k, n in zip(by_strategy["clave"], by_strategy["nombre"])],
        "Iniciativas": by_strategy["n"],
        "Avance por conteo (%)": by_strategy["avance_conteo"].round(1),
        "Avance ponderado por monto (%)": by_strategy["avance_monto"].round(1),
        "Con monto": by_strategy["n_con_monto"].astype(str) + " de " + by_strategy["n_activas"].astype(str),
        "Difieren": by_strategy["difieren"].map({True: "sí", False: ""}),
        "Atrasadas": by_strategy["atrasadas"],
    },
    hide_index=True, width="stretch",
    column_config={
        "Avance por conteo (%)": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.1f %%"),
        "Avance ponderado por monto (%)": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.1f %%"),
    },
)
lights = st.container(horizontal=True, gap="large")
lights.metric("Atrasadas (semáforo rojo)", delayed, help=progress.SEMAFORO["rojo"], width="content")
lights.metric("Por vencer (semáforo amarillo)", due_soon, help=progress.SEMAFORO["amarillo"], width="content")
st.page_link("pages/seguimiento.py", label="Ver el detalle en Seguimiento: por plan y programa, semáforo de las "
             "atrasadas y la ficha de cada iniciativa", icon=":material/monitoring:")

st.subheader("Iniciativas por territorio", anchor=False)
st.caption(
    "Cuántas iniciativas conciernen a cada territorio, según cómo lo hacen: ubicadas en él, vinculadas por "
    "nombre, programas para todos los sectores urbanos o territorios rurales, y de alcance comunal."
)
territories = shared.layer(shared.DEFAULT_TERRITORY_LAYER)
by_territory = planview.per_territory(shared.relations(shared.DEFAULT_TERRITORY_LAYER), territories)
relation_order = list(links.RELACIONES.values())
st.altair_chart(
    _stacked_bars(
        by_territory, y="territorio", y_title="Territorio", color="relacion", color_title="Relación",
        domain=relation_order, colors=["#D55E00", "#E69F00", "#56B4E9", "#009E73", "#BDB3DC"],
        step=20, label_limit=LABEL_LIMIT, order="orden_relacion",
    ),
    width="stretch",
)


@st.cache_data(show_spinner=False, max_entries=4)
def _amounts(version: int) -> pd.Series:
    """Amount of each initiative in pesos: the approved one, else the estimate (monitoring)."""
    values = monitoring.matrix()
    approved = pd.to_numeric(values.get("monto_aprobado_clp"), errors="coerce")
    estimated = pd.to_numeric(values.get("monto_estimado_clp"), errors="coerce")
    return approved.fillna(estimated).dropna()


st.subheader("Equidad entre las zonas urbanas", anchor=False)
summary = census.population_summary(census.load_population())
st.caption(
    "Las zonas censales de la ciudad (INE, Censo 2017): su población, las iniciativas propias de cada una "
    "(ubicadas en ella o vinculadas a ella por nombre) y cuántas son por cada 1.000 habitantes. Las iniciativas "
    "para toda la comuna o toda la ciudad valen igual para todas y no se cuentan aquí. "
    f"Población de las zonas urbanas: {format_number(summary['urbana'])} personas; de la comuna según la tabla "
    f"del censo: {format_number(summary['total_tabla'])} (el INE publica unas {format_number(summary['total_ine_publicado'])}); "
    f"población rural del censo: {format_number(summary['comuna_menos_urbana'])}, que el censo no reparte por "
    "localidad del proyecto."
)
try:
    amounts = _amounts(shared.store_version())
except SitError:
    amounts = None
equity = census.zone_equity(territories, shared.relations(shared.DEFAULT_TERRITORY_LAYER), amounts=amounts)
if equity.empty:
    st.info("La capa de territorios no trae población censal.")
else:
    has_amounts = bool(equity["inversion_ubicada_clp"].notna().any())
    shown = equity.sort_values(["por_mil", "poblacion"], ascending=[False, False])
    columns = ["nombre", "geocodigo", "poblacion", "ubicadas", "vinculadas", "especificas", "por_mil"]
    st.dataframe(
        shown[columns + (["inversion_ubicada_clp"] if has_amounts else [])],
        hide_index=True,
        width="stretch",
        column_config={
            "nombre": st.column_config.TextColumn("Zona", width=_name_width(shown["nombre"])),
            "geocodigo": st.column_config.TextColumn("Código INE", width="small"),
            "poblacion": st.column_config.NumberColumn("Población (2017)", format="localized"),
            "ubicadas": st.column_config.NumberColumn("Con lugar", help="Iniciativas con un lugar en el mapa dentro de la zona."),
            "vinculadas": st.column_config.NumberColumn("La nombran", help="Iniciativas sin lugar en el mapa que el plan asocia por nombre a la zona."),
            "especificas": st.column_config.NumberColumn("Propias", help="Con lugar más las que la nombran: las que no son de toda la ciudad o la comuna."),
            "por_mil": st.column_config.NumberColumn("Por 1.000 hab.", format="%.2f"),
            "inversion_ubicada_clp": st.column_config.NumberColumn("Inversión ubicada (CLP)", format="localized"),
        },
    )
    if not has_amounts:
        st.caption("La inversión ubicada en cada zona aparecerá cuando el seguimiento registre montos.")
    spoken = "datum.nombre + ': ' + format(datum.por_mil, '.2f') + ' iniciativas propias por 1.000 habitantes'"
    bars = shown.assign(etiqueta=[_wrapped(v) for v in shown["nombre"]])
    axis, row_px = _label_axis(bars["etiqueta"])
    chart = alt.Chart(bars).transform_calculate(descripcion=spoken).mark_bar(color="#4C3D88").encode(
        x=alt.X("por_mil:Q", title=["Iniciativas propias", "por 1.000 habitantes"]),
        y=alt.Y("etiqueta:N", title=None, sort=list(bars["etiqueta"]), axis=axis),
        tooltip=[
            alt.Tooltip("nombre:N", title="Zona"), alt.Tooltip("poblacion:Q", title="Población (2017)", format=",d"),
            alt.Tooltip("especificas:Q", title="Iniciativas propias"),
            alt.Tooltip("por_mil:Q", title="Por 1.000 hab.", format=".2f"),
        ],
        description=alt.Description("descripcion:N"),
    ).properties(height=alt.Step(max(20, row_px)), description="Iniciativas propias por 1.000 habitantes en cada zona urbana",
                 usermeta=SVG)
    st.altair_chart(chart, width="stretch")
