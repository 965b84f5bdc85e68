"""Field definitions: documented with their unit in docs/seguimiento.md; the configurable list of units."""

from __future__ import annotations

import pytest

from layers import settings
from layers._errors import DataValidationError
from layers.monitoring import fields as F

DOC = settings.PROJECT_DIR / "docs" / "seguimiento.md"


def test_issue_fields_exist_in_order():
    assert F.FIELD_NAMES == (
        "estado", "avance_fisico", "avance_financiero", "unidad_responsable", "fuente_financiamiento",
        "codigo_bip", "etapa", "rate", "monto_estimado_clp", "monto_aprobado_clp", "monto_ejecutado_clp",
        "fecha_inicio_plan", "fecha_termino_plan", "fecha_inicio_real", "fecha_termino_real",
        "indicador", "meta", "observaciones", "actualizado_el", "actualizado_por",
    )
    assert F.SYSTEM == ("actualizado_el", "actualizado_por")
    assert tuple(F.ESTADOS) == ("sin iniciar", "en formulación", "postulada", "financiada", "en ejecución",
                                "terminada", "suspendida", "descartada")
    assert tuple(F.FUENTES) == ("Municipal", "FNDR", "FRIL", "PMU", "PMB", "Sectorial", "Privado", "Otra")
    assert tuple(F.ETAPAS) == ("perfil", "prefactibilidad", "factibilidad", "diseño", "ejecución")
    assert tuple(F.RATES) == ("RS", "FI", "OT", "AD")


def test_storage_types():
    columns = F.storage_columns()
    assert columns["id"] == "TEXT" and columns["version"] == "INTEGER"
    assert columns["avance_fisico"] == "REAL" and columns["monto_aprobado_clp"] == "INTEGER"
    assert columns["fecha_inicio_plan"] == "TEXT"


def test_every_field_and_value_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in doc.splitlines() if line.startswith("| `")}
    for field in F.FIELDS:
        assert field.name in rows, f"{field.name} missing from the field table of docs/seguimiento.md"
    for estado, definition in F.ESTADOS.items():
        assert f"| `{estado}` | {definition} |" in doc
    for value in (*F.FUENTES, *F.ETAPAS, *F.RATES):
        assert f"`{value}`" in doc
    for unit_word in ("% (0 a 100)", "pesos", "AAAA-MM-DD", "NNNNNNNN-D", "ISO 8601"):
        assert unit_word in doc


def test_shipped_units_list():
    units = F.units()
    for unit in ("SECPLAN", "DOM", "DIDECO", "DAEM", "Salud"):
        assert unit in units
    assert len(units) == len(set(units))


def test_units_list_is_configurable(tmp_path, monkeypatch):
    path = tmp_path / "unidades.csv"
    path.write_text("unidad,nombre\nSECPLAN,x\nOficina de Vivienda,y\n\nSECPLAN,z\n", encoding="utf-8")
    monkeypatch.setenv("SIT_UNIDADES_RESPONSABLES", str(path))
    assert F.units() == ("SECPLAN", "Oficina de Vivienda")


@pytest.mark.parametrize("content", ["nombre\nSECPLAN\n", "unidad\n\n", None])
def test_bad_units_file(tmp_path, monkeypatch, content):
    path = tmp_path / "unidades.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setenv("SIT_UNIDADES_RESPONSABLES", str(path))
    with pytest.raises(DataValidationError) as info:
        F.units()
    assert info.value.code == "units_file"


def test_nothing_invented_ships_in_data():
    folder = settings.SHIPPED_DATA_DIR / "seguimiento"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "unidades.csv"]
