"""Tests of layers/catalogue.py: the shipped catalogue against the plan text and fixed expectations."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest

from layers import _plan_text, catalogue, settings
from layers._errors import DataValidationError, InvalidFilterError

HAS_TEXT = settings.PLAN_TEXT_PATH.exists()
needs_text = pytest.mark.skipif(not HAS_TEXT, reason="plan text (../shared) not available")

#: Rows per plan, counted by hand on the plan text (line ranges in comments).
PLAN_COUNTS = {
    "E1-P1": 8,   # 99-106
    "E1-P2": 14,  # 112-125
    "E1-P3": 24,  # 131-154
    "E1-P4": 12,  # 160-171
    "E1-P5": 6,   # 177-182
    "E1-P6": 24,  # 188-211
    "E2-P1": 4,   # 239-242
    "E2-P2": 3,   # 248-250
    "E2-P3": 4,   # 256-259
    "E2-P4": 4,   # 265-268
    "E3-P1": 5,   # 301-305
    "E3-P2": 3,   # 311-313
    "E3-P3": 2,   # 319-320
    "E3-P4": 5,   # 326-330
    "E3-P5": 3,   # 336-338
    "E3-P6": 3,   # 344-346
    "E4-P1": 5,   # 371-375
    "E4-P2": 10,  # 383-392
    "E4-P3": 6,   # 398-403
    "E4-P4": 3,   # 409-411
    "E5-P1": 8,   # 434-441
    "E5-P2": 4,   # 447-450
    "E6-P1": 9,   # 470-478
    "E6-P2": 8,   # 484-491
    "E7-P1": 2,   # 508-509
    "E8-P1": 5,   # 532-536
    "E8-P2": 5,   # 542-546
    "E8-P3": 3,   # 552-554
    "E8-P4": 2,   # 560-561
}
PLANS_PER_STRATEGY = [6, 4, 6, 4, 2, 2, 1, 4]
OBJECTIVES_PER_STRATEGY = [8, 3, 8, 6, 4, 5, 2, 6]
STRATEGY_NAMES = [
    "Desarrollo Territorial",
    "Desarrollo Económico, Encadenamiento Productivo y Fortalecimiento del Empleo",
    "Mejoramiento de la Calidad de la Educación",
    "Promoción, Participación e Integración Social",
    "Mejoramiento de la Salud",
    "Integración Cultural y Rescate del Patrimonio Local",
    "Accesibilidad de la Comunidad a Nuevas Tecnologías",
    "Fortalecimiento de la Gestión Municipal",
]


@pytest.fixture(scope="module")
def strategies() -> pd.DataFrame:
    return catalogue.load_strategies()


@pytest.fixture(scope="module")
def objectives() -> pd.DataFrame:
    return catalogue.load_objectives()


@pytest.fixture(scope="module")
def plans() -> pd.DataFrame:
    return catalogue.load_plans()


@pytest.fixture(scope="module")
def initiatives() -> pd.DataFrame:
    return catalogue.load_initiatives()


def _row(initiatives: pd.DataFrame, plan: str, nombre: str) -> pd.Series:
    match = initiatives[(initiatives["plan"] == plan) & (initiatives["nombre"] == nombre)]
    assert len(match) == 1, (plan, nombre)
    return match.iloc[0]


# --- the shipped catalogue against the plan text -------------------------------------------

@needs_text
def test_every_row_of_the_text_once(initiatives):
    lines = settings.PLAN_TEXT_PATH.read_text(encoding="utf-8").splitlines()
    grep = re.compile(r"^(?:<b>)?(Programa|Proyecto|Estudio|Plan)(?:</b>)?\t(?:<b>)?(.*?)(?:</b>)?$")
    found = {n: grep.match(line).groups() for n, line in enumerate(lines, 1) if grep.match(line)}
    assert len(found) == 194
    assert Counter(found.values()) == Counter(zip(initiatives["tipo"], initiatives["nombre_original"]))
    assert sorted(found) == sorted(initiatives["linea"])
    assert initiatives["linea"].is_unique
    for row in initiatives.itertuples():
        assert found[row.linea] == (row.tipo, row.nombre_original)
        assert ("<b>" in lines[row.linea - 1]) == row.encabezado


@needs_text
def test_csvs_equal_a_fresh_generation(tmp_path):
    script = settings.PROJECT_DIR / "scripts" / "build_catalogue.py"
    done = subprocess.run(
        [sys.executable, str(script), str(settings.PLAN_TEXT_PATH), "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    shipped = catalogue.catalogue_dir()
    for name in ("estrategias.csv", "objetivos.csv", "planes.csv", "iniciativas.csv", "FUENTE.md"):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name


@needs_text
def test_loaded_tables_equal_the_parser(strategies, objectives, plans, initiatives):
    parsed = _plan_text.parse_plan_text(settings.PLAN_TEXT_PATH.read_text(encoding="utf-8"))
    for key, table in (("estrategias", strategies), ("objetivos", objectives),
                       ("planes", plans), ("iniciativas", initiatives)):
        expected = [{c: r[c] for c in table.columns} for r in parsed[key]]
        assert table.to_dict("records") == expected, key


# --- fixed expectations, independent of the parser ---------------------------------------

def test_counts(strategies, objectives, plans, initiatives):
    assert list(strategies["id"]) == [f"E{n}" for n in range(1, 9)]
    assert list(strategies["numero"]) == list(range(1, 9))
    assert len(plans) == 29
    assert [int((plans["estrategia"] == f"E{n}").sum()) for n in range(1, 9)] == PLANS_PER_STRATEGY
    assert [int((objectives["estrategia"] == f"E{n}").sum()) for n in range(1, 9)] == OBJECTIVES_PER_STRATEGY
    assert len(initiatives) == 194
    assert list(plans["id"]) == list(PLAN_COUNTS)
    assert initiatives.groupby("plan", sort=False).size().to_dict() == PLAN_COUNTS
    assert int(initiatives["encabezado"].sum()) == 19
    assert int(initiatives["padre"].notna().sum()) == 47


def test_dtypes(strategies, objectives, plans, initiatives):
    assert initiatives["encabezado"].dtype == bool
    for table, ints in ((strategies, ["numero"]), (objectives, ["numero"]), (plans, ["numero"]),
                        (initiatives, ["orden", "linea"])):
        for column in ints:
            assert table[column].dtype == "int64"
    assert all(isinstance(v, str) for v in initiatives["id"])
    assert initiatives["padre"].dtype == object
    assert all(v is None or isinstance(v, str) and v for v in initiatives["padre"])


def test_names(strategies, plans, objectives):
    assert list(strategies["nombre"]) == STRATEGY_NAMES
    assert strategies.loc[1, "nombre_original"] == (
        "ESTRATEGIA DE DESARROLLO ECONOMICO, ENCADENAMIENTO PRODUCTIVO Y FORTALECIMIENTO DEL EMPLEO"
    )
    named = plans.set_index("id")
    assert named.loc["E1-P1", "nombre"] == "Plan de Rescate de Espacios Públicos"
    assert named.loc["E1-P2", "nombre"] == "Plan de Protección Civil y Seguridad Ciudadana"
    assert named.loc["E1-P2", "nombre_original"] == "PLAN 2 PLAN DE PROTECCIÓN CIVIL Y SEGURIDAD CIUDADANA."
    assert named.loc["E2-P4", "nombre"] == "Plan de Desarrollo Turístico"
    assert named.loc["E3-P1", "nombre"] == "Plan de Modernización de la Educación"
    assert named.loc["E8-P2", "nombre"] == "Plan de Información, Comunicación y Gestión del Conocimiento"
    assert not plans["nombre"].str.contains(r"[#*]|\.$|\s{2}|^PLAN \d").any()
    first = objectives[objectives["estrategia"] == "E3"].iloc[0]
    assert (first["numero"], first["objetivo"]) == (1, "Invertir en el recurso humano")
    assert objectives.iloc[0]["objetivo"] == "Integrar funcionalmente la ciudad de Vallenar."
    assert not objectives["objetivo"].str.match(r"^[-\d]").any()


def test_ids(initiatives):
    assert initiatives["id"].str.match(r"^E[1-8]-P\d-\d{2}$").all()
    assert initiatives["id"].is_unique
    assert initiatives.iloc[0]["id"] == "E1-P1-01"
    assert initiatives.iloc[-1]["id"] == "E8-P4-02"
    row = initiatives.set_index("id").loc["E1-P3-07"]
    assert (row["tipo"], row["nombre"], row["linea"]) == ("Programa", "Sensibilización y educación medio Ambiental", 137)
    assert (initiatives["id"] == initiatives["plan"] + "-" + initiatives["orden"].map("{:02d}".format)).all()


def test_parents(initiatives):
    head = _row(initiatives, "E1-P6", "Instrumentos de Ordenamiento Territorial")
    assert head["encabezado"] and head["padre"] is None
    child = _row(initiatives, "E1-P6", "Planes Seccionales Rurales")
    assert (child["tipo"], child["padre"], child["encabezado"]) == ("Proyecto", head["id"], False)
    lonely = _row(initiatives, "E1-P6", "Programa Vallenar Comuna / Ciudad")
    assert lonely["encabezado"] and not (initiatives["padre"] == lonely["id"]).any()
    # a plain (not bold) programme does not head rows: Bicentenario's projects belong to the bold row above
    sit = _row(initiatives, "E1-P6", "Implementación Sistema de Información Territorial")
    assert _row(initiatives, "E1-P6", "Desarrollo Plan Bicentenario")["padre"] == sit["id"]
    # the last rows of a plan name the bold programme before them
    healthy = _row(initiatives, "E5-P2", "Creación de Ambientes Saludables")
    tail = initiatives[initiatives["plan"] == "E5-P2"].iloc[1:]
    assert list(tail["padre"]) == [healthy["id"]] * 3
    labour = _row(initiatives, "E8-P1", "Mejoramiento de las Relaciones Laborales")
    assert _row(initiatives, "E8-P1", "Clima Laboral")["padre"] == labour["id"]
    # rows before the first bold row of a plan have no parent; bold rows have none either
    assert initiatives[initiatives["plan"] == "E1-P1"]["padre"].isna().all()
    assert initiatives.loc[initiatives["encabezado"], "padre"].isna().all()
    assert set(initiatives.loc[initiatives["encabezado"], "tipo"]) == {"Programa"}
    # same name, different plans: two distinct headers
    culture = initiatives[initiatives["nombre"] == "Infraestructura de Apoyo a la Cultura"]
    assert list(culture["id"]) == ["E6-P1-07", "E6-P2-06"]


def test_repairs(initiatives):
    samaritano = initiatives[initiatives["nombre_original"] == 'Casa Acogida Hermanas del Buen Samaritano"'].iloc[0]
    assert samaritano["nombre"] == "Casa Acogida Hermanas del Buen Samaritano"
    by_original = initiatives.set_index("nombre_original")["nombre"]
    assert by_original["Control e plagas y manejo de animales domésticos"] == "Control de plagas y manejo de animales domésticos"
    assert by_original["Pagina de Web del municipio"] == "Página de Web del municipio"
    assert by_original["Seguridad y Participación Ciudadana."] == "Seguridad y Participación Ciudadana"
    assert by_original[
        "Capacitación Permanente Docentes, paradoctentes y de servicios auxiliares"
    ] == "Capacitación Permanente Docentes, paradocentes y de servicios auxiliares"
    # abbreviations keep their final period
    uv = "Prevención de daños a la comunidad por exposición a la luz solar y rayos U.V."
    assert by_original[uv] == uv
    changed = initiatives[initiatives["nombre"] != initiatives["nombre_original"]]
    assert len(changed) == 24
    assert not initiatives["nombre"].str.contains(r'\s{2}|"|\.$(?<!U\.V\.)|^\s|\s$').any()


# --- validation ----------------------------------------------------------------------------

def test_shipped_catalogue_is_valid(strategies, plans, initiatives):
    catalogue.validate_catalogue(strategies, plans, initiatives)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda s, p, i: (s, p, pd.concat([i, i.iloc[[3]]], ignore_index=True)), "id repetido"),
        (lambda s, p, i: (pd.concat([s, s.iloc[[0]]], ignore_index=True), p, i), "id repetido"),
        (lambda s, p, i: (s, p.assign(estrategia=p["estrategia"].replace("E8", "E9")), i), "estrategia desconocida"),
        (lambda s, p, i: (s, p, i.assign(plan=i["plan"].replace("E8-P4", "E8-P7"))), "plan desconocido"),
        (lambda s, p, i: (s, p, i.assign(padre=i["padre"].replace("E1-P6-01", "E1-P6-99"))), "padre desconocido"),
        (lambda s, p, i: (s, p, i.assign(padre=i["padre"].replace("E1-P6-01", "E1-P6-02"))), "programa encabezado"),
        (lambda s, p, i: (s, p, i.assign(padre=i["padre"].replace("E6-P2-06", "E6-P1-07"))), "mismo plan"),
        (lambda s, p, i: (s, p, i.assign(tipo=i["tipo"].replace("Estudio", "Obra"))), "tipo desconocido"),
        (lambda s, p, i: (s, p, i.assign(id=i["id"].replace("E1-P1-01", "E1-P1-1"))), "orden"),
        (lambda s, p, i: (s, p, i.assign(estrategia=i["estrategia"].replace("E2", "E3"))), "estrategia distinta"),
    ],
)
def test_validate_rejects_corrupted_copies(strategies, plans, initiatives, corrupt, message):
    s, p, i = corrupt(strategies.copy(), plans.copy(), initiatives.copy())
    with pytest.raises(DataValidationError, match=message):
        catalogue.validate_catalogue(s, p, i)


def test_validate_rejects_parent_on_a_header(strategies, plans, initiatives):
    i = initiatives.copy()
    i.loc[i["id"] == "E1-P6-06", "padre"] = "E1-P6-01"
    with pytest.raises(DataValidationError, match="no puede tener padre"):
        catalogue.validate_catalogue(strategies, plans, i)


def test_load_from_another_dir(tmp_path):
    (tmp_path / "catalogo").mkdir()
    with pytest.raises(DataValidationError, match="Falta el archivo"):
        catalogue.load_plans(tmp_path)
    (tmp_path / "catalogo" / "planes.csv").write_text("id,estrategia,numero,nombre\nE1-P1,E1,x,A\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="nombre_original"):
        catalogue.load_plans(tmp_path)


# --- filter values -------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1, "1", " 1 ", "E1", "e1"])
def test_strategy_id(value):
    assert catalogue.strategy_id(value) == "E1"


@pytest.mark.parametrize("value", [9, "9", "E9", "0", "", "uno", True])
def test_strategy_id_unknown(value):
    with pytest.raises(InvalidFilterError, match="Estrategia desconocida"):
        catalogue.strategy_id(value)


def test_strategy_id_message():
    with pytest.raises(InvalidFilterError) as info:
        catalogue.strategy_id("9")
    assert str(info.value) == "Estrategia desconocida: «9». Use un número del 1 al 8."


@pytest.mark.parametrize(("value", "expected"), [("E1-P3", "E1-P3"), ("e1-p3", "E1-P3"), (" E8-P4 ", "E8-P4")])
def test_plan_id(value, expected):
    assert catalogue.plan_id(value) == expected


@pytest.mark.parametrize("value", ["E1-P9", "E9-P1", "P3", "3", "E1P3", ""])
def test_plan_id_unknown(value):
    with pytest.raises(InvalidFilterError, match="Plan desconocido"):
        catalogue.plan_id(value)


def test_plan_id_hint():
    with pytest.raises(InvalidFilterError, match="P1 a P6"):
        catalogue.plan_id("E1-P7")


@pytest.mark.parametrize(("value", "expected"), [("proyecto", "Proyecto"), ("ESTUDIO", "Estudio"),
                                                 (" Programa ", "Programa"), ("plan", "Plan")])
def test_tipo_value(value, expected):
    assert catalogue.tipo_value(value) == expected


@pytest.mark.parametrize("value", ["Obra", "", "proyectos"])
def test_tipo_value_unknown(value):
    with pytest.raises(InvalidFilterError, match="Tipo desconocido"):
        catalogue.tipo_value(value)


def test_tipos():
    assert catalogue.TIPOS == ("Programa", "Proyecto", "Estudio", "Plan")
