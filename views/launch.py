"""``python -m views.launch run app.py [options]``: Streamlit's command line, with the code frozen first.

``make run`` starts the server this way. Before Streamlit starts, the process imports the
code the pages run and moves it out of the full garbage collections that Streamlit runs
after every script run (:func:`views.heap.freeze_code`). Done here, the freeze holds only
code and what lives as long as the process. No visitor's session exists yet, so none
can be kept forever by it. Then the arguments go unchanged to Streamlit's own command
line (``streamlit run app.py --server.port 8501 ...``), whose messages and exit status
are Streamlit's.

Only ``run`` freezes; any other command (``--help``, ``version``) goes to Streamlit as it is.
A server started with plain ``streamlit run app.py`` works the same, without the freeze.
Every script run then walks the whole heap: 70 to 75 ms with the 100× municipality of
``bench/synthetic.py``. ``app.py`` then warns once, on the first visit.
"""

from __future__ import annotations

import sys

__all__ = ["USAGE", "main"]

#: Printed before Streamlit's own help for ``run``.
USAGE = (
    "Uso: python -m views.launch run app.py [opciones de «streamlit run»]\n"
    "Inicia SIT Vallenar como «streamlit run», con el código precargado antes de la primera visita "
    "(views/heap.py); es lo que hace «make run». Opciones de Streamlit:\n"
)


def main(argv: list[str] | None = None) -> None:
    """Freeze the code when the command is ``run``, then hand ``argv`` to Streamlit's command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments of Streamlit's command line (``["run", "app.py", "--server.port", "8501"]``);
        ``sys.argv[1:]`` by default. With no arguments, ``-h`` or ``--help``, prints
        :data:`USAGE` and the options of ``streamlit run``.

    Raises
    ------
    SystemExit
        Always, from Streamlit's command line: its exit status, and its message when
        it refuses an option (``--server.cookieSecret`` given as a flag, a busy port).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, file=sys.stdout, flush=True)
        args = ["run", "--help"]
    elif args[0] == "run" and not {"-h", "--help"} & set(args):
        from views import heap

        frozen = heap.freeze_code()
        print(f"SIT Vallenar: código de las páginas precargado ({frozen} objetos fuera de la recolección de "
              "basura): cada visita se atiende más rápido.", file=sys.stderr, flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", *args]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
