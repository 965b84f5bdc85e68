"""Generate the plan catalogue (``data/catalogo/``) from the PLADECO plan text.

Run once from the repository root, and again only if the plan text changes::

    .venv/bin/python scripts/build_catalogue.py [PLAN_TEXT] [--out DIR]

``PLAN_TEXT`` defaults to :data:`layers.settings.PLAN_TEXT_PATH` and ``DIR`` to
``data/catalogo``. Writes ``estrategias.csv``, ``objetivos.csv``, ``planes.csv``,
``iniciativas.csv`` (UTF-8, comma separated, header row, LF newlines, text order)
and ``FUENTE.md`` (provenance and the list of name repairs).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers import _plan_text, settings  # noqa: E402
from layers._errors import SitError  # noqa: E402

log = logging.getLogger("build_catalogue")

#: Output files and their columns, in order.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "estrategias.csv": ("estrategias", ("id", "numero", "nombre", "nombre_original")),
    "objetivos.csv": ("objetivos", ("estrategia", "numero", "objetivo")),
    "planes.csv": ("planes", ("id", "estrategia", "numero", "nombre", "nombre_original")),
    "iniciativas.csv": ("iniciativas", (
        "id", "estrategia", "plan", "orden", "tipo", "nombre", "nombre_original", "padre", "encabezado", "linea",
    )),
}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_csv(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    """Render rows as CSV text: header, minimal quoting, LF newlines, ``true``/``false`` booleans.

    Parameters
    ----------
    rows : list of dict
        Records from :func:`layers._plan_text.parse_plan_text`.
    columns : tuple of str
        Columns to write, in order.

    Returns
    -------
    str
        The CSV text.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    return buffer.getvalue()


def _repair_row(pattern: str, replacement: str, reason: str) -> str:
    shown = f"«{replacement}»" if replacement else "(nada)"
    escaped = pattern.replace("|", r"\|")
    return f"| `{escaped}` | {shown} | {reason} |"


def render_fuente(catalogue: dict[str, list[dict[str, object]]], text: str) -> str:
    """Render ``FUENTE.md``: source, generator command, cleaning rules and the repairs applied.

    Parameters
    ----------
    catalogue : dict
        Output of :func:`layers._plan_text.parse_plan_text`.
    text : str
        The plan text it was parsed from (for its SHA-256).

    Returns
    -------
    str
        Markdown text (Spanish, for people).
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    counts = {name: len(rows) for name, rows in catalogue.items()}
    lines = [
        "# Fuente del catálogo del plan",
        "",
        "Archivo generado por `scripts/build_catalogue.py`; no editar a mano.",
        "",
        "- Texto fuente: `plan/pladeco_vallenar_estrategias.txt` (PLADECO de Vallenar,",
        "  capítulo de estrategias de desarrollo), carpeta compartida del proyecto",
        "  (`layers.settings.PLAN_TEXT_PATH`).",
        f"- SHA-256 del texto: `{digest}`.",
        "- Comando: `.venv/bin/python scripts/build_catalogue.py` (desde la raíz del repositorio).",
        f"- Contenido: {counts['estrategias']} estrategias, {counts['objetivos']} objetivos específicos, "
        f"{counts['planes']} planes y {counts['iniciativas']} iniciativas.",
        "",
        "## Reglas",
        "",
        "- Cada fila `Tipo<TAB>Nombre` del texto (Programa, Proyecto, Estudio, Plan) es una iniciativa,",
        "  una sola vez; `linea` es su línea (desde 1) en el texto.",
        "- `id` codifica el lugar: `E1-P3-07` es la 7.ª fila del plan 3 de la estrategia 1.",
        "- Las filas en negrita (`<b>Programa</b>`) tienen `encabezado = true` y no tienen padre; las filas",
        "  siguientes, hasta la próxima fila en negrita o el fin del plan, las nombran en `padre`.",
        "  Las filas anteriores a la primera fila en negrita de un plan no tienen padre.",
        "- `nombre_original` conserva el texto tal como está escrito (sin etiquetas `<b>`); `nombre`",
        "  corrige solo errores evidentes de tipeo (tabla siguiente).",
        "- Estrategias: `nombre` viene de la lista numerada de «ESTRATEGIAS DE DESARROLLO», con",
        "  mayúsculas de título; `nombre_original` es el encabezado de la estrategia.",
        "- Planes: `nombre` es el encabezado sin marcas, sin `PLAN N` ni punto final, con mayúsculas de",
        "  título y las tildes que faltaban; `nombre_original` es el encabezado sin marcas markdown.",
        "",
        "## Correcciones de nombres de iniciativas (en orden)",
        "",
        "| Patrón (expresión regular) | Reemplazo | Motivo |",
        "|---|---|---|",
    ]
    lines += [_repair_row(*repair) for repair in _plan_text.NAME_REPAIRS]
    lines += ["", "## Correcciones de objetivos específicos", "",
              "| Patrón (expresión regular) | Reemplazo | Motivo |", "|---|---|---|"]
    lines += [_repair_row(*repair) for repair in _plan_text.OBJECTIVE_REPAIRS]
    lines += ["", "## Tildes restituidas en encabezados", "",
              ", ".join(f"{k} → {v}" for k, v in _plan_text.HEADING_ACCENTS.items()) + ".",
              "", "## Nombres de iniciativas corregidos", "",
              "| id | línea | Texto original | Nombre |", "|---|---|---|---|"]
    for row in catalogue["iniciativas"]:
        if row["nombre"] != row["nombre_original"]:
            lines.append(f"| {row['id']} | {row['linea']} | {row['nombre_original']} | {row['nombre']} |")
    return "\n".join(lines) + "\n"


def build(text: str) -> dict[str, str]:
    """Parse the plan text and render every output file.

    Parameters
    ----------
    text : str
        Whole plan text.

    Returns
    -------
    dict
        File name -> file content (str).

    Raises
    ------
    layers._errors.DataValidationError
        If the text breaks the structure the parser expects.
    """
    catalogue = _plan_text.parse_plan_text(text)
    files = {name: render_csv(catalogue[key], columns) for name, (key, columns) in COLUMNS.items()}
    files["FUENTE.md"] = render_fuente(catalogue, text)
    return files


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Genera data/catalogo/ a partir del texto del PLADECO.")
    parser.add_argument("plan_text", nargs="?", type=Path, default=settings.PLAN_TEXT_PATH,
                        help="texto del plan (por defecto %(default)s)")
    parser.add_argument("--out", type=Path, default=settings.SHIPPED_DATA_DIR / "catalogo",
                        help="carpeta de salida (por defecto %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    try:
        text = args.plan_text.read_text(encoding="utf-8")
        files = build(text)
    except FileNotFoundError:
        print(f"No se encontró el texto del plan: {args.plan_text}", file=sys.stderr)
        return 2
    except SitError as exc:
        print(exc, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        with open(args.out / name, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        log.info("escrito %s", args.out / name)
    log.info("catálogo generado en %.2f s", time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
