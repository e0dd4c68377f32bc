"""Read a spreadsheet ledger (CSV or Excel .xlsx) into a frame of text cells, at the edge."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from twin.errors import SchemaError, SourceError

__all__ = ["read_sheet"]

_CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def read_sheet(path: str | os.PathLike, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a CSV (UTF-8 or GB18030, as Chinese Excel saves it) or ``.xlsx`` file.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.txt`` or ``.xlsx`` file with one header row.
    sheet : str or int
        Worksheet of an Excel file (first by default).

    Returns
    -------
    DataFrame
        Every cell as read (strings for CSV; Excel dates stay dates), blank rows
        dropped; index ``i`` is spreadsheet row ``i + 2`` (row 1 is the header).

    Raises
    ------
    SourceError
        The file is missing or unreadable.
    SchemaError
        An unsupported suffix, or no data rows.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such file; give the path of the ledger (CSV or .xlsx)"
        raise SourceError(msg)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        frame = None
        for enc in _CSV_ENCODINGS:
            try:
                frame = pd.read_csv(p, dtype=str, encoding=enc, keep_default_na=False,
                                    skipinitialspace=True)
                break
            except UnicodeDecodeError:
                continue
            except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                msg = f"{p}: not a readable CSV table ({exc}); save it as CSV with one header row"
                raise SourceError(msg) from exc
        if frame is None:
            msg = f"{p}: neither UTF-8 nor GB18030 text; save the CSV as UTF-8"
            raise SourceError(msg)
    elif suffix in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(p, sheet_name=sheet, engine="openpyxl")
        except (ValueError, KeyError, OSError) as exc:
            msg = f"{p}: cannot read worksheet {sheet!r} ({exc}); save it as .xlsx with one header row"
            raise SourceError(msg) from exc
    else:
        msg = f"{p}: ledgers are read from .csv or .xlsx, not {suffix or 'a file without suffix'}"
        raise SchemaError(msg)
    frame = frame.dropna(how="all")
    frame = frame.loc[~(frame.astype(str).apply(lambda c: c.str.strip()) == "").all(axis=1)]
    if frame.empty:
        msg = f"{p}: the ledger has a header but no rows"
        raise SchemaError(msg)
    return frame
