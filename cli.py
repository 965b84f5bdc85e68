"""Command line of SIT Vallenar: list, export, import and remove layers for batch work.

Examples
--------
    python cli.py layers
    python cli.py export iniciativas --format geojson -o iniciativas.geojson
    python cli.py export iniciativas --territorio domeyko --estrategia 1 -o domeyko.geojson
    python cli.py export territorios --format shp -o territorios.zip
    python cli.py import uv.zip --as territorios --layer unidades_vecinales --name-field NOMBRE
    python cli.py export iniciativas --capa-territorios unidades_vecinales --territorio uv-12 -o uv12.gpkg -f gpkg
    python cli.py import obras.geojson --as iniciativas --layer obras_secplan --id-field codigo
    python cli.py import caminos.gpkg --as referencia --layer caminos --gpkg-layer red_vial
    python cli.py remove caminos
    python cli.py almacen copiar --a postgresql://sit@localhost/sit   # copy the store (and back: --a FILE.gpkg)
    python cli.py ogcapi --port 5000   # OGC API - Features for QGIS at http://127.0.0.1:5000
    echo "una clave larga" | python cli.py usuarios crear ana.perez --rol planificador   # accounts (docs/cuentas.md)

Every failure prints one Spanish line on standard error, never a traceback (add ``-v``
before the command to see it), and exits with status 2: bad arguments, unknown layers
or filters, bad settings (``SIT_UPLOAD_LIMIT_MB=abc``), files that cannot be read or
written (a folder, ``/proc/version``, a read-only or full data directory), an
interrupted run (Ctrl+C). Output cut short by a closed pipe (``| head``) ends quietly,
also with status 2. Only a failure the program did not foresee (a bug) exits with 1,
still in one line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
import warnings
from pathlib import Path

from layers import settings, store
from layers._errors import SitError
from layers.exchange import export
from layers.text import os_error_reason

EXIT_USAGE = 2
#: Status of a failure the program did not foresee (a bug).
EXIT_BUG = 1


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors are one Spanish line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(EXIT_USAGE, f"Error: argumentos inválidos ({message}). Use --help.\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cli.py", description="SIT Vallenar: capas del PLADECO de Vallenar.")
    parser.add_argument("-v", "--verbose", action="store_true", help="mostrar tiempos y detalles")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("layers", help="lista las capas con su número de elementos")
    build = sub.add_parser("build", help="construye el almacén desde data/ (o lo actualiza si cambió)")
    build.add_argument("--force", action="store_true", help="reconstruir aunque no haya cambios")
    build.add_argument(
        "--reparar", action="store_true",
        help="reparar un almacén dañado: reconstruye las capas incluidas y recupera las importadas y las tablas editables legibles",
    )

    exp = sub.add_parser("export", help="exporta una capa, con filtros opcionales")
    exp.add_argument("layer", help="capa: comuna, territorios, iniciativas o una importada")
    exp.add_argument("--format", "-f", default="geojson", help=f"formato: {', '.join(export.FORMATS)}")
    exp.add_argument(
        "-o", "--output", required=True, type=Path,
        help="archivo de salida, o una carpeta existente: se escribe en ella CAPA.EXTENSIÓN (p. ej. iniciativas.geojson); "
        "en shp, un nombre .shp da el Shapefile con sus .shx .dbf .prj .cpg al lado, y .zip (o .shp.zip) el comprimido",
    )
    exp.add_argument("--territorio", help="slug del territorio (p. ej. domeyko)")
    exp.add_argument("--estrategia", help="número de estrategia (1 a 8)")
    exp.add_argument("--plan", help="id del plan (p. ej. E1-P4)")
    exp.add_argument("--tipo", help="Programa, Proyecto, Estudio o Plan")
    exp.add_argument("--alcance", help="comunal, urbano, rural, territorial o extracomunal")
    exp.add_argument(
        "--capa-territorios", dest="capa_territorios", default=None,
        help="capa de territorios a la que se refiere --territorio (por omisión, territorios)",
    )
    exp.add_argument("--ubicaciones", default=None, help="capa de ubicaciones importada que se superpone a las iniciativas")

    imp = sub.add_parser("import", help="importa una capa: GeoJSON, Shapefile (.zip), GeoPackage, KML/KMZ o CSV")
    imp.add_argument("path", type=Path, help="archivo a importar")
    imp.add_argument("--as", dest="as_", required=True, help="territorios, iniciativas o referencia")
    imp.add_argument("--layer", required=True, help="nombre de la capa en el sistema (p. ej. unidades_vecinales)")
    imp.add_argument("--name-field", dest="name_field", help="campo con el nombre de cada territorio")
    imp.add_argument("--id-field", dest="id_field", help="campo con el id (slug del territorio o id de iniciativa, p. ej. E1-P1-08)")
    imp.add_argument("--crs", help="sistema de coordenadas del archivo, p. ej. EPSG:24879 (obligatorio si no lo declara)")
    imp.add_argument("--encoding", help="codificación del texto (Shapefile, CSV), p. ej. ISO-8859-1")
    imp.add_argument("--gpkg-layer", dest="gpkg_layer", help="capa a leer si el archivo tiene varias (GeoPackage, KML, zip)")
    imp.add_argument("--precision", type=int, default=None, help="precisión conocida de las geometrías, en metros")
    imp.add_argument("--replace", action="store_true", help="reemplazar una capa del mismo nombre")

    rem = sub.add_parser("remove", help="elimina una capa importada")
    rem.add_argument("layer", help="nombre de la capa importada")

    ins = sub.add_parser("inspect", help="lista las capas de un archivo (GeoPackage, KML, zip)")
    ins.add_argument("path", type=Path, help="archivo a revisar")


    seg = sub.add_parser("seguimiento", help="seguimiento del plan: historial, importar y exportar la matriz")
    seg_sub = seg.add_subparsers(dest="accion", required=True, parser_class=_Parser)
    seg_sub.add_parser("historial", help="cambios registrados de una iniciativa").add_argument("id", help="id, p. ej. E1-P1-08")
    seg_imp = seg_sub.add_parser("importar", help="actualiza desde una planilla .csv o .xlsx (columna id y campos)")
    seg_imp.add_argument("path", type=Path, help="planilla .csv (UTF-8 o Excel con ;) o .xlsx")
    seg_imp.add_argument("--autor", default=None, help="nombre de quien hace el cambio (por omisión, el usuario del sistema)")
    seg_imp.add_argument("--motivo", default="", help="motivo del cambio, queda en el historial")
    seg_exp = seg_sub.add_parser("exportar", help="escribe la matriz de seguimiento completa (.csv o .xlsx)")
    seg_exp.add_argument("-o", "--output", required=True, type=Path, help="archivo .csv o .xlsx")

    inf = sub.add_parser("informe", help="informes imprimibles")
    inf_sub = inf.add_subparsers(dest="informe", required=True, parser_class=_Parser)
    cta = inf_sub.add_parser("cuenta-publica", help="informe de cuenta pública del plan (HTML, y CSV al lado)")
    cta.add_argument("--anio", type=int, default=None, help="año informado (por omisión, el actual)")
    cta.add_argument("-o", "--output", required=True, type=Path, help="archivo .html; el CSV se escribe al lado")
    cta.add_argument(
        "--al-cierre", dest="al_cierre", action="store_true",
        help="para un año ya cerrado, los valores registrados hasta el 31 de diciembre (por omisión, el registro actual)",
    )
    alm = sub.add_parser("almacen", help="operaciones sobre el almacén de capas (GeoPackage o PostGIS)")
    alm_sub = alm.add_subparsers(dest="accion", required=True, parser_class=_Parser)
    cop = alm_sub.add_parser("copiar", help="copia todas las capas, tablas e historial a otro almacén y compara conteos")
    cop.add_argument("--a", dest="destino", required=True, metavar="DESTINO",
                     help="postgresql://usuario:clave@servidor:puerto/base o archivo .gpkg")
    cop.add_argument("--reemplazar", action="store_true", help="vaciar antes un destino que ya tiene capas")
    usr = sub.add_parser("usuarios", help="cuentas de la aplicación: crear, listar, cambiar rol, desactivar, activar")
    usr_sub = usr.add_subparsers(dest="accion", required=True, parser_class=_Parser)
    usr_new = usr_sub.add_parser("crear", help="crea una cuenta; la clave se lee de la entrada estándar")
    usr_new.add_argument("nombre", help="nombre de la cuenta (minúsculas, dígitos, . _ -), p. ej. ana.perez")
    usr_new.add_argument("--rol", required=True, help="junta de vecinos, planificador o administrador")
    usr_new.add_argument("--correo", default="", help="correo con que ingresa por el proveedor de identidad (OpenID Connect)")
    usr_new.add_argument("--sin-clave", dest="sin_clave", action="store_true",
                         help="sin clave: ingresa solo por el proveedor de identidad (requiere --correo)")
    usr_sub.add_parser("listar", help="lista las cuentas con su rol y estado")
    usr_rol = usr_sub.add_parser("rol", help="cambia el rol de una cuenta")
    usr_rol.add_argument("nombre")
    usr_rol.add_argument("rol", help="junta de vecinos, planificador o administrador")
    usr_sub.add_parser("desactivar", help="desactiva una cuenta (no se borra: su nombre queda en el historial)").add_argument("nombre")
    usr_sub.add_parser("activar", help="vuelve a activar una cuenta desactivada").add_argument("nombre")
    usr_sub.add_parser("clave", help="cambia la clave de una cuenta (leída de la entrada estándar)").add_argument("nombre")
    oga = sub.add_parser("ogcapi", help="sirve las capas como OGC API – Features (QGIS: capa WFS / OGC API – Features)")
    oga.add_argument("--port", type=int, default=5000, help="puerto (por omisión 5000)")
    oga.add_argument("--host", default="127.0.0.1", help="dirección donde escuchar (por omisión solo este equipo)")
    return parser


def cmd_build(args: argparse.Namespace) -> int:
    if args.reparar:
        from layers.store import repair

        print(repair.format_report(store.repair_store()))
    path = store.ensure_store(force=args.force)
    print(f"Almacén listo: {path} ({len(store.list_layers())} capas y tablas)")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    reg = store.list_layers()
    width = max(len(n) for n in reg["nombre"])
    print(f"{'capa':<{width}}  {'elementos':>9}  {'clase':<11}  {'origen':<9}  título")
    for row in reg.itertuples(index=False):
        print(f"{row.nombre:<{width}}  {int(row.n):>9}  {row.clase:<11}  {row.origen:<9}  {row.titulo}")
    return 0


def _select(args: argparse.Namespace):
    """The layer named in ``args`` with its filters applied.

    Initiatives get the sites of :func:`layers.initiatives.choose_sites` (the
    newest imported site layer unless ``--ubicaciones`` says otherwise) and are
    related to territories by :func:`layers.territory_layers.relations`, the
    rules the app uses too.
    """
    from layers import query

    info = store.layer_info(args.layer)
    given = {k: getattr(args, k, None) for k in query.FILTER_KEYS}
    given = {k: v for k, v in given.items() if v is not None}
    if info["clase"] != "iniciativas" and (args.capa_territorios or args.ubicaciones):
        raise SitError(f"--capa-territorios y --ubicaciones solo se aplican a las iniciativas, no a «{args.layer}».")
    if info["clase"] == "iniciativas":
        from layers import initiatives, territory_layers

        registry = store.list_layers()
        frame = initiatives.with_sites(initiatives.choose_sites(args.ubicaciones, registry), registry=registry)
        relations = None
        if given.get("territorio") or args.capa_territorios:
            name = args.capa_territorios or territory_layers.SHIPPED_NAME
            territories, relations = territory_layers.relations(frame, name, registry=registry)
            if given.get("territorio"):
                given["territorio"] = query.check_territories([given["territorio"]], territories)[0]
        from layers import monitoring

        return monitoring.with_monitoring(query.filter_initiatives(frame, relations, **given))
    frame = store.read_layer(args.layer)
    if info["clase"] == "territorios" and set(given) <= {"territorio"}:
        if "territorio" in given:
            slug = query.check_territories([given["territorio"]], frame)[0]
            frame = frame[frame["slug"] == slug]
        return frame
    if given:
        names = ", ".join(f"--{k}" for k in given)
        raise SitError(f"Los filtros {names} no se aplican a la capa «{args.layer}».")
    return frame


def cmd_export(args: argparse.Namespace) -> int:
    fmt = export.check_format(args.format)
    output = args.output
    from layers.access import accounts

    if args.layer in accounts.PRIVATE_TABLES:
        raise SitError(f"«{args.layer}» guarda las cuentas de la aplicación y no se exporta.")
    if str(output) == "-":
        raise SitError("La exportación se escribe en un archivo, no en la salida estándar: indique uno con -o (p. ej. -o capa.geojson).")
    if output.is_dir():  # a folder: the file is named after the layer
        output = output / f"{args.layer}{export.FORMATS[fmt][1]}"
    if not output.parent.is_dir():
        raise SitError(f"La carpeta de salida no existe: {output.parent}")
    selection = _select(args)
    path = export.export_layer(selection, output, fmt, layer=args.layer)
    n = len(selection)
    print(f"{n} {'elemento' if n == 1 else 'elementos'} de «{args.layer}» escritos en {path}", file=sys.stderr)
    if fmt == "gpkg":
        layers = export.gpkg_layers(selection, args.layer)
        if len(layers) > 1:
            listed = ", ".join(f"{name} ({len(part)})" for name, part in layers)
            print(f"Capas del GeoPackage, una por tipo de geometría: {listed}", file=sys.stderr)
    return 0


def _crs_hint(data: dict) -> str:
    return f"Pruebe --crs {data['suggested'][0]}." if data.get("suggested") else ""


#: Hints for import errors in command-line words, by error code (domain messages name no option).
IMPORT_HINTS = {
    "layer_exists": lambda d: "Use --replace para reemplazarla.",
    "crs_missing": lambda d: "Indíquelo con --crs, p. ej. --crs EPSG:32719.",
    "outside_commune": _crs_hint,
    "outside_crs_domain": _crs_hint,
    "crs_transform_failed": lambda d: "Indique el sistema correcto con --crs.",
    "no_geometry_columns": lambda d: "Para x/y indique el sistema con --crs.",
    "bad_encoding": lambda d: f"Pruebe --encoding {d['suggested']}.",
    "several_layers": lambda d: "Indíquelo, tal como aparece, con --gpkg-layer.",
    "layer_not_found": lambda d: "Elija una con --gpkg-layer.",
    "name_field_missing": lambda d: "Use --name-field.",
    "id_field_missing": lambda d: "Use --id-field.",
    "field_missing": lambda d: "Revise --name-field." if d.get("role") == "name_field" else "Revise --id-field.",
    "duplicate_ids": lambda d: "Sin --id-field los identificadores se derivan de los nombres.",
    "datum_unknown": lambda d: "Indíquelo con --crs, p. ej. --crs EPSG:24879 si es PSAD56 / UTM 19S.",
    "crs_conflict": lambda d: f"Quite --crs: vale el {d['declared']} del archivo.",
}


#: Hints for store errors in command-line words, by error code (added to any command's failure).
STORE_HINTS = {
    "store_damaged": lambda d: "Ejecute python cli.py build --reparar, o restaure una copia de respaldo.",
    "disk_full": lambda d: "Libere espacio en la carpeta de datos (SIT_DATA_DIR) y repita.",
    "store_readonly": lambda d: "Dé permiso de escritura a la carpeta de datos (SIT_DATA_DIR) o use otra.",
    "shipped_layer": lambda d: "Las capas incluidas se reemplazan importando otra con --replace.",
}


def _with_hint(exc: SitError) -> SitError:
    """``exc`` with the command-line hint of its code appended to its message."""
    hint = IMPORT_HINTS.get(exc.code)
    text = hint(exc.data) if hint else ""
    if text:
        exc.args = (f"{exc} {text}",)
    return exc


def _written_to() -> str:
    """The line that names the store a writing command wrote to (GeoPackage path or database URL without password)."""
    return f"Almacén: {store.backend().location}"


def cmd_import(args: argparse.Namespace) -> int:
    from layers.ingest import importer

    try:
        report = importer.import_file(
            args.path,
            as_=args.as_,
            layer=args.layer,
            name_field=args.name_field,
            id_field=args.id_field,
            crs=args.crs,
            encoding=args.encoding,
            replace=args.replace,
            gpkg_layer=args.gpkg_layer,
            precision_m=args.precision,
        )
    except SitError as exc:
        raise _with_hint(exc) from exc.__cause__
    print(importer.format_report(report))
    print(_written_to())
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    store.remove_layer(args.layer)
    print(f"Capa «{args.layer}» eliminada.")
    print(_written_to())
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from layers.ingest import importer

    try:
        rows = importer.inspect(args.path)
    except SitError as exc:
        raise _with_hint(exc) from exc.__cause__
    for row in rows:
        n = "?" if row["n"] is None else row["n"]
        print(f"{row['capa']}\t{row['geometria'] or ''}\t{n}")
    return 0


def _print_history(ident: str) -> int:
    import pandas as pd

    from layers import monitoring
    from layers.monitoring import history

    inits = monitoring.initiatives().set_index("id")
    if ident not in inits.index:
        raise SitError(f"No existe la iniciativa «{ident}».")
    from layers.access import placing

    both = pd.concat([history.history(ident), placing.history(ident)], ignore_index=True)  # monitoring and sites
    order = pd.to_datetime(both["fecha_hora"], utc=True, format="ISO8601")
    entries = both.assign(_t=order.to_numpy()).sort_values("_t", kind="stable")
    print(f"{ident} · {inits.at[ident, 'nombre']}: {len(entries)} cambios registrados")
    for row in entries.itertuples(index=False):
        reason = f" (motivo: {row.motivo})" if row.motivo else ""
        print(f"{row.fecha_hora}  {row.autor}  {row.campo}: «{row.valor_anterior}» → «{row.valor_nuevo}»{reason}")
    return 0


def cmd_seguimiento(args: argparse.Namespace) -> int:
    import getpass

    from layers import monitoring
    from layers.monitoring import sheet, validate

    if args.accion == "historial":
        return _print_history(args.id)
    if args.accion == "exportar":
        if args.output.suffix.lower().lstrip(".") not in sheet.FORMATS or not args.output.parent.is_dir():
            raise SitError(f"La salida debe ser un archivo .csv o .xlsx en una carpeta existente: {args.output}")
        path, n = monitoring.export_sheet(args.output)
        print(f"Matriz de seguimiento ({n} iniciativas) escrita en {path}", file=sys.stderr)
        return 0
    try:
        autor = args.autor or getpass.getuser()
    except (OSError, KeyError) as exc:
        raise SitError("No se pudo saber quién hace el cambio: indique --autor NOMBRE.") from exc
    try:
        changes = monitoring.import_sheet(args.path, autor, args.motivo)
    except validate.MonitoringValidationError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        for problem in exc.data["problems"]:
            print(f"  {problem.line()}", file=sys.stderr)
        return EXIT_USAGE
    fields = "1 campo cambiado" if changes.n_fields == 1 else f"{changes.n_fields} campos cambiados"
    places = "1 iniciativa" if changes.n_initiatives == 1 else f"{changes.n_initiatives} iniciativas"
    print(f"{fields} en {places}.")
    print(_written_to())
    return 0


def cmd_informe(args: argparse.Namespace) -> int:
    import datetime as dt

    from layers import monitoring
    from layers.monitoring import report
    from views import public_account

    year = args.anio or dt.date.today().year
    if not 2000 <= year <= dt.date.today().year + 1:
        raise SitError(f"Año fuera de rango: {year}.")
    if args.output.suffix.lower() not in (".html", ".htm") or not args.output.parent.is_dir():
        raise SitError(f"La salida debe ser un archivo .html en una carpeta existente: {args.output}")
    figures = monitoring.account_figures(year, at_year_end=args.al_cierre)
    args.output.write_text(public_account.render(figures), encoding="utf-8")
    table = args.output.with_suffix(".csv")
    table.write_bytes(report.tables_csv(figures))
    print(f"Informe de cuenta pública {year} escrito en {args.output} y {table}", file=sys.stderr)
    return 0


def cmd_almacen(args: argparse.Namespace) -> int:
    from layers.store import copy

    try:
        target = copy.store_at(args.destino)
        print(copy.copy_store(store.backend(), target, replace=args.reemplazar).format())
    except SitError as exc:
        if exc.code == "target_not_empty":
            exc.args = (f"{exc} Use --reemplazar para vaciarlo antes de copiar.",)
        raise
    return 0


def _read_password() -> str:
    """The new password from standard input (asked twice, unseen, on a terminal)."""
    import getpass

    if sys.stdin.isatty():
        clave = getpass.getpass("Clave: ")
        if getpass.getpass("Repita la clave: ") != clave:
            raise SitError("Las claves no coinciden; no se cambió nada.")
        return clave
    return sys.stdin.readline().rstrip("\r\n")


def cmd_usuarios(args: argparse.Namespace) -> int:
    import getpass

    from layers.access import accounts

    try:
        autor = f"consola:{getpass.getuser()}"
    except (OSError, KeyError):
        autor = "consola"
    if args.accion == "listar":
        for row in accounts.list_accounts().itertuples(index=False):
            state = "activa" if row.activa else "desactivada"
            how = "clave" if row.con_clave else "solo proveedor de identidad"
            print(f"{row.nombre}\t{row.rol}\t{state}\t{how}\t{row.correo}")
        return 0
    if args.accion == "crear":
        accounts.check_name(args.nombre)
        if args.sin_clave and not args.correo:
            raise SitError("Una cuenta --sin-clave necesita --correo.")
        account = accounts.create(args.nombre, args.rol, None if args.sin_clave else _read_password(),
                                  correo=args.correo, autor=autor)
    elif args.accion == "rol":
        account = accounts.set_role(args.nombre, args.rol, autor=autor)
    elif args.accion == "clave":
        if accounts.get(args.nombre) is None:
            raise SitError(f"No existe la cuenta «{args.nombre}».")
        account = accounts.set_password(args.nombre, _read_password(), autor=autor)
    elif args.accion == "activar":
        account = accounts.activate(args.nombre, autor=autor)
    else:
        account = accounts.deactivate(args.nombre, autor=autor)
    state = "activa" if account.activa else "desactivada"
    print(f"Cuenta «{account.nombre}»: {account.rol}, {state}.", file=sys.stderr)
    return 0


def cmd_ogcapi(args: argparse.Namespace) -> int:
    from ogcapi import server

    if not 0 < args.port < 65536:
        raise SitError(f"Puerto no válido: {args.port}.")
    store.ensure_store()
    server.serve(host=args.host, port=args.port)
    return 0


COMMANDS = {
    "build": cmd_build, "layers": cmd_layers, "export": cmd_export,
    "import": cmd_import, "remove": cmd_remove, "inspect": cmd_inspect,
    "seguimiento": cmd_seguimiento, "informe": cmd_informe,
    "almacen": cmd_almacen, "ogcapi": cmd_ogcapi, "usuarios": cmd_usuarios,
}


def _fail(message: str, status: int = EXIT_USAGE) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return status


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _os_failure(exc: OSError) -> str:
    """One Spanish line for a file the system refused (naming the data directory when it is there)."""
    where = f"«{exc.filename}»" if exc.filename else "un archivo"
    line = f"No se pudo leer o escribir {where}: {os_error_reason(exc)}."
    try:
        folder = str(settings.data_dir_path())
    except SitError:
        folder = None
    if exc.filename and folder and str(Path(exc.filename).resolve()).startswith(folder):
        line += " Es la carpeta de datos (SIT_DATA_DIR): use una carpeta con permiso de escritura y espacio libre."
    return line


def _data_dir_failure() -> str | None:
    """The line for a failure explained by the data directory (read-only, full, no permission), or None."""
    try:
        folder = settings.data_dir()
    except SitError as exc:
        return str(exc)
    problem = export.folder_problem(folder)
    if problem is None:
        return None
    return (
        f"La carpeta de datos «{folder}» (SIT_DATA_DIR) no admite escritura: {os_error_reason(problem)}. "
        "Use una carpeta con permiso de escritura y espacio libre."
    )


def _run(args: argparse.Namespace) -> int:
    settings.validate()
    status = COMMANDS[args.command](args)
    sys.stdout.flush()  # a closed pipe fails here, inside the handlers, not at exit
    return status


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure is one Spanish line on standard error (see the module docstring)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if not args.verbose:
        warnings.simplefilter("ignore")  # library warnings would break the one-line answer
    try:
        return _run(args)
    except SitError as exc:
        hint = STORE_HINTS.get(exc.code)
        return _fail(f"{exc} {hint(exc.data)}" if hint else str(exc))
    except BrokenPipeError:  # the reader (head, less) went away: stop quietly
        _quiet_stdout()
        return EXIT_USAGE
    except KeyboardInterrupt:
        return _fail("Operación interrumpida; el almacén se guarda de una vez, así que nada quedó a medias.")
    except OSError as exc:
        if args.verbose:
            traceback.print_exc()
        return _fail(_os_failure(exc))
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        explained = _data_dir_failure()
        if explained is not None:
            return _fail(explained)
        detail = (str(exc).splitlines() or [""])[0][:200]
        return _fail(
            f"Falla inesperada del programa ({type(exc).__name__}: {detail}). "
            "Repita con -v antes del comando para ver el detalle y avise al equipo del SIT.",
            EXIT_BUG,
        )


if __name__ == "__main__":
    sys.exit(main())
