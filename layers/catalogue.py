"""The plan catalogue: strategies, their specific objectives, plans and initiatives.

Source: the PLADECO plan text, parsed once by ``scripts/build_catalogue.py`` into
the shipped CSVs of ``data/catalogo/`` (provenance and name repairs in
``data/catalogo/FUENTE.md``). This module loads those CSVs, validates them and
normalises filter values given by people (strategy, plan, type).

Fields
------
estrategias.csv
    ``id`` (``"E1"``), ``numero`` (1-8), ``nombre``, ``nombre_original``.
objetivos.csv
    ``estrategia`` (``"E1"``), ``numero`` (1-based within the strategy), ``objetivo``.
planes.csv
    ``id`` (``"E1-P3"``), ``estrategia``, ``numero`` (1-based within the strategy),
    ``nombre``, ``nombre_original``.
iniciativas.csv
    ``id`` (``"E1-P3-07"``: 7th row of plan 3 of strategy 1), ``estrategia``, ``plan``,
    ``orden`` (row within the plan), ``tipo`` (one of :data:`TIPOS`), ``nombre``
    (obvious typing slips repaired), ``nombre_original`` (as written), ``padre`` (id of
    the bold programme heading the row, missing when none), ``encabezado`` (bold
    programme row), ``linea`` (1-based line in the plan text).

Dtypes of the loaded frames: ids and texts are pandas' string dtype (``str``);
numbers are ``int64``; ``encabezado`` is ``bool``; ``padre`` is ``object`` holding
the parent id (``str``) or ``None`` when the row has no parent (never ``""``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from layers import settings
from layers._errors import DataValidationError, InvalidFilterError
from layers._plan_text import TIPOS

__all__ = [
    "TIPOS", "COLUMNS", "catalogue_dir", "load_strategies", "load_objectives", "load_plans", "load_initiatives",
    "validate_catalogue", "strategy_id", "plan_id", "tipo_value",
]

_STRATEGY_ID = re.compile(r"^E([1-9]\d*)$")
_PLAN_ID = re.compile(r"^E([1-9]\d*)-P([1-9]\d*)$")
_INITIATIVE_ID = re.compile(r"^E[1-9]\d*-P[1-9]\d*-\d{2}$")


def catalogue_dir(data_dir: Path | None = None) -> Path:
    """Folder of the catalogue CSVs.

    Parameters
    ----------
    data_dir : pathlib.Path, optional
        Root of the shipped data (default :data:`layers.settings.SHIPPED_DATA_DIR`).

    Returns
    -------
    pathlib.Path
        ``data_dir / "catalogo"``.
    """
    return (data_dir or settings.SHIPPED_DATA_DIR) / "catalogo"


#: Columns of each catalogue file, in order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "estrategias.csv": ("id", "numero", "nombre", "nombre_original"),
    "objetivos.csv": ("estrategia", "numero", "objetivo"),
    "planes.csv": ("id", "estrategia", "numero", "nombre", "nombre_original"),
    "iniciativas.csv": (
        "id", "estrategia", "plan", "orden", "tipo", "nombre", "nombre_original", "padre", "encabezado", "linea",
    ),
}


def _read(name: str, data_dir: Path | None, ints: tuple[str, ...]) -> pd.DataFrame:
    path = catalogue_dir(data_dir) / name
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataValidationError(f"Falta el archivo del catálogo: {path}.") from exc
    missing = [c for c in COLUMNS[name] if c not in table.columns]
    if missing:
        raise DataValidationError(f"{name}: faltan las columnas {', '.join(missing)}.")
    table = table[list(COLUMNS[name])]
    for column in ints:
        try:
            table[column] = table[column].astype("int64")
        except ValueError as exc:
            raise DataValidationError(f"{name}: la columna «{column}» debe tener números enteros.") from exc
    return table


def load_strategies(data_dir: Path | None = None) -> pd.DataFrame:
    """Load the strategies.

    Parameters
    ----------
    data_dir : pathlib.Path, optional
        Root of the shipped data (default :data:`layers.settings.SHIPPED_DATA_DIR`).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (str), ``numero`` (int64), ``nombre`` (str), ``nombre_original`` (str).
    """
    return _read("estrategias.csv", data_dir, ("numero",))


def load_objectives(data_dir: Path | None = None) -> pd.DataFrame:
    """Load the specific objectives of the strategies.

    Parameters
    ----------
    data_dir : pathlib.Path, optional
        Root of the shipped data (default :data:`layers.settings.SHIPPED_DATA_DIR`).

    Returns
    -------
    pandas.DataFrame
        Columns ``estrategia`` (str), ``numero`` (int64), ``objetivo`` (str).
    """
    return _read("objetivos.csv", data_dir, ("numero",))


def load_plans(data_dir: Path | None = None) -> pd.DataFrame:
    """Load the plans.

    Parameters
    ----------
    data_dir : pathlib.Path, optional
        Root of the shipped data (default :data:`layers.settings.SHIPPED_DATA_DIR`).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (str), ``estrategia`` (str), ``numero`` (int64), ``nombre`` (str),
        ``nombre_original`` (str).
    """
    return _read("planes.csv", data_dir, ("numero",))


def load_initiatives(data_dir: Path | None = None) -> pd.DataFrame:
    """Load the initiatives, in the order of the plan text.

    Parameters
    ----------
    data_dir : pathlib.Path, optional
        Root of the shipped data (default :data:`layers.settings.SHIPPED_DATA_DIR`).

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``estrategia``, ``plan``, ``tipo``, ``nombre``, ``nombre_original``
        (str); ``orden``, ``linea`` (int64); ``encabezado`` (bool); ``padre`` (object:
        parent id as str, ``None`` when the row has no parent).
    """
    table = _read("iniciativas.csv", data_dir, ("orden", "linea"))
    flags = table["encabezado"].str.strip().str.lower()
    if not flags.isin(["true", "false"]).all():
        raise DataValidationError("iniciativas.csv: «encabezado» debe ser true o false.")
    table["encabezado"] = flags.eq("true")
    table["padre"] = pd.Series([v or None for v in table["padre"]], index=table.index, dtype=object)
    return table


def _listed(values: pd.Series, limit: int = 5) -> str:
    items = [f"«{v}»" for v in dict.fromkeys(values.astype(str))]
    more = f" y {len(items) - limit} más" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def validate_catalogue(strategies: pd.DataFrame, plans: pd.DataFrame, initiatives: pd.DataFrame) -> None:
    """Check the catalogue tables against the rules of the catalogue.

    Rules: unique ids in each table; ids that encode their place (``E1``,
    ``E1-P3`` of strategy ``E1`` and number 3, ``E1-P3-07`` of plan ``E1-P3`` and
    row 7); every plan's strategy and every initiative's plan known, and the
    initiative's strategy equal to its plan's; ``tipo`` in :data:`TIPOS`; bold rows
    (``encabezado``) are programmes without a parent; every parent is a bold
    programme of the same plan that comes before the row.

    Parameters
    ----------
    strategies, plans, initiatives : pandas.DataFrame
        As returned by :func:`load_strategies`, :func:`load_plans` and
        :func:`load_initiatives`.

    Raises
    ------
    layers._errors.DataValidationError
        On the first broken rule, with a Spanish message naming the offending values.
    """
    for label, table in (("estrategias", strategies), ("planes", plans), ("iniciativas", initiatives)):
        dup = table.loc[table["id"].duplicated(), "id"]
        if len(dup):
            raise DataValidationError(f"Catálogo, {label}: id repetido {_listed(dup)}.")

    bad = strategies.loc[strategies["id"] != "E" + strategies["numero"].astype(str), "id"]
    if len(bad):
        raise DataValidationError(f"Catálogo, estrategias: id que no corresponde a su número {_listed(bad)}.")

    unknown = plans.loc[~plans["estrategia"].isin(strategies["id"]), "estrategia"]
    if len(unknown):
        raise DataValidationError(f"Catálogo, planes: estrategia desconocida {_listed(unknown)}.")
    expected = plans["estrategia"] + "-P" + plans["numero"].astype(str)
    bad = plans.loc[plans["id"] != expected, "id"]
    if len(bad):
        raise DataValidationError(f"Catálogo, planes: id que no corresponde a su estrategia y número {_listed(bad)}.")

    unknown = initiatives.loc[~initiatives["plan"].isin(plans["id"]), "plan"]
    if len(unknown):
        raise DataValidationError(f"Catálogo, iniciativas: plan desconocido {_listed(unknown)}.")
    plan_strategy = initiatives["plan"].map(plans.set_index("id")["estrategia"])
    bad = initiatives.loc[initiatives["estrategia"] != plan_strategy, "id"]
    if len(bad):
        raise DataValidationError(f"Catálogo, iniciativas: estrategia distinta de la de su plan en {_listed(bad)}.")
    expected = initiatives["plan"] + "-" + initiatives["orden"].map(lambda n: f"{int(n):02d}")
    bad = initiatives.loc[(initiatives["id"] != expected) | ~initiatives["id"].str.match(_INITIATIVE_ID.pattern), "id"]
    if len(bad):
        raise DataValidationError(f"Catálogo, iniciativas: id que no corresponde a su plan y orden {_listed(bad)}.")

    bad = initiatives.loc[~initiatives["tipo"].isin(TIPOS), "tipo"]
    if len(bad):
        raise DataValidationError(
            f"Catálogo, iniciativas: tipo desconocido {_listed(bad)}; se admiten {', '.join(TIPOS)}."
        )
    empty = initiatives.loc[initiatives["nombre"].fillna("").str.strip() == "", "id"]
    if len(empty):
        raise DataValidationError(f"Catálogo, iniciativas: nombre vacío en {_listed(empty)}.")

    heads = initiatives[initiatives["encabezado"].astype(bool)]
    bad = heads.loc[heads["tipo"] != "Programa", "id"]
    if len(bad):
        raise DataValidationError(f"Catálogo, iniciativas: fila de encabezado que no es un programa {_listed(bad)}.")
    has_parent = initiatives["padre"].notna() & (initiatives["padre"].astype(str) != "")
    bad = heads.loc[has_parent[heads.index], "id"]
    if len(bad):
        raise DataValidationError(
            f"Catálogo, iniciativas: un programa encabezado no puede tener padre {_listed(bad)}."
        )

    children = initiatives[has_parent]
    by_id = initiatives.set_index("id")
    unknown = children.loc[~children["padre"].isin(by_id.index), "padre"]
    if len(unknown):
        raise DataValidationError(f"Catálogo, iniciativas: padre desconocido {_listed(unknown)}.")
    parent = by_id.loc[children["padre"]]
    ok = (
        parent["encabezado"].astype(bool).to_numpy()
        & (parent["plan"].to_numpy() == children["plan"].to_numpy())
        & (parent["orden"].to_numpy() < children["orden"].to_numpy())
    )
    bad = children.loc[~ok, "id"]
    if len(bad):
        raise DataValidationError(
            "Catálogo, iniciativas: el padre debe ser un programa encabezado anterior del mismo plan; "
            f"no lo es en {_listed(bad)}."
        )


@functools.lru_cache(maxsize=1)
def _shipped_ids() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Strategy and plan ids of the shipped catalogue (read once)."""
    return tuple(load_strategies()["id"]), tuple(load_plans()["id"])


def strategy_id(value: object) -> str:
    """Normalise a strategy given by a person to its id.

    Parameters
    ----------
    value : int or str
        ``1``, ``"1"``, ``"E1"`` or ``"e1"`` (surrounding spaces ignored).

    Returns
    -------
    str
        The strategy id, e.g. ``"E1"``.

    Raises
    ------
    layers._errors.InvalidFilterError
        If the value names no strategy of the catalogue.
    """
    known, _ = _shipped_ids()
    text = str(value).strip().upper() if not isinstance(value, bool) else ""
    candidate = text if text.startswith("E") else f"E{text}"
    if candidate in known:
        return candidate
    raise InvalidFilterError(f"Estrategia desconocida: «{value}». Use un número del 1 al {len(known)}.")


def plan_id(value: object) -> str:
    """Normalise a plan given by a person to its id.

    Parameters
    ----------
    value : str
        ``"E1-P3"`` in any letter case (surrounding spaces ignored).

    Returns
    -------
    str
        The plan id, e.g. ``"E1-P3"``.

    Raises
    ------
    layers._errors.InvalidFilterError
        If the value names no plan of the catalogue.
    """
    _, known = _shipped_ids()
    candidate = str(value).strip().upper()
    if candidate in known:
        return candidate
    match = _PLAN_ID.match(candidate)
    if match and f"E{match.group(1)}" in {p.split("-")[0] for p in known}:
        strategy = f"E{match.group(1)}"
        count = sum(1 for p in known if p.startswith(strategy + "-"))
        hint = f" La estrategia {strategy} tiene los planes P1 a P{count}."
    else:
        hint = " Use un id como «E1-P3» (estrategia 1, plan 3)."
    raise InvalidFilterError(f"Plan desconocido: «{value}».{hint}")


def tipo_value(value: object) -> str:
    """Normalise an initiative type given by a person.

    Parameters
    ----------
    value : str
        A type in any letter case, e.g. ``"proyecto"`` (surrounding spaces ignored).

    Returns
    -------
    str
        The type as written in :data:`TIPOS`, e.g. ``"Proyecto"``.

    Raises
    ------
    layers._errors.InvalidFilterError
        If the value is not one of :data:`TIPOS`.
    """
    text = str(value).strip().casefold()
    for tipo in TIPOS:
        if tipo.casefold() == text:
            return tipo
    raise InvalidFilterError(f"Tipo desconocido: «{value}». Use uno de: {', '.join(TIPOS)}.")
