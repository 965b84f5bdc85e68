"""Small text helpers shared by the domain and the edges: one home each.

- :func:`fold`: text without accents (``"Población"`` -> ``"Poblacion"``), to compare
  names typed by people with names in the data;
- :func:`slugify`: an ASCII identifier made from a name (``"poblacion-hermanos-carrera"``);
- :func:`format_number`: a number written the Chilean way (``7.238,29``);
- :func:`format_mb`: a size in bytes as megabytes (``"1,1 MB"``);
- :func:`one_line`: a value from a file or a link shown inside a message: one line, bounded;
- :func:`os_error_reason`: why the system refused to read or write a file, in
  Spanish (``"no queda espacio en el disco"``), from an :class:`OSError` or from
  the text of a GDAL or SQLite error (:func:`guess_errno`).

Pure functions on ``str`` and numbers, with no I/O and no third-party imports.
"""

from __future__ import annotations

import errno
import re
import unicodedata

__all__ = ["fold", "slugify", "format_number", "format_mb", "one_line", "MB", "guess_errno", "os_error_reason"]

#: Bytes in one megabyte as this project counts them (MiB, 1024 × 1024).
MB = 1024 * 1024
_CONTROL_RUN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def one_line(value: object, max_length: int = 60) -> str:
    """``value`` as text fit to quote inside a one-line message.

    Runs of whitespace and control characters (line breaks, tabs, C0 and C1 codes)
    become one space, the ends are stripped, and text longer than ``max_length``
    characters is cut with ``…``.

    Parameters
    ----------
    value : object
        A field name, a cell or a link parameter, as read.
    max_length : int
        Longest result, in characters (at least 2).

    Returns
    -------
    str
        One line of at most ``max_length`` characters (possibly empty).
    """
    text = _CONTROL_RUN.sub(" ", str(value)).strip()
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


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


#: Spanish reason for the system errors people meet when reading or writing files.
_OS_REASONS: dict[int, str] = {
    errno.ENOENT: "la ruta no existe o la carpeta no admite archivos nuevos",
    errno.EACCES: "no hay permiso para escribir ahí",
    errno.EPERM: "no hay permiso para escribir ahí",
    errno.EROFS: "el sistema de archivos es de solo lectura",
    errno.ENOSPC: "no queda espacio en el disco",
    errno.EDQUOT: "se agotó la cuota de disco",
    errno.EISDIR: "es una carpeta, no un archivo",
    errno.ENOTDIR: "una parte de la ruta no es una carpeta",
    errno.ENAMETOOLONG: "el nombre es demasiado largo",
    errno.EIO: "error de lectura o escritura del disco",
    errno.EFBIG: "el archivo excede el tamaño que admite el sistema",
    errno.EMFILE: "hay demasiados archivos abiertos",
}

#: Text of GDAL and SQLite messages that carry no errno, and the errno they mean.
_MESSAGE_ERRNO = (
    ("disk is full", errno.ENOSPC),
    ("no space left", errno.ENOSPC),
    ("read-only", errno.EROFS),
    ("readonly", errno.EROFS),
    ("permission denied", errno.EACCES),
    ("no such file or directory", errno.ENOENT),
    ("is a directory", errno.EISDIR),
    ("not a directory", errno.ENOTDIR),
)


def guess_errno(exc: BaseException) -> int | None:
    """The system error number behind ``exc``, or None when it cannot be told.

    An :class:`OSError` gives its own ``errno``; other errors (GDAL's
    ``DataSourceError``, SQLite's ``OperationalError``) are recognised by the
    English text the libraries write (``"database or disk is full"``).
    """
    code = getattr(exc, "errno", None)
    if isinstance(code, int):
        return code
    message = str(exc).lower()
    return next((number for text, number in _MESSAGE_ERRNO if text in message), None)


def os_error_reason(error: BaseException | int | None) -> str:
    """Why the system refused a file operation, in Spanish, without a trailing period.

    Parameters
    ----------
    error : BaseException or int or None
        An exception (see :func:`guess_errno`) or an errno number.

    Returns
    -------
    str
        ``"no queda espacio en el disco"``, ``"el sistema de archivos es de solo
        lectura"``...; ``"error del sistema (EXXX)"`` for other numbers and
        ``"error del sistema"`` when nothing is known.
    """
    code = error if isinstance(error, int) or error is None else guess_errno(error)
    if code is None:
        return "error del sistema"
    return _OS_REASONS.get(code, f"error del sistema ({errno.errorcode.get(code, code)})")
