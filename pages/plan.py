"""The plan as a tree: strategies with their objectives, plans, programmes and their rows, with counts."""

from __future__ import annotations

import altair as alt
import streamlit as st

from layers import links, planview
from pages import _shared as shared

shared.ensure_app_navigation()

SITED = ":material/location_on: ubicada en el mapa"


def _count(n: int, sited: int) -> str:
    word = "iniciativa" if n == 1 else "iniciativas"
    return f"{n} {word}, {sited} {'ubicada' if sited == 1 else 'ubicadas'}"


def _item_line(item: dict, indent: str = "") -> list[str]:
    esc = shared.md_escape
    text = f"{indent}- `{item['id']}` {esc(item['tipo'])} · {esc(item['nombre'])}"
    if item["ubicada"]:
        text += f" · {SITED}"
    if item["hijos"]:
        text += f" — *{_count(item['n'], item['ubicadas'])}*"
    lines = [text]
    for child in item["hijos"]:
        lines.extend(_item_line(child, indent + "    "))
    return lines


st.title("Plan de desarrollo comunal")
st.caption(
    "Las estrategias del PLADECO de Vallenar con sus objetivos específicos, planes y las iniciativas de cada plan. "
    "Los programas encabezados agrupan las filas que dependen de ellos. "
    "Una iniciativa está «ubicada» cuando tiene una geometría referencial en el mapa."
)

strategies = shared.layer("estrategias")
objectives = shared.layer("objetivos")
plans = shared.layer("planes")
initiatives = shared.layer("iniciativas")
names = shared.strategy_names()
tree = planview.plan_tree(strategies, objectives, plans, initiatives)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Estrategias", len(tree))
c2.metric("Planes", sum(len(s["planes"]) for s in tree))
c3.metric("Iniciativas", len(initiatives))
c4.metric("Ubicadas en el mapa", sum(s["ubicadas"] for s in tree))

st.subheader("Estrategias, planes e iniciativas")
for strategy in tree:
    label = f"{strategy['numero']}. {strategy['nombre']} — {_count(strategy['n'], strategy['ubicadas'])}"
    with st.expander(label):
        if strategy["objetivos"]:
            st.markdown("**Objetivos específicos**")
            st.markdown("\n".join(f"{i}. {shared.md_escape(o)}" for i, o in enumerate(strategy["objetivos"], start=1)))
        for plan in strategy["planes"]:
            st.markdown(
                f"**{plan['id']} · {shared.md_escape(plan['nombre'])}** — *{_count(plan['n'], plan['ubicadas'])}*"
            )
            lines = [line for item in plan["items"] for line in _item_line(item)]
            st.markdown("\n".join(lines) if lines else "*Sin iniciativas.*")

st.subheader("Iniciativas por estrategia")
by_strategy = planview.per_strategy(initiatives, names)
chart = (
    alt.Chart(by_strategy)
    .mark_bar()
    .encode(
        x=alt.X("n:Q", title="Iniciativas", stack="zero"),
        y=alt.Y("estrategia:N", title=None, sort=list(dict.fromkeys(by_strategy["estrategia"])),
                axis=alt.Axis(labelLimit=420)),
        color=alt.Color(
            "ubicacion:N", title="Ubicación",
            scale=alt.Scale(domain=["Ubicada en el mapa", "Sin ubicación"], range=["#0072B2", "#BDB3DC"]),
        ),
        tooltip=[alt.Tooltip("estrategia:N", title="Estrategia"), alt.Tooltip("ubicacion:N", title="Ubicación"),
                 alt.Tooltip("n:Q", title="Iniciativas")],
    )
    .properties(height=alt.Step(28))
)
st.altair_chart(chart, width="stretch")

st.subheader("Iniciativas por territorio")
st.caption(
    "Cuántas iniciativas conciernen a cada territorio, según cómo lo hacen: ubicadas en él, vinculadas por "
    "nombre, programas para todos los sectores urbanos o territorios rurales, y de alcance comunal."
)
territories = shared.layer(shared.DEFAULT_TERRITORY_LAYER)
by_territory = planview.per_territory(shared.relations(shared.DEFAULT_TERRITORY_LAYER), territories)
relation_order = list(links.RELACIONES.values())
chart = (
    alt.Chart(by_territory)
    .mark_bar()
    .encode(
        x=alt.X("n:Q", title="Iniciativas", stack="zero"),
        y=alt.Y("territorio:N", title=None, sort=list(dict.fromkeys(by_territory["territorio"])),
                axis=alt.Axis(labelLimit=300)),
        color=alt.Color(
            "relacion:N", title="Relación",
            scale=alt.Scale(domain=relation_order, range=["#D55E00", "#E69F00", "#56B4E9", "#009E73", "#BDB3DC"]),
            sort=relation_order,
        ),
        order=alt.Order("orden_relacion:Q"),
        tooltip=[alt.Tooltip("territorio:N", title="Territorio"), alt.Tooltip("relacion:N", title="Relación"),
                 alt.Tooltip("n:Q", title="Iniciativas")],
    )
    .properties(height=alt.Step(20))
)
st.altair_chart(chart, width="stretch")
