"""Parser of the PLADECO plan text into the plan catalogue.

The plan text (``plan/pladeco_vallenar_estrategias.txt``) is markdown-ish: eight
``## ESTRATEGIA DE ...`` headings, each with a ``### Objetivos Específicos:``
list and numbered ``PLAN N ...`` headings, each plan followed by its initiative
rows ``Tipo<TAB>Nombre`` (``<b>Programa</b><TAB><b>Nombre</b>`` for bold
programmes that head the rows below them). Everything else is narrative and is
ignored.

This module is pure: text in, plain Python structures out; no file access.
Names are cleaned here, with every repair listed in :data:`NAME_REPAIRS`
(initiatives) and :data:`HEADING_ACCENTS` (plan headings written without
accents), so that the repairs can be reviewed in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from layers._errors import DataValidationError
from layers.text import fold as text_fold

#: Initiative types, in the order the plan uses them.
TIPOS: tuple[str, ...] = ("Programa", "Proyecto", "Estudio", "Plan")

#: Repairs of obvious typing slips in initiative names, applied in order as
#: ``(pattern, replacement, reason)``; ``nombre_original`` keeps the text as written.
NAME_REPAIRS: tuple[tuple[str, str, str], ...] = (
    (r'"+$', "", "comilla sobrante al final"),
    (r"\bControl e plagas\b", "Control de plagas", "falta la «d» de «de»"),
    (r"\bparadoctentes\b", "paradocentes", "letra sobrante"),
    (r"\bConservación\. y\b", "Conservación y", "punto sobrante dentro de una enumeración"),
    (r"\bDiagnostico\b", "Diagnóstico", "falta la tilde"),
    (r"\bPagina\b", "Página", "falta la tilde"),
    (r"\s{2,}", " ", "espacios repetidos"),
    (r"(?<![A-Z]\.[A-Z])\.$", "", "punto final (se conservan abreviaturas como «U.V.»)"),
)

#: Repairs of obvious slips in the text of specific objectives, ``(pattern, replacement, reason)``.
OBJECTIVE_REPAIRS: tuple[tuple[str, str, str], ...] = (
    (r"\.{2,}$", ".", "punto repetido al final"),
)

#: Words written without their accent in the plan headings (upper case as written -> accented).
HEADING_ACCENTS: dict[str, str] = {
    "AMPLIACION": "AMPLIACIÓN",
    "ECONOMICO": "ECONÓMICO",
    "EDUCACION": "EDUCACIÓN",
    "FACILITACION": "FACILITACIÓN",
    "HISTORICO": "HISTÓRICO",
    "INTERVENCION": "INTERVENCIÓN",
    "MANTENCION": "MANTENCIÓN",
    "MODERNIZACION": "MODERNIZACIÓN",
    "PROMOCION": "PROMOCIÓN",
    "RECUPERACION": "RECUPERACIÓN",
    "TECNOLOGIAS": "TECNOLOGÍAS",
    "TRANSITO": "TRÁNSITO",
    "TURISTICO": "TURÍSTICO",
}

#: Words kept in lower case inside a title-cased name (unless first).
_MINOR_WORDS = frozenset(
    {"a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "los", "o", "para", "por", "u", "y"}
)

_HEADING = re.compile(r"^#{1,6}\s")
_STRATEGY_LIST_HEADING = re.compile(r"^#{1,6}\s+(?:\*\*)?\s*ESTRATEGIAS DE DESARROLLO\b")
_STRATEGY_LIST_ITEM = re.compile(r"^-\s*(\d+)\.\s+(.+?)[\s*]*$")
_STRATEGY_HEADING = re.compile(r"^#{1,6}\s+(?:\*\*)?\s*(ESTRATEGIA DE\s.+?)[\s*]*$")
_OBJECTIVES_HEADING = re.compile(r"^#{1,6}\s+(?:\*\*)?\s*Objetivos Espec[ií]ficos\b", re.IGNORECASE)
_OBJECTIVE_ITEM = re.compile(r"^(?:-\s*)?(\d+)\.-?\s+(.+?)\s*$")
_PLAN_HEADING = re.compile(r"^#{1,6}\s+(?:\*\*)?\s*(PLAN\s+(\d+)\s+(.+?))[\s*]*$")
_PLAN_LIKE_HEADING = re.compile(r"^#{1,6}\s+(?:\*\*)?\s*PLAN\b")
_ROW = re.compile(r"^(<b>)?(" + "|".join(TIPOS) + r")(</b>)?\t(<b>)?(.*?)(</b>)?$")


def fold(text: str) -> str:
    """Upper case without accents and with single spaces, to compare headings.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The folded text.
    """
    return " ".join(text_fold(text).upper().split())


def title_case(text: str) -> str:
    """Title-case a Spanish name written in capitals, restoring missing accents.

    Words of :data:`HEADING_ACCENTS` get their accent back; minor words
    (``de``, ``la``, ``y``...) stay in lower case except at the start.

    Parameters
    ----------
    text : str
        Name as written, e.g. ``"PLAN DE MODERNIZACION DE LA EDUCACIÓN"``.

    Returns
    -------
    str
        E.g. ``"Plan de Modernización de la Educación"``.
    """
    out = []
    for i, word in enumerate(text.split()):
        core = word.rstrip(",;:")
        tail = word[len(core):]
        core = HEADING_ACCENTS.get(core.upper(), core)
        lower = core.lower()
        out.append((lower if i and lower in _MINOR_WORDS else lower.capitalize()) + tail)
    return " ".join(out)


def repair_name(text: str) -> str:
    """Apply :data:`NAME_REPAIRS` to an initiative name as written.

    Parameters
    ----------
    text : str
        Name as written in the plan (without ``<b>`` tags).

    Returns
    -------
    str
        The repaired name, stripped of outer white space.
    """
    return _apply(NAME_REPAIRS, text)


def _apply(repairs: tuple[tuple[str, str, str], ...], text: str) -> str:
    """Apply ``(pattern, replacement, reason)`` repairs in order, stripping outer white space."""
    out = text.strip()
    for pattern, replacement, _reason in repairs:
        out = re.sub(pattern, replacement, out).strip()
    return out


def _plan_name(heading_rest: str) -> str:
    """Clean name of a plan from its heading without the leading ``PLAN N``."""
    return title_case(" ".join(heading_rest.split()).rstrip(". "))


def _error(lineno: int, message: str) -> DataValidationError:
    return DataValidationError(f"Texto del plan, línea {lineno}: {message}")


def parse_plan_text(text: str) -> dict[str, list[dict[str, object]]]:
    """Parse the PLADECO plan text into strategies, objectives, plans and initiatives.

    Parameters
    ----------
    text : str
        Whole plan text (UTF-8 decoded). Line numbers are 1-based lines of it.

    Returns
    -------
    dict
        Four lists of plain dicts, in the order of the text:

        ``"estrategias"``
            ``id`` (``"E1"``), ``numero`` (int), ``nombre`` (title-cased name from
            the numbered list under *ESTRATEGIAS DE DESARROLLO*), ``nombre_original``
            (heading text without markdown), ``linea`` (int).
        ``"objetivos"``
            ``estrategia`` (``"E1"``), ``numero`` (int), ``objetivo`` (text without
            its numbering), ``linea``.
        ``"planes"``
            ``id`` (``"E1-P3"``), ``estrategia``, ``numero`` (int), ``nombre``
            (cleaned, title-cased, accents restored), ``nombre_original`` (heading
            text without markdown), ``linea``.
        ``"iniciativas"``
            ``id`` (``"E1-P3-07"``: 7th row of plan 3 of strategy 1), ``estrategia``,
            ``plan``, ``orden`` (int, 1-based within the plan), ``tipo`` (one of
            :data:`TIPOS`), ``nombre`` (repaired), ``nombre_original`` (as written,
            without ``<b>`` tags), ``padre`` (id of the bold programme heading the
            row, or ``None``), ``encabezado`` (bool, bold row), ``linea``.

    Raises
    ------
    layers._errors.DataValidationError
        On structural surprises: a row or plan outside its container, plans or
        objectives numbered out of sequence, an unknown tabbed row, half-bold rows,
        a strategy, plan or list that is empty or does not match the strategy list.
    """
    state = _State()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if _heading(state, lineno, line, stripped) or _row(state, lineno, line, stripped):
            continue
        _list_item(state, lineno, stripped)
    _check_complete(state)
    return {"estrategias": state.strategies, "objetivos": state.objectives,
            "planes": state.plans, "iniciativas": state.initiatives}


@dataclass
class _State:
    """What :func:`parse_plan_text` has read so far, and where in the text it is."""

    listed: list[tuple[int, str, int]] = field(default_factory=list)  # (numero, name as written, line)
    strategies: list[dict[str, object]] = field(default_factory=list)
    objectives: list[dict[str, object]] = field(default_factory=list)
    plans: list[dict[str, object]] = field(default_factory=list)
    initiatives: list[dict[str, object]] = field(default_factory=list)
    mode: str | None = None  # "lista" | "objetivos" | None
    strategy: dict[str, object] | None = None
    plan: dict[str, object] | None = None
    header: str | None = None  # id of the bold programme heading the next rows
    plan_rows: int = 0

    def close_plan(self, lineno: int) -> None:
        """Refuse a plan left without rows when the next heading starts."""
        if self.plan is not None and self.plan_rows == 0:
            raise _error(lineno, f"el plan {self.plan['id']} no tiene iniciativas.")


def _heading(state: _State, lineno: int, line: str, stripped: str) -> bool:
    """Step 1: a markdown heading (strategy list, strategy, objectives, plan, other); True if it was one."""
    if _STRATEGY_LIST_HEADING.match(line):
        if state.strategies:
            raise _error(lineno, "la lista de estrategias aparece después de la primera estrategia.")
        state.mode = "lista"
        return True
    match = _STRATEGY_HEADING.match(line)
    if match:
        state.close_plan(lineno)
        number = len(state.strategies) + 1
        state.strategy = {"id": f"E{number}", "numero": number, "nombre": None,
                          "nombre_original": match.group(1), "linea": lineno}
        state.strategies.append(state.strategy)
        state.plan, state.header, state.plan_rows, state.mode = None, None, 0, None
        return True
    if _OBJECTIVES_HEADING.match(line):
        if state.strategy is None or state.plan is not None:
            raise _error(lineno, "objetivos específicos fuera del encabezado de una estrategia.")
        state.mode = "objetivos"
        return True
    match = _PLAN_HEADING.match(line)
    if match:
        _plan_heading(state, lineno, match)
        return True
    if _PLAN_LIKE_HEADING.match(line):
        raise _error(lineno, f"encabezado de plan sin número: «{stripped}».")
    if _HEADING.match(line):
        state.mode = None
        return True
    return False


def _plan_heading(state: _State, lineno: int, match: re.Match[str]) -> None:
    """A ``PLAN N ...`` heading: numbered in sequence within its strategy."""
    strategy = state.strategy
    if strategy is None:
        raise _error(lineno, "plan antes de la primera estrategia.")
    state.close_plan(lineno)
    number = int(match.group(2))
    expected = sum(1 for p in state.plans if p["estrategia"] == strategy["id"]) + 1
    if number != expected:
        raise _error(lineno, f"se esperaba el PLAN {expected} de la estrategia {strategy['id']} "
                             f"y se encontró el PLAN {number}.")
    state.plan = {"id": f"{strategy['id']}-P{number}", "estrategia": strategy["id"], "numero": number,
                  "nombre": _plan_name(match.group(3)), "nombre_original": match.group(1), "linea": lineno}
    state.plans.append(state.plan)
    state.header, state.plan_rows, state.mode = None, 0, None


def _row(state: _State, lineno: int, line: str, stripped: str) -> bool:
    """Step 2: a tabbed initiative row (``Tipo<TAB>Nombre``, bold for programme headers); True if it was one."""
    match = _ROW.match(line)
    if not match:
        if "\t" in line and state.strategies:
            raise _error(lineno, f"fila con tabulador que no es una iniciativa: «{stripped[:60]}».")
        return False
    open_tipo, tipo, close_tipo, open_name, name, close_name = match.groups()
    bold = [bool(x) for x in (open_tipo, close_tipo, open_name, close_name)]
    if any(bold) and not all(bold):
        raise _error(lineno, "fila con negrita incompleta.")
    plan = state.plan
    if plan is None or state.strategy is None:
        raise _error(lineno, "fila de iniciativa antes del primer plan de una estrategia.")
    encabezado = all(bold)
    if encabezado and tipo != "Programa":
        raise _error(lineno, f"fila en negrita de tipo «{tipo}»; solo los programas encabezan filas.")
    if not name.strip():
        raise _error(lineno, "fila de iniciativa sin nombre.")
    state.plan_rows += 1
    row_id = f"{plan['id']}-{state.plan_rows:02d}"
    state.initiatives.append({
        "id": row_id, "estrategia": state.strategy["id"], "plan": plan["id"], "orden": state.plan_rows,
        "tipo": tipo, "nombre": repair_name(name), "nombre_original": name,
        "padre": None if encabezado else state.header, "encabezado": encabezado, "linea": lineno,
    })
    if encabezado:
        state.header = row_id
    state.mode = None
    return True


def _list_item(state: _State, lineno: int, stripped: str) -> None:
    """Step 3: an item of the strategy list or of a strategy's objectives; anything else is narrative."""
    if not stripped:
        return
    if state.mode == "lista":
        match = _STRATEGY_LIST_ITEM.match(stripped)
        if match:
            state.listed.append((int(match.group(1)), match.group(2), lineno))
    elif state.mode == "objetivos" and state.strategy is not None:
        match = _OBJECTIVE_ITEM.match(stripped)
        if not match:
            state.mode = None  # narrative after the list
            return
        number = int(match.group(1))
        own = [o for o in state.objectives if o["estrategia"] == state.strategy["id"]]
        if number != len(own) + 1:
            raise _error(lineno, f"objetivo {number} fuera de secuencia en la estrategia {state.strategy['id']}.")
        state.objectives.append({"estrategia": state.strategy["id"], "numero": number,
                                 "objetivo": _apply(OBJECTIVE_REPAIRS, match.group(2)), "linea": lineno})


def _check_complete(state: _State) -> None:
    """Step 4: every strategy named by the list, with objectives and plans; the last plan not empty."""
    if state.plan is not None and state.plan_rows == 0:
        raise _error(state.plan["linea"], f"el plan {state.plan['id']} no tiene iniciativas.")
    _attach_strategy_names(state.strategies, state.listed)
    for strat in state.strategies:
        if not any(o["estrategia"] == strat["id"] for o in state.objectives):
            raise _error(strat["linea"], f"la estrategia {strat['id']} no tiene objetivos específicos.")
        if not any(p["estrategia"] == strat["id"] for p in state.plans):
            raise _error(strat["linea"], f"la estrategia {strat['id']} no tiene planes.")


def _attach_strategy_names(strategies: list[dict[str, object]], listed: list[tuple[int, str, int]]) -> None:
    """Name each strategy from the numbered list, checking it matches the headings."""
    if not strategies:
        raise DataValidationError("Texto del plan: no se encontró ninguna estrategia («## ESTRATEGIA DE ...»).")
    if [n for n, _, _ in listed] != list(range(1, len(strategies) + 1)):
        raise DataValidationError(
            f"Texto del plan: la lista de estrategias tiene {len(listed)} elementos numerados "
            f"y hay {len(strategies)} encabezados de estrategia."
        )
    for strat, (_number, name, lineno) in zip(strategies, listed):
        heading = fold(str(strat["nombre_original"])).removeprefix("ESTRATEGIA DE ").rstrip(". ")
        if heading != fold(name).rstrip(". "):
            raise _error(lineno, f"la estrategia «{name}» de la lista no coincide con el encabezado "
                                 f"«{strat['nombre_original']}».")
        strat["nombre"] = title_case(name)
