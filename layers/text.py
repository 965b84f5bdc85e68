"""Small text helpers shared by the domain and the edges: one home each.

- :func:`fold`: text without accents (``"Población"`` -> ``"Poblacion"``), to compare
  names typed by people with names in the data;
- :func:`slugify`: an ASCII identifier made from a name (``"poblacion-hermanos-carrera"``);
- :func:`format_number`: a number written the Chilean way (``7.238,29``);
- :func:`format_mb`: a size in bytes as megabytes (``"1,1 MB"``).

Pure functions on ``str`` and numbers, with no I/O and no third-party imports.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "slugify", "format_number", "format_mb", "MB"]

#: Bytes in one megabyte as this project counts them (MiB, 1024 × 1024).
MB = 1024 * 1024


def fold(text: object, *, lower: bool = False) -> str:
    """Text without its diacritics (accents, tilde of ñ, diaeresis).

    Parameters
    ----------
    text : object
        Any value; it is converted with :class:`str` first.
    lower : bool, default False
        Also fold case (:meth:`str.casefold`), for comparisons.

    Returns
    -------
    str
        ``"Ñandú Río"`` -> ``"Nandu Rio"`` (``"nandu rio"`` with ``lower=True``).
        Characters with no decomposition (``"ß"``, ``"ø"``) are kept, except that
        ``casefold`` turns ``"ß"`` into ``"ss"``.
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.casefold() if lower else plain


def slugify(text: object, sep: str = "-", max_length: int = 60) -> str:
    """ASCII lower-case identifier made from a name.

    Parameters
    ----------
    text : object
        A name (``"Población Hermanos Carrera"``).
    sep : str, default "-"
        What replaces every run of other characters (``"_"`` for layer and field names).
    max_length : int, default 60
        Longest result, in characters (cut, then trailing separators removed).

    Returns
    -------
    str
        Lower-case ``a-z``, digits and ``sep``, never starting or ending with
        ``sep`` (``"poblacion-hermanos-carrera"``); empty when ``text`` has no
        letter or digit.
    """
    out = re.sub(r"[^a-z0-9]+", sep, fold(text).lower()).strip(sep)
    return out[:max_length].strip(sep)


def format_number(value: float, decimals: int = 0) -> str:
    """A number written the Chilean way: ``.`` between thousands, ``,`` before decimals.

    Parameters
    ----------
    value : float
        Any finite number.
    decimals : int, default 0
        Decimal places (rounded half to even, as :func:`format` does).

    Returns
    -------
    str
        ``format_number(7238.29, 2)`` -> ``"7.238,29"``; ``format_number(-1500)`` -> ``"-1.500"``.
    """
    return f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def format_mb(n_bytes: float, decimals: int = 1) -> str:
    """A size in bytes as megabytes (MiB), the Chilean way: ``1153434`` -> ``"1,1 MB"``.

    Parameters
    ----------
    n_bytes : float
        Size in bytes.
    decimals : int, default 1
        Decimal places shown.

    Returns
    -------
    str
        ``"<n> MB"`` with a decimal comma (thousands are not grouped: ``"1024,0 MB"``).
    """
    return f"{n_bytes / MB:.{decimals}f}".replace(".", ",") + " MB"
