"""The monitoring fields of an initiative: names, kinds, units and allowed values.

One definition per field, used by validation, storage, the spreadsheets, the
report and ``docs/seguimiento.md`` (which a test keeps in step with it).

Kinds
-----
``choice``   one of a closed list of texts (:attr:`Field.values`);
``unit``     one of the configurable list of municipal units (:func:`units`);
``percent``  a number from 0 to 100, unit per cent of the whole (``REAL``);
``amount``   a whole, non-negative number of Chilean pesos (CLP, ``INTEGER``);
``date``     a calendar date, stored as ISO 8601 ``YYYY-MM-DD`` text;
``bip``      the code of the national investment system (SNI), ``NNNNNNNN-D``;
``text``     free text of at most :data:`TEXT_MAX` characters, one paragraph;
``system``   kept by the system (who and when), never read from people.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from layers import settings
from layers._errors import DataValidationError

__all__ = [
    "Field", "FIELDS", "FIELD_NAMES", "EDITABLE", "SYSTEM", "ESTADOS", "ESTADO_INICIAL", "FUENTES", "ETAPAS",
    "RATES", "TEXT_MAX", "DONE", "DROPPED", "units", "units_path", "field", "storage_columns",
]

#: Longest free text, in characters.
TEXT_MAX = 2000

#: Status of an initiative, in the order of its life, with its definition.
ESTADOS: dict[str, str] = {
    "sin iniciar": "Ninguna unidad ha empezado a trabajarla; estado de partida de toda iniciativa del plan.",
    "en formulación": "Una unidad prepara el perfil, los términos de referencia o el diseño para postularla.",
    "postulada": "Presentada a una fuente de financiamiento (municipal, FNDR, FRIL, sectorial…), a la espera de resultado.",
    "financiada": "Tiene recursos aprobados o asignados, pero su ejecución aún no empieza.",
    "en ejecución": "La obra, el estudio o el programa está en marcha (contrato o actividad en curso).",
    "terminada": "Ejecutada y recibida o cerrada; no se espera más avance.",
    "suspendida": "Empezó o se financió, pero está detenida por una causa que se espera resolver.",
    "descartada": "La municipalidad decidió no ejecutarla (o fue reemplazada por otra); no cuenta en el avance.",
}
#: Status every initiative starts with.
ESTADO_INICIAL = "sin iniciar"
#: Status of finished and of dropped initiatives.
DONE, DROPPED = "terminada", "descartada"

#: Funding sources, with what each stands for.
FUENTES: dict[str, str] = {
    "Municipal": "Presupuesto municipal propio.",
    "FNDR": "Fondo Nacional de Desarrollo Regional (Gobierno Regional de Atacama).",
    "FRIL": "Fondo Regional de Iniciativa Local (Gobierno Regional).",
    "PMU": "Programa Mejoramiento Urbano y Equipamiento Comunal (SUBDERE).",
    "PMB": "Programa Mejoramiento de Barrios (SUBDERE).",
    "Sectorial": "Un ministerio o servicio público (MINVU, MOP, MINSAL, MINEDUC, IND…).",
    "Privado": "Aporte de privados (empresas, fundaciones, donaciones).",
    "Otra": "Cualquier otra fuente; se detalla en observaciones.",
}

#: Stages of the investment cycle of the national investment system.
ETAPAS: dict[str, str] = {
    "perfil": "Primera formulación: problema, alternativas y una estimación gruesa de costos.",
    "prefactibilidad": "Estudio que profundiza las alternativas y reduce la incertidumbre de costos y beneficios.",
    "factibilidad": "Estudio de la alternativa elegida con el detalle necesario para decidir su ejecución.",
    "diseño": "Ingeniería y arquitectura de detalle de la alternativa elegida.",
    "ejecución": "Construcción de la obra o puesta en marcha del programa.",
}

#: Result of the technical-economic analysis (RATE) of the national investment system.
RATES: dict[str, str] = {
    "RS": "Recomendado satisfactoriamente: la iniciativa puede recibir financiamiento.",
    "FI": "Falta información: el evaluador pidió antecedentes que aún no se entregan.",
    "OT": "Objetado técnicamente: la iniciativa no es recomendable tal como se presentó.",
    "AD": "Admisible: cumple los requisitos para entrar a evaluación (resultado previo al análisis).",
}


@dataclass(frozen=True)
class Field:
    """One monitoring field.

    Attributes
    ----------
    name : str
        Column name in the store, the spreadsheets and the exports.
    kind : str
        One of the kinds of this module's docstring.
    label : str
        Spanish label for people.
    unit : str
        Unit or form of the value, in Spanish (``"%"``, ``"pesos (CLP)"``, ``"AAAA-MM-DD"``).
    values : tuple of str
        Allowed values for ``choice`` fields; empty otherwise.
    """

    name: str
    kind: str
    label: str
    unit: str
    values: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        """Storage type: ``"REAL"`` for percents, ``"INTEGER"`` for amounts, else ``"TEXT"``."""
        return {"percent": "REAL", "amount": "INTEGER"}.get(self.kind, "TEXT")


FIELDS: tuple[Field, ...] = (
    Field("estado", "choice", "Estado", "valor de la lista", tuple(ESTADOS)),
    Field("avance_fisico", "percent", "Avance físico", "% (0 a 100)"),
    Field("avance_financiero", "percent", "Avance financiero", "% (0 a 100)"),
    Field("unidad_responsable", "unit", "Unidad responsable", "valor de la lista de unidades"),
    Field("fuente_financiamiento", "choice", "Fuente de financiamiento", "valor de la lista", tuple(FUENTES)),
    Field("codigo_bip", "bip", "Código BIP", "NNNNNNNN-D"),
    Field("etapa", "choice", "Etapa", "valor de la lista", tuple(ETAPAS)),
    Field("rate", "choice", "RATE", "valor de la lista", tuple(RATES)),
    Field("monto_estimado_clp", "amount", "Monto estimado", "pesos (CLP), entero"),
    Field("monto_aprobado_clp", "amount", "Monto aprobado", "pesos (CLP), entero"),
    Field("monto_ejecutado_clp", "amount", "Monto ejecutado", "pesos (CLP), entero"),
    Field("fecha_inicio_plan", "date", "Inicio planificado", "AAAA-MM-DD"),
    Field("fecha_termino_plan", "date", "Término planificado", "AAAA-MM-DD"),
    Field("fecha_inicio_real", "date", "Inicio real", "AAAA-MM-DD"),
    Field("fecha_termino_real", "date", "Término real", "AAAA-MM-DD"),
    Field("indicador", "text", "Indicador", f"texto (hasta {TEXT_MAX} caracteres)"),
    Field("meta", "text", "Meta", f"texto (hasta {TEXT_MAX} caracteres)"),
    Field("observaciones", "text", "Observaciones", f"texto (hasta {TEXT_MAX} caracteres)"),
    Field("actualizado_el", "system", "Actualizado el", "fecha y hora ISO 8601 con zona"),
    Field("actualizado_por", "system", "Actualizado por", "nombre del autor del último cambio"),
)

#: Every field name, in order.
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
#: Fields people set (everything but the system ones).
EDITABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind != "system")
#: Fields the system keeps.
SYSTEM: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "system")

_BY_NAME = {f.name: f for f in FIELDS}


def field(name: str) -> Field:
    """The :class:`Field` called ``name`` (``KeyError`` when there is none)."""
    return _BY_NAME[name]


def storage_columns() -> dict[str, str]:
    """Columns of the current-values table: ``id``, every field and ``version``, with SQL types."""
    return {"id": "TEXT", **{f.name: f.sql_type for f in FIELDS}, "version": "INTEGER"}


def units_path() -> Path:
    """CSV of the municipal units (``SIT_UNIDADES_RESPONSABLES``, default ``data/seguimiento/unidades.csv``).

    Read when called, so a deployment or a test can point it elsewhere.
    """
    return settings.responsible_units_path()


def units(path: Path | None = None) -> tuple[str, ...]:
    """Allowed values of ``unidad_responsable``, in file order.

    Parameters
    ----------
    path : pathlib.Path, optional
        UTF-8 CSV with a column ``unidad`` (default :func:`units_path`).

    Returns
    -------
    tuple of str
        Unit names, stripped, without blanks or repeats.

    Raises
    ------
    DataValidationError
        ``code="units_file"`` when the file is missing, has no ``unidad`` column or no unit.
    """
    path = path or units_path()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DataValidationError(f"No se pudo leer la lista de unidades responsables: {path}.",
                                  code="units_file", path=str(path)) from exc
    names = [str(r.get("unidad") or "").strip() for r in rows]
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        raise DataValidationError(f"La lista de unidades responsables no tiene la columna «unidad» o está vacía: {path}.",
                                  code="units_file", path=str(path))
    return tuple(names)
