"""Exceptions of the domain layer.

Each exception carries a one-line Spanish message meant for people (``str(exc)``);
the class says precisely what went wrong for code. The command line prints the
message and exits with status 2; the app shows it with ``st.error``.
"""

from __future__ import annotations


class SitError(Exception):
    """Base class: an error whose message can be shown to a person as is."""


class UnknownLayerError(SitError, KeyError):
    """A layer name that the store does not hold."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class UnknownTerritoryError(SitError, KeyError):
    """A territory slug that no territory layer holds."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidFilterError(SitError, ValueError):
    """A filter value (strategy, plan, type, scope) that the catalogue does not know."""


class DataValidationError(SitError, ValueError):
    """Shipped or imported data that breaks the rules of its layer."""


class InputFileError(SitError, ValueError):
    """A file given by a person that cannot be read or accepted."""
