"""Tests of layers/_plan_text.py on small synthetic plan texts."""

from __future__ import annotations

import pytest

from layers._errors import DataValidationError
from layers._plan_text import parse_plan_text, repair_name, title_case

HEAD = """## INDICE
• ESTRATEGIA DE UNO\t5

## **ESTRATEGIAS DE DESARROLLO**

- 1. DESARROLLO TERRITORIAL**
- 2. GESTIÓN MUNICIPAL**

Narrativa que no es dato.
"""

BODY = """
## ESTRATEGIA DE DESARROLLO TERRITORIAL.

### Objetivos Específicos:

1. Integrar la ciudad.
2. Coordinar proyectos

Texto narrativo 1. que no es objetivo.

## PLAN 1 PLAN DE RESCATE DE ESPACIOS PÚBLICOS

Narrativa del plan.

Programa\tRemodelación de Espacios Públicos
<b>Programa</b>\t<b>Cabecera</b>
Proyecto\tHija uno.
Estudio\tDiagnostico Hija dos"

#### **PLAN 2          PLAN DE ORDENAMIENTO DE TRANSITO**

<b>Programa</b>\t<b>Sola</b>
<b>Programa</b>\t<b>Otra</b>
Plan\tNieta

## ESTRATEGIA DE GESTIÓN MUNICIPAL

### Objetivos Específicos:

- 1.- Desarrollar un clima laboral..

### **PLAN 1 PLAN DE FORTALECIMIENTO DE REDES**

Programa\tFortalecimiento de la asociatividad"""


def test_structure():
    out = parse_plan_text(HEAD + BODY)
    assert [s["id"] for s in out["estrategias"]] == ["E1", "E2"]
    assert [s["nombre"] for s in out["estrategias"]] == ["Desarrollo Territorial", "Gestión Municipal"]
    assert out["estrategias"][0]["nombre_original"] == "ESTRATEGIA DE DESARROLLO TERRITORIAL."
    assert [(o["estrategia"], o["numero"], o["objetivo"]) for o in out["objetivos"]] == [
        ("E1", 1, "Integrar la ciudad."), ("E1", 2, "Coordinar proyectos"), ("E2", 1, "Desarrollar un clima laboral."),
    ]
    assert [(p["id"], p["nombre"]) for p in out["planes"]] == [
        ("E1-P1", "Plan de Rescate de Espacios Públicos"),
        ("E1-P2", "Plan de Ordenamiento de Tránsito"),
        ("E2-P1", "Plan de Fortalecimiento de Redes"),
    ]
    assert out["planes"][1]["nombre_original"] == "PLAN 2          PLAN DE ORDENAMIENTO DE TRANSITO"
    rows = {r["id"]: r for r in out["iniciativas"]}
    assert list(rows) == ["E1-P1-01", "E1-P1-02", "E1-P1-03", "E1-P1-04", "E1-P2-01", "E1-P2-02", "E1-P2-03", "E2-P1-01"]
    assert [rows[k]["padre"] for k in rows] == [None, None, "E1-P1-02", "E1-P1-02", None, None, "E1-P2-02", None]
    assert [rows[k]["encabezado"] for k in rows] == [False, True, False, False, True, True, False, False]
    assert rows["E1-P1-04"]["nombre"] == "Diagnóstico Hija dos"
    assert rows["E1-P1-04"]["nombre_original"] == 'Diagnostico Hija dos"'
    assert rows["E1-P1-03"]["nombre"] == "Hija uno"
    assert rows["E1-P1-02"]["nombre_original"] == "Cabecera"
    lines = (HEAD + BODY).splitlines()
    for row in out["iniciativas"]:
        assert row["nombre_original"] in lines[row["linea"] - 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + "## ESTRATEGIA DE DESARROLLO TERRITORIAL\n### Objetivos Específicos:\n1. A\nPrograma\tX\n", "antes del primer plan"),
        (HEAD + BODY.replace("#### **PLAN 2 ", "#### **PLAN 3 "), "se esperaba el PLAN 2"),
        (HEAD + BODY.replace("Plan\tNieta", "Obra\tNieta"), "tabulador"),
        (HEAD + BODY.replace("<b>Programa</b>\t<b>Sola</b>", "<b>Programa</b>\tSola"), "negrita incompleta"),
        (HEAD + BODY.replace("<b>Programa</b>\t<b>Sola</b>", "<b>Estudio</b>\t<b>Sola</b>"), "solo los programas"),
        (HEAD.replace("- 2. GESTIÓN MUNICIPAL**\n", "") + BODY, "lista de estrategias"),
        (HEAD.replace("GESTIÓN MUNICIPAL", "SALUD") + BODY, "no coincide"),
        (HEAD + BODY.replace("2. Coordinar", "3. Coordinar"), "fuera de secuencia"),
        (HEAD + BODY.replace("### **PLAN 1 PLAN DE FORTALECIMIENTO", "### **PLAN DE FORTALECIMIENTO"), "sin número"),
        (HEAD + BODY + "\n## PLAN 2 PLAN VACÍO\n", "no tiene iniciativas"),
        (HEAD + BODY.replace("- 1.- Desarrollar un clima laboral..", ""), "no tiene objetivos"),
        ("Programa\tX\n", "antes del primer plan"),
        (HEAD, "ninguna estrategia"),
    ],
)
def test_structural_surprises(text, message):
    with pytest.raises(DataValidationError, match=message):
        parse_plan_text(text)


def test_repair_name():
    assert repair_name("Casa Acogida Hermanas del Buen Samaritano\"") == "Casa Acogida Hermanas del Buen Samaritano"
    assert repair_name("luz solar y rayos U.V.") == "luz solar y rayos U.V."
    assert repair_name("Vecinos. Vida Saludable.") == "Vecinos. Vida Saludable"
    assert repair_name("Uno  dos") == "Uno dos"
    assert repair_name("Sin cambios") == "Sin cambios"


def test_title_case():
    assert title_case("PLAN DE APOYO A LA EDUCACION SUPERIOR") == "Plan de Apoyo a la Educación Superior"
    assert title_case("DESARROLLO AGRÍCOLA E INDUSTRIAL DE VALLENAR") == "Desarrollo Agrícola e Industrial de Vallenar"
    assert title_case("INFORMACIÓN, COMUNICACIÓN Y GESTIÓN") == "Información, Comunicación y Gestión"
