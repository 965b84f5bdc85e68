"""First page: what the PLADECO is, what the map shows, where the data comes from, whom to ask.

A visitor who opens the application without explanation reads here, in plain words,
what they are looking at, then goes to their sector, the map or the plan. The period
of the plan and the contact text come from ``data/presentacion.toml`` (editable by the
municipality, :func:`pages._shared.presentation`); the sources are named in plain words with
their dates (the plan's period, the 2017 census, the 2023 boundary), never file paths; the
figures, precisions and the date of the last update come from the store.
"""

from __future__ import annotations

import streamlit as st

from layers import sector
from layers.text import format_number
from pages import _shared as shared

shared.run_inside_app()

#: Query parameters of the map: an old shared root link (``/?territorio=domeyko``) opens the map.
MAP_PARAMETERS = (*shared.FILTER_KEYS, "capa", "ubicaciones", "color")
if any(key in st.query_params for key in MAP_PARAMETERS):
    st.switch_page("pages/mapa.py", query_params=st.query_params.to_dict())

text = shared.presentation()
registry = shared.registry()
strategies = shared.layer("estrategias")
plans = shared.layer("planes")
initiatives = shared.initiatives()
territories = shared.layer(shared.DEFAULT_TERRITORY_LAYER)
esc = shared.md_escape


def _row(name: str):
    rows = registry[registry["nombre"] == name]
    return rows.iloc[0] if len(rows) else None


def _date(value: object) -> str:
    value = str(value or "")[:10]
    if len(value) == 10 and value[4] == "-":
        return f"{value[8:10]}-{value[5:7]}-{value[:4]}"
    return value or "sin fecha"


st.title("El plan de desarrollo de Vallenar, en el mapa", anchor=False)

period = text.get("periodo", "").strip()
n_sited = int(initiatives.geometry.notna().sum() - initiatives.geometry.is_empty.sum())
st.markdown(
    "El **PLADECO** (Plan de Desarrollo Comunal) es el plan con que la Municipalidad de Vallenar y la "
    "comunidad acuerdan qué hacer en la comuna durante varios años: "
    f"**{len(strategies)} estrategias**, **{len(plans)} planes** y **{len(initiatives)} iniciativas** "
    "(programas, proyectos, estudios y planes). "
    + (f"Período del plan: **{esc(period)}**." if period else
       "El texto del plan que trae el sistema no dice sus años de vigencia; la municipalidad puede escribirlos "
       "en la portada del sistema.")
)

st.subheader("Vea lo que el plan dice de su sector", anchor=False)
order = sector.territory_order(territories)
names = dict(zip(territories["slug"], territories["nombre"]))
choice = st.selectbox(
    "Su sector urbano o localidad rural", order, index=None, key="inicio_territorio",
    format_func=lambda s: shared.searchable_name(names.get(s, s)), placeholder="Escriba o elija un nombre",
    filter_mode="contains",
)
if choice:
    st.switch_page("pages/sector.py", query_params={"territorio": choice})
cols = st.columns(3)
cols[0].page_link("pages/sector.py", label="Mi sector", icon=":material/home_pin:")
cols[1].page_link("pages/mapa.py", label="Mapa del plan", icon=":material/map:")
cols[2].page_link("pages/plan.py", label="El plan completo", icon=":material/list:")

st.subheader("Qué muestra el mapa", anchor=False)
n_urban = int((territories["tipo"].astype(str).str.contains("urbano")).sum())
st.markdown(
    f"La comuna dividida en **{len(territories)} territorios**: {n_urban} sectores de la ciudad (las zonas del "
    "Censo 2017), las localidades rurales y el resto rural. Cada territorio se colorea según cuántas iniciativas "
    "propias tiene: las que tienen lugar en él o que el plan le asigna por nombre. Las manzanas del censo "
    "dibujan las calles bajo el mapa. "
    f"**{n_sited} iniciativas** tienen un lugar conocido y se dibujan como puntos, líneas o áreas; las demás "
    "valen para toda la comuna, para toda la ciudad, para todo el campo o para territorios que el plan nombra, "
    "y se cuentan en esos territorios sin inventarles un lugar."
)

st.subheader("De dónde vienen los datos y cuánto se puede confiar en ellos", anchor=False)


def _precision(name: str) -> str:
    """`` Precisión: entre ±5 y ±500 m, según el elemento.`` from the layer's registry row, or nothing."""
    row = _row(name)
    span = str(row.get("precision_m") or "").replace("–", "-").split("-") if row is not None else [""]
    if span[0] in ("", "nan", "None"):
        return ""
    span = [format_number(int(v)) if v.strip().isdigit() else v.strip() for v in span]
    text = f"±{span[0]} m" if len(span) == 1 else f"entre ±{span[0]} y ±{span[-1]} m"
    return f" Precisión: {esc(text)}, según el elemento."


plan_date = f"vigente en {esc(period)}" if period else "su texto no indica la fecha en que se aprobó"
st.markdown("\n".join([
    f"- **El plan**: el texto del PLADECO de Vallenar ({plan_date}), con sus estrategias, planes e iniciativas. "
    "Dónde se hace cada iniciativa y a qué sectores o localidades concierne lo anotó este proyecto leyendo el plan."
    + _precision("iniciativas"),
    "- **Los sectores de la ciudad**: las zonas del Censo de Población y Vivienda **2017** del INE, con la "
    "población que el censo contó ese año. **Las localidades rurales** las dibujó este proyecto."
    + _precision(shared.DEFAULT_TERRITORY_LAYER),
    "- **El límite de la comuna**: el oficial de la División Político-Administrativa de Chile (IDE Chile, **2023**).",
]))
loaded = _row("iniciativas")
st.caption(
    "Las zonas del censo se dibujan simplificadas, con bordes a unos 25 m. "
    "Las localidades rurales y los lugares de las iniciativas son **referenciales**: los "
    "dibujó este proyecto a partir del texto del plan y de fuentes públicas, no son límites oficiales. Sirven "
    "para orientarse, no para deslindar propiedades. La municipalidad puede reemplazarlos por capas oficiales. "
    "La página Capas detalla la fuente de cada capa"
    + (f"; los datos se actualizaron en este sistema el {_date(loaded['fecha'])}." if loaded is not None else ".")
)

st.subheader("Contacto", anchor=False)
st.markdown(esc(text.get("contacto", "")) or "Municipalidad de Vallenar.")
if text.get("responsable"):
    st.caption(f"Mantiene este sistema: {esc(text['responsable'])}.")
