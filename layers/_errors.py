"""Exceptions of the domain layer.

Every exception is a :class:`SitError` that carries

- ``code``: a stable, machine-readable reason (``"layer_exists"``, ``"crs_missing"``...);
- ``data``: a dict with the values a message needs (layer name, file name, CRS codes...);
- ``str(exc)``: a one-line Spanish sentence that reads right anywhere, because it names
  no command-line option and no form field.

The edges (``cli.py`` and the pages) phrase the *hint* that depends on where the
person is: the command line says ``use --replace``, the app says ``marque
«Reemplazar si existe»``. They look the hint up by ``code`` (see ``cli.py``'s
``HINTS`` and the app's own table); the domain never does.

One-line classes, in the spirit of OSMnx's ``_errors.py``; the class tells code
*what kind* of thing went wrong, the ``code`` tells the edges *which* one.
"""

from __future__ import annotations

from typing import Any


class SitError(Exception):
    """An error whose message can be shown to a person as is.

    Parameters
    ----------
    message : str
        One-line Spanish sentence, with no command-line option or form label in it.
    code : str, optional
        Stable reason for the edges (defaults to the class's :attr:`default_code`).
    **data
        Values the edges may need to phrase a hint (``layer="uv"``, ``crs="EPSG:24879"``).
    """

    default_code = "error"

    def __init__(self, message: str = "", *, code: str | None = None, **data: Any) -> None:
        super().__init__(message)
        self.code: str = code or self.default_code
        self.data: dict[str, Any] = data

    def __str__(self) -> str:  # KeyError subclasses would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class UnknownLayerError(SitError, KeyError):
    """A layer name that the store does not hold."""

    default_code = "unknown_layer"


class UnknownTerritoryError(SitError, KeyError):
    """A territory slug that no territory layer holds."""

    default_code = "unknown_territory"


class InvalidFilterError(SitError, ValueError):
    """A filter value (strategy, plan, type, scope, format) that the system does not know."""

    default_code = "invalid_filter"


class DataValidationError(SitError, ValueError):
    """Shipped or imported data that breaks the rules of its layer."""

    default_code = "invalid_data"


class InputFileError(SitError, ValueError):
    """A file given by a person that cannot be read or accepted."""

    default_code = "bad_file"
