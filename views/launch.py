"""``python -m views.launch run app.py [options]``: Streamlit's command line, with the code frozen first.

``make run`` starts the server this way. Before Streamlit starts, the process imports the
code the pages run and moves it out of the full garbage collections that Streamlit runs
after every script run (:func:`views.heap.freeze_code`). Done here, the freeze holds only
code and what lives as long as the process. No visitor's session exists yet, so none
can be kept forever by it. Then the arguments go unchanged to Streamlit's own command
line (``streamlit run app.py --server.port 8501 ...``).

A server started with plain ``streamlit run app.py`` works the same, without the
freeze. Every script run then walks the whole heap (70 to 75 ms with the 100×
municipality of ``bench/synthetic.py``), and ``app.py`` logs a warning once.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Freeze the code, then run Streamlit's command line with ``argv``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments of Streamlit's command line (``["run", "app.py", "--server.port", "8501"]``);
        ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit status of Streamlit's command line.
    """
    from views import heap

    frozen = heap.freeze_code()
    print(f"SIT Vallenar: {frozen} objetos del código quedan fuera de las recolecciones completas (views.heap).",
          file=sys.stderr, flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", *(sys.argv[1:] if argv is None else argv)]
    try:
        cli.main(prog_name="streamlit")
    except SystemExit as exc:  # click ends the command line with SystemExit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
