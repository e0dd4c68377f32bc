"""The project's small exception tree.

Every error we raise derives from :class:`TwinError` and from the builtin that
best describes it, so callers can catch either ours or the builtin.

Messages are built first and then raised (``msg = ...; raise X(msg)``); each
names the file, the rows or columns, and the fix.
"""

from collections.abc import Iterable
from typing import Any

__all__ = [
    "CRSWarning",
    "CatalogError",
    "CatalogLockedError",
    "ConfigError",
    "DataWarning",
    "QueryTimeoutError",
    "SchemaError",
    "SourceError",
    "TwinError",
    "listing",
    "require_columns",
]


def listing(values: Iterable[object], limit: int = 10, *, quote: bool = False) -> str:
    """The first ``limit`` values for an error message: ``"a, b, c (and 7 more)"``.

    ``quote`` shows each value with ``repr`` (useful for labels that may be blank).
    """
    values = list(values)
    fmt = repr if quote else str
    shown = ", ".join(fmt(v) for v in values[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


def require_columns(frame: Any, columns: Iterable[str], where: str, fix: str, *,
                    error: type[Exception] | None = None) -> None:
    """Raise one error naming every column of ``columns`` that ``frame`` lacks.

    The message reads ``"<where>: missing required column(s) a, b; found x, y; <fix>"``
    (the frame's geometry column is not listed among those found).

    Parameters
    ----------
    frame : pandas.DataFrame
        Any object with ``columns`` (a GeoDataFrame, a DataFrame).
    columns : iterable of str
        The columns the caller needs, in the order they should be named.
    where : str
        What is checked: a file, a layer, a function's input (``"facets"``).
    fix : str
        How to fix it (``"rename them to ..."``).
    error : type, optional
        The exception class (default :class:`SchemaError`; :class:`ConfigError` for a
        configuration table, :class:`SourceError` for a file).
    """
    have = set(frame.columns)
    missing = [c for c in columns if c not in have]
    if not missing:
        return
    geometry = getattr(getattr(frame, "geometry", None), "name", None)
    found = [str(c) for c in frame.columns if c != geometry]
    msg = (f"{where}: missing required column(s) {listing(missing, 20)}; "
           f"found {listing(found, 20) or 'none'}; {fix}")
    raise (error or SchemaError)(msg)


class TwinError(Exception):
    """Root of every error raised by carbon-twin."""


class ConfigError(TwinError, ValueError):
    """A city config, target table, scenario or option is invalid."""


class SchemaError(TwinError, ValueError):
    """A layer does not match its declared schema (columns, types, values, CRS)."""


class SourceError(TwinError, OSError):
    """An input file is missing, empty, truncated, unreadable or badly encoded."""


class CatalogError(TwinError, RuntimeError):
    """A built twin (its catalog or layer files) is missing, locked or inconsistent."""


class CatalogLockedError(CatalogError):
    """A catalog is locked/busy: another process is writing it or holds it open; try again."""

    #: True when this process itself holds the catalog open in another mode (waiting cannot help).
    in_process: bool = False


class QueryTimeoutError(CatalogError):
    """A catalog query ran past its time limit and was stopped (narrow it and ask again)."""


class CRSWarning(UserWarning):
    """Suspicious but legal coordinate-system use (e.g. a reprojection was applied)."""


class DataWarning(UserWarning):
    """Suspicious but legal data (e.g. rows repaired on import)."""
