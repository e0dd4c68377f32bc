"""Installation ledgers: the energy bureau's records of what has been built, brought to schema.

:func:`conform_ledger` maps a spreadsheet's columns (Chinese or English headers, as
listed in ``data/ledger/ledger.toml``) to :data:`twin.schema.LEDGERS`, resolves
districts by adcode or name, converts capacities to MW, parses dates and refuses a
bad ledger as a whole with one :class:`~twin.errors.SchemaError` naming the
spreadsheet rows (row 1 is the header) and the fix: unknown district or kind,
negative or missing capacity, dates before ``earliest_year`` or in the future,
duplicate ids. Pure: no files, no catalog.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from twin.errors import SchemaError, listing
from twin.schema import FIELDS, INSTALL_KINDS, LEDGERS
from twin.trajectory import ledger_settings as ledger_config

__all__ = ["conform_ledger", "ledger_config", "norm_header"]


def norm_header(text: object) -> str:
    """A header or term compared loosely: trimmed, lower case, no spaces, ASCII brackets."""
    s = str(text).strip().lower().replace("（", "(").replace("）", ")").replace("，", ",")
    return re.sub(r"\s+", "", s)


def _rows(index: pd.Index) -> str:
    return listing([int(i) + 2 for i in index])


def _match_columns(raw: pd.DataFrame, ledger: str, where: str) -> tuple[dict[str, str], float | None]:
    """Ledger concept -> input column; and a capacity unit named by the header."""
    aliases = ledger_config()["columns"][ledger]
    units = {norm_header(k): float(v) for k, v in ledger_config()["units"].items()}
    headers = {norm_header(c): c for c in raw.columns}
    found: dict[str, str] = {}
    header_unit: float | None = None
    for concept, names in aliases.items():
        for name in names:
            key = norm_header(name)
            if key in headers and headers[key] not in found.values():
                found[concept] = headers[key]
                break
        if concept == "capacity" and concept not in found:
            # 装机容量(MW), capacity_kw, 装机容量(万千瓦) ...
            for key, col in headers.items():
                m = re.fullmatch(r"(.+?)[(_\[](.+?)\)?\]?", key)
                if m and m.group(1) in {norm_header(n) for n in names} and m.group(2) in units:
                    found[concept], header_unit = col, units[m.group(2)]
                    break
    required = {"pv_installations": ("project_id", "district", "kind", "capacity", "date"),
                "charging_installations": ("station_id", "district", "piles", "date")}[ledger]
    missing = [c for c in required if c not in found]
    if missing:
        hints = "; ".join(f"{c}: {' / '.join(aliases[c][:4])}" for c in missing)
        msg = (f"{where}: no column for {', '.join(missing)} (headers are {listing(raw.columns)}); "
               f"name the columns as the bureau does ({hints}), see data/ledger/ledger.toml")
        raise SchemaError(msg)
    return found, header_unit


def _districts(raw: pd.Series, districts: pd.DataFrame, where: str) -> pd.Series:
    """Resolve adcodes, Chinese names (with or without 区/县/市) and English names."""
    lookup: dict[str, str] = {}
    for row in districts.itertuples(index=False):
        code = str(row.adcode)
        for key in (code, row.name_zh, re.sub(r"(区|县|市)$", "", str(row.name_zh)), row.name_en,
                    re.sub(r"\s+(district|county|city)$", "", str(row.name_en).lower())):
            if str(key).strip():
                lookup.setdefault(norm_header(key), code)
    out = raw.map(lambda v: lookup.get(norm_header(v).removesuffix(".0"), ""))
    bad = out == ""
    if bad.any():
        known = ", ".join(f"{a} {z}" for a, z in zip(districts["adcode"], districts["name_zh"], strict=True))
        msg = (f"{where}: unknown district {listing(raw[bad].unique(), quote=True)} in rows "
               f"{_rows(raw.index[bad])}; use the adcode or the name of one of: {known}")
        raise SchemaError(msg)
    return out


def _dates(raw: pd.Series, where: str, today: dt.date) -> pd.Series:
    earliest = int(ledger_config()["earliest_year"])
    text = raw.map(lambda v: v if isinstance(v, (dt.date, pd.Timestamp)) else
                   str(v).strip().replace("年", "-").replace("月", "-").replace("日", "")
                   .replace("/", "-").replace(".", "-"))
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        msg = (f"{where}: unreadable date {listing(raw[bad].unique(), quote=True)} in rows "
               f"{_rows(raw.index[bad])}; write dates as YYYY-MM-DD (e.g. 2023-06-30)")
        raise SchemaError(msg)
    early = parsed.dt.year < earliest
    late = parsed.dt.date > today
    for mask, what in ((early, f"before {earliest}"), (late, f"in the future (after {today})")):
        if mask.any():
            msg = (f"{where}: dates {what} in rows {_rows(raw.index[mask])} "
                   f"({listing(parsed[mask].dt.date.astype(str).unique())}); correct the dates")
            raise SchemaError(msg)
    return parsed


def _numbers(raw: pd.Series, name: str, where: str, *, required: bool) -> pd.Series:
    text = raw.map(lambda v: str(v).replace(",", "").strip() if not pd.isna(v) else "")
    num = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = (text != "") & num.isna()
    if required:
        bad |= text == ""
    if bad.any():
        msg = (f"{where}: {name} is not a number in rows {_rows(raw.index[bad])} "
               f"({listing(raw[bad].unique(), quote=True)}); give plain numbers")
        raise SchemaError(msg)
    neg = num < 0
    if neg.any():
        msg = (f"{where}: negative {name} in rows {_rows(raw.index[neg])} "
               f"({listing(num[neg].unique())}); capacities and counts are >= 0")
        raise SchemaError(msg)
    return num.astype("float64")


def _capacity_mw(raw: pd.DataFrame, cols: dict[str, str], header_unit: float | None,
                 where: str) -> pd.Series:
    num = _numbers(raw[cols["capacity"]], "capacity", where, required=True)
    units = {norm_header(k): float(v) for k, v in ledger_config()["units"].items()}
    if "unit" in cols:
        u = raw[cols["unit"]].map(norm_header)
        factor = u.map(units)
        bad = factor.isna()
        if bad.any():
            units_bad = listing(raw.loc[bad, cols["unit"]].unique(), quote=True)
            msg = (f"{where}: unknown capacity unit {units_bad}"
                   f" in rows {_rows(raw.index[bad])}; use one of {', '.join(ledger_config()['units'])}")
            raise SchemaError(msg)
        return num * factor.astype(float)
    if header_unit is None:
        msg = (f"{where}: the capacity column {cols['capacity']!r} names no unit and there is no unit "
               "column; name it 装机容量(MW) / capacity_kw or add a 单位/unit column (MW, kW, 万千瓦)")
        raise SchemaError(msg)
    return num * header_unit


def _kinds(raw: pd.Series, where: str) -> pd.Series:
    lookup = {norm_header(a): k for k, names in ledger_config()["kinds"].items() for a in names}
    out = raw.map(lambda v: lookup.get(norm_header(v), ""))
    bad = out == ""
    if bad.any():
        msg = (f"{where}: unknown kind {listing(raw[bad].unique(), quote=True)} in rows "
               f"{_rows(raw.index[bad])}; use one of {', '.join(INSTALL_KINDS)} "
               "(or 屋顶/水面/地面/风电/储能)")
        raise SchemaError(msg)
    return out


def _booleans(raw: pd.Series, where: str) -> pd.Series:
    words = ledger_config()["booleans"]
    lookup = {norm_header(w): True for w in words["true"]} | {norm_header(w): False for w in words["false"]}
    out = raw.map(lambda v: lookup.get(norm_header(v)) if str(v).strip() else True)
    bad = out.isna()
    if bad.any():
        msg = (f"{where}: is_public must be yes/no (是/否) in rows {_rows(raw.index[bad])} "
               f"({listing(raw[bad].unique(), quote=True)})")
        raise SchemaError(msg)
    return out.astype(bool)


def conform_ledger(raw: pd.DataFrame, ledger: str, districts: pd.DataFrame, *, file: str = "<input>",
                   source: str | None = None, is_synthetic: bool = False,
                   today: dt.date | None = None) -> pd.DataFrame:
    """Validate an installation ledger and bring it to its schema, all or nothing.

    Parameters
    ----------
    raw : DataFrame
        Cells as read (:func:`layers.io.sheets.read_sheet`); index ``i`` is spreadsheet row
        ``i + 2``.
    ledger : {"pv_installations", "charging_installations"}
        Which ledger (:data:`twin.schema.LEDGERS`).
    districts : DataFrame
        The city's districts: ``adcode``, ``name_zh``, ``name_en``.
    file : str
        Name of the input, used in every message.
    source : str, optional
        Provenance (default ``"imported from FILE"``).
    is_synthetic : bool
        The ledger was generated (the demo's), not kept by the bureau.
    today : datetime.date, optional
        Dates after it are refused (default: today).

    Returns
    -------
    DataFrame
        Exactly the ledger's schema columns; capacities in MW, dates ISO 8601.

    Raises
    ------
    SchemaError
        Unknown ledger, missing columns, unknown district or kind, a capacity or count
        that is negative or not a number, dates before 2000 or in the future, duplicate
        or blank ids; the message names the spreadsheet rows.
    """
    if ledger not in LEDGERS:
        msg = f"unknown ledger {ledger!r}; choose one of {', '.join(LEDGERS)}"
        raise SchemaError(msg)
    where = f"{file} ({ledger})"
    if raw.empty:
        msg = f"{where}: the ledger has no rows"
        raise SchemaError(msg)
    today = today or dt.date.today()
    id_col, columns = LEDGERS[ledger]
    cols, header_unit = _match_columns(raw, ledger, where)
    ids = raw[cols[id_col]].map(lambda v: "" if pd.isna(v) else str(v).strip().removesuffix(".0"))
    blank = ids == ""
    if blank.any():
        msg = f"{where}: {id_col} is blank in rows {_rows(ids.index[blank])}; every row needs an id"
        raise SchemaError(msg)
    dup = ids.duplicated(keep=False)
    if dup.any():
        msg = (f"{where}: duplicate {id_col} {listing(ids[dup].unique(), quote=True)} in rows "
               f"{_rows(ids.index[dup])}; each project appears once (merge extensions into one row "
               "or give them their own ids)")
        raise SchemaError(msg)
    out = pd.DataFrame(index=raw.index)
    out[id_col] = ids
    out["name"] = raw[cols["name"]].fillna("").astype(str).str.strip() if "name" in cols else ""
    out["district_adcode"] = _districts(raw[cols["district"]], districts, where)
    date = _dates(raw[cols["date"]], where, today)
    out["in_service_date"] = date.dt.strftime("%Y-%m-%d")
    out["in_service_year"] = date.dt.year.astype("int64")
    if ledger == "pv_installations":
        out["install_kind"] = _kinds(raw[cols["kind"]], where)
        out["capacity_mw"] = _capacity_mw(raw, cols, header_unit, where)
        out["building_id"] = (raw[cols["building_id"]].fillna("").astype(str).str.strip()
                              if "building_id" in cols else "")
    else:
        piles = _numbers(raw[cols["piles"]], "piles", where, required=True)
        frac = piles % 1 != 0
        if frac.any():
            msg = f"{where}: piles must be whole numbers in rows {_rows(piles.index[frac])}"
            raise SchemaError(msg)
        out["piles"] = piles.astype("int64")
        out["power_kw"] = (_numbers(raw[cols["power_kw"]], "power_kw", where, required=False)
                           if "power_kw" in cols else np.nan)
        out["is_public"] = _booleans(raw[cols["is_public"]], where) if "is_public" in cols else True
    for axis in ("lon", "lat"):
        out[f"{axis}_deg"] = (_numbers(raw[cols[axis]], axis, where, required=False)
                              if axis in cols else np.nan)
    out["is_synthetic"] = bool(is_synthetic)
    out["source"] = source or f"imported from {file}"
    for col in columns:  # declared plausible ranges
        f = FIELDS[col]
        if f.dtype in ("float64", "int64") and (f.minimum is not None or f.maximum is not None):
            num = pd.to_numeric(out[col], errors="coerce")
            bad = (num < (f.minimum if f.minimum is not None else -np.inf)) | (
                num > (f.maximum if f.maximum is not None else np.inf))
            if bad.any():
                msg = (f"{where}: {col} outside [{f.minimum}, {f.maximum}] {f.unit} in rows "
                       f"{_rows(out.index[bad])} ({listing(num[bad].unique())}); check the unit")
                raise SchemaError(msg)
    return out[list(columns)].reset_index(drop=True)
