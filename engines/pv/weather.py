"""Hourly weather for the PV engine: readers for EPW and TMY3 files, and a validator.

Every reader returns a frame with pvlib's column names and units:

============  ==============================================  =========
column        meaning                                         unit
============  ==============================================  =========
ghi           global horizontal irradiance                    [W/m²]
dni           direct normal irradiance                        [W/m²]
dhi           diffuse horizontal irradiance                   [W/m²]
temp_air      dry-bulb air temperature                        [°C]
wind_speed    wind speed at 10 m                              [m/s]
pressure      station pressure (when the file has it)         [Pa]
albedo        ground albedo (only when every value is valid)  [-]
============  ==============================================  =========

Time convention
---------------
The index is tz-aware and **labels each hourly interval by its start**: the row
labelled 00:00 holds the energy received between 00:00 and 01:00. This is what
:func:`pvlib.iotools.read_epw` produces for EPW files (EPW hour 1, the hour ending
01:00, is labelled 00:00). TMY3 files label the interval end; :func:`read_tmy3_csv`
moves their labels back by one hour so both readers agree. The sun moves about 15°
in an hour, so solar position for an interval must be evaluated at its middle:
:func:`interval_middle` returns those times (start + 30 min).

Files whose months come from different years (typical-year files such as TMY3
or the SWERA/CSWD EPWs) are put onto one calendar year (:data:`TYPICAL_YEAR`, or
:data:`TYPICAL_LEAP_YEAR` for 8784-hour files) so the index is regular.
"""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np
import pandas as pd
import pvlib

from twin.errors import DataWarning, SchemaError, SourceError, listing, require_columns

__all__ = [
    "IRRADIANCE_COLUMNS",
    "MAX_INTERPOLATED_GAP_H",
    "NEGATIVE_IRRADIANCE_TOLERANCE",
    "PHYSICAL_RANGES",
    "REQUIRED_COLUMNS",
    "TYPICAL_LEAP_YEAR",
    "TYPICAL_YEAR",
    "check_physical_ranges",
    "interval_middle",
    "location_from_meta",
    "read_epw",
    "read_tmy3_csv",
    "validate_weather",
]

logger = logging.getLogger(__name__)

#: Columns every weather frame must have.
REQUIRED_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")
#: The irradiance columns [W/m²].
IRRADIANCE_COLUMNS = ("ghi", "dni", "dhi")
#: Calendar year given to typical-year files of 8760 hours (not a leap year).
TYPICAL_YEAR = 2019
#: Calendar year given to typical-year files of 8784 hours.
TYPICAL_LEAP_YEAR = 2020
#: ``repair=True`` clips negative irradiance down to this value [W/m²] to 0 (night-time
#: pyranometer offsets are a few W/m²); anything more negative stays an error.
NEGATIVE_IRRADIANCE_TOLERANCE = -10.0
#: Physical ranges of each column [unit]: a value outside is an error, repaired or not.
#: Irradiance: nothing at the surface exceeds 1,500 W/m² (the solar constant is 1,361 W/m²,
#: Kopp & Lean 2011, GRL 38:L01706; cloud enhancement stays under about 1.5 x clear sky);
#: air temperature: the world records are -89 and +57 °C; hourly mean wind speed: the
#: strongest typhoons sustain about 70 m/s; station pressure: 500-1,100 hPa.
PHYSICAL_RANGES: dict[str, tuple[float, float, str]] = {
    "ghi": (0.0, 1500.0, "W/m²"), "dni": (0.0, 1500.0, "W/m²"), "dhi": (0.0, 1500.0, "W/m²"),
    "temp_air": (-90.0, 60.0, "°C"), "wind_speed": (0.0, 75.0, "m/s"),
    "pressure": (50_000.0, 110_000.0, "Pa"),
}
#: ``repair=True`` linearly interpolates runs of NaN up to this many hours.
MAX_INTERPOLATED_GAP_H = 3

# EPW "missing" codes (EnergyPlus Auxiliary Programs, "Weather Converter Program",
# EPW data dictionary) for the fields we keep.
_EPW_MISSING = {
    "ghi": 9999.0,
    "dni": 9999.0,
    "dhi": 9999.0,
    "temp_air": 99.9,
    "wind_speed": 999.0,
    "pressure": 999999.0,
    "albedo": 999.0,
}




def interval_middle(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Return the middle of each interval of an interval-start-labelled index.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Regular index labelling each interval by its start (as the readers here do).

    Returns
    -------
    pandas.DatetimeIndex
        ``index`` shifted by half its step (30 min for hourly data), same time zone.
    """
    step = pd.Timedelta(hours=1) if len(index) < 2 else pd.Timedelta(index[1] - index[0])
    return index + step / 2


def location_from_meta(meta: dict) -> pvlib.location.Location:
    """Build a :class:`pvlib.location.Location` from a reader's ``meta`` dict.

    Parameters
    ----------
    meta : dict
        As returned by :func:`read_epw` or :func:`read_tmy3_csv` (keys ``latitude``,
        ``longitude``, ``altitude`` [m], ``TZ`` [h east of UTC]).

    Returns
    -------
    pvlib.location.Location
    """
    try:
        lat, lon = float(meta["latitude"]), float(meta["longitude"])
        alt, tz = float(meta.get("altitude", 0.0)), float(meta["TZ"])
    except (KeyError, TypeError, ValueError) as exc:
        msg = (f"weather meta {meta!r} lacks latitude/longitude/TZ ({exc}); pass a dict with "
               "keys 'latitude', 'longitude', 'TZ' and optionally 'altitude'")
        raise SchemaError(msg) from None
    name = meta.get("city") or meta.get("Name")
    return pvlib.location.Location(lat, lon, tz=tz, altitude=alt, name=name)


def _coerce_to_one_year(df: pd.DataFrame, path: os.PathLike[str] | str) -> pd.DataFrame:
    """Put a typical-year frame (months from several years) onto one calendar year."""
    years = df.index.year
    if (years == years[0]).all() and df.index.is_monotonic_increasing:
        return df
    year = TYPICAL_LEAP_YEAR if len(df) == 8784 else TYPICAL_YEAR
    idx = df.index
    try:
        new = pd.DatetimeIndex(
            [t.replace(year=year) for t in idx.tz_localize(None)]
        ).tz_localize(idx.tz)
    except ValueError as exc:  # e.g. 29 February onto a non-leap year
        msg = (f"{path}: cannot put the typical-year records onto calendar year {year} "
               f"({exc}); fix the file's dates")
        raise SourceError(msg) from None
    logger.info("%s: records come from years %s; relabelled onto calendar year %d",
                path, sorted(set(years)), year)
    out = df.copy()
    out.index = new
    return out.sort_index()


def _finish(df: pd.DataFrame, path: os.PathLike[str] | str, *, pressure_factor: float = 1.0) -> pd.DataFrame:
    """Select and name the kept columns; drop an invalid albedo column."""
    cols = [c for c in (*REQUIRED_COLUMNS, "pressure", "albedo") if c in df.columns]
    require_columns(df, REQUIRED_COLUMNS, f"{path}: weather file",
                    "check that it is an EPW or TMY3 file", error=SourceError)
    out = df[cols].astype("float64")
    if "pressure" in out:
        out["pressure"] = out["pressure"] * pressure_factor
    if "albedo" in out:
        alb = out["albedo"]
        if not ((alb > 0) & (alb < 1)).all():
            logger.info("%s: albedo column dropped (values not all in (0, 1): min %s, max %s);"
                        " the engine's albedo option applies", path, alb.min(), alb.max())
            out = out.drop(columns="albedo")
    out.index.name = "time"
    return out


def read_epw(path: os.PathLike[str] | str, *, coerce_year: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Read an EnergyPlus EPW weather file into a pvlib-named hourly frame.

    Parameters
    ----------
    path : str or path-like
        The ``.epw`` file.
    coerce_year : int, optional
        Put every record onto this calendar year. By default a file whose records
        come from several years (a typical-year file) is put onto
        :data:`TYPICAL_YEAR`, and a single-year file keeps its year.

    Returns
    -------
    weather : pandas.DataFrame
        Columns ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air`` [°C], ``wind_speed``
        [m/s], ``pressure`` [Pa] and ``albedo`` [-] when every value is valid
        (EPW files often carry 0 or the missing code 999). EPW missing codes become
        NaN. Index: tz-aware (fixed UTC offset of the file), each hour labelled by
        the **start** of its interval (pvlib's convention for EPW); use
        :func:`interval_middle` for solar position.
    meta : dict
        pvlib's header dict (``city``, ``latitude``, ``longitude``, ``altitude`` [m],
        ``TZ`` [h], ...) plus ``source_path``.

    Raises
    ------
    SourceError
        If the file is missing, empty or not an EPW file.

    References
    ----------
    .. [1] U.S. DOE, "EnergyPlus Auxiliary Programs", Weather Converter Program,
       EPW data dictionary (field units and missing codes).
    """
    if not os.path.isfile(path):
        msg = f"{path}: weather file not found; check the path (EPW files end in .epw)"
        raise SourceError(msg)
    try:
        raw, meta = pvlib.iotools.read_epw(path, coerce_year=coerce_year)
    except Exception as exc:  # pvlib raises assorted parser errors
        msg = (f"{path}: not a readable EPW file ({type(exc).__name__}: {exc}); "
               "check that it has the 8 EPW header lines and 35 comma-separated fields a row")
        raise SourceError(msg) from None
    if raw.empty:
        msg = f"{path}: EPW file has no data rows"
        raise SourceError(msg)
    raw = raw.rename(columns={"atmospheric_pressure": "pressure"})
    for col, code in _EPW_MISSING.items():
        if col in raw:
            raw[col] = raw[col].where(raw[col] < code, np.nan)
    df = _finish(raw, path)
    if coerce_year is None:
        df = _coerce_to_one_year(df, path)
    meta = dict(meta, source_path=str(path))
    return df, meta


def read_tmy3_csv(path: os.PathLike[str] | str, *, coerce_year: int | None = None
                  ) -> tuple[pd.DataFrame, dict]:
    """Read a TMY3-format CSV (as :func:`pvlib.iotools.read_tmy3`) into a pvlib-named frame.

    Parameters
    ----------
    path : str or path-like
        The TMY3 ``.csv`` file (a metadata line, then the data table).
    coerce_year : int, optional
        Calendar year of the records; default :data:`TYPICAL_YEAR` (TMY3 files are
        typical years stitched from several years).

    Returns
    -------
    weather : pandas.DataFrame
        Same columns and units as :func:`read_epw` (TMY3 pressure in mbar is converted
        to Pa; values of -9900 and below, TMY3's missing code, become NaN). TMY3
        timestamps mark the **end** of each hour; the index is moved back one hour so
        that, as for EPW, each row is labelled by the start of its interval.
    meta : dict
        pvlib's header dict (``Name``, ``latitude``, ``longitude``, ``altitude`` [m],
        ``TZ`` [h], ...) plus ``source_path``.

    Raises
    ------
    SourceError
        If the file is missing, empty or not in TMY3 format.

    References
    ----------
    .. [1] S. Wilcox and W. Marion, "Users Manual for TMY3 Data Sets",
       NREL/TP-581-43156, 2008, :doi:`10.2172/928611`.
    """
    if not os.path.isfile(path):
        msg = f"{path}: weather file not found; check the path"
        raise SourceError(msg)
    try:
        year = TYPICAL_YEAR if coerce_year is None else int(coerce_year)
        raw, meta = pvlib.iotools.read_tmy3(path, coerce_year=year, map_variables=True)
    except Exception as exc:  # pvlib raises assorted parser errors
        msg = (f"{path}: not a readable TMY3 CSV ({type(exc).__name__}: {exc}); the first line "
               "must be the site metadata and the second the column header")
        raise SourceError(msg) from None
    if raw.empty:
        msg = f"{path}: TMY3 file has no data rows"
        raise SourceError(msg)
    raw = raw.copy()
    raw.index = raw.index - pd.Timedelta(hours=1)  # interval end -> interval start
    for col in (*REQUIRED_COLUMNS, "pressure", "albedo"):
        if col in raw:
            raw[col] = raw[col].where(raw[col] > -9900, np.nan)
    df = _finish(raw, path, pressure_factor=100.0)  # mbar -> Pa
    meta = dict(meta, source_path=str(path))
    return df, meta


def check_physical_ranges(frame: pd.DataFrame, columns: dict[str, str], where: str, *,
                          error: type[Exception] = SchemaError) -> None:
    """Raise ``error`` naming the first rows where a column leaves its :data:`PHYSICAL_RANGES` range.

    Parameters
    ----------
    frame : pandas.DataFrame
        Hourly values on a time index.
    columns : dict
        Column of ``frame`` -> key of :data:`PHYSICAL_RANGES` (missing columns are skipped).
    where : str
        What is checked, for the message (``"weather"``, a file name).
    error : type
        The exception class.
    """
    for col, key in columns.items():
        if col not in frame.columns:
            continue
        lo, hi, unit_ = PHYSICAL_RANGES[key]
        v = frame[col].to_numpy(dtype="float64")
        out = np.flatnonzero((v < lo) | (v > hi))
        if out.size:
            shown = listing([f"{frame.index[i]}: {v[i]:g}" for i in out], 3)
            msg = (f"{where} column {col!r} is outside its physical range {lo:g} to {hi:g} {unit_} at "
                   f"{out.size} hour(s), first: {shown}; check the file's units and missing-value "
                   "codes, and fix those rows")
            raise error(msg)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Return [start, stop) of each run of True in ``mask``."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def validate_weather(
    df: pd.DataFrame, *, repair: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check an hourly weather frame for the PV engine; optionally repair small faults.

    Checks: a tz-aware, sorted, regular hourly :class:`~pandas.DatetimeIndex` of
    8760 or 8784 rows (a full year, no gaps or duplicates; a typical year whose months
    come from several years, as :func:`pvlib.iotools.read_tmy3` returns it, is first
    put onto one calendar year, like pvlib's ``coerce_year``); the columns
    :data:`REQUIRED_COLUMNS`; no NaN; no negative irradiance or wind speed;
    ``dhi <= ghi``.

    Repairs (``repair=True``), applied in this order and each one reported:

    1. irradiance in [:data:`NEGATIVE_IRRADIANCE_TOLERANCE`, 0) is set to 0;
    2. ``dhi`` above ``ghi`` is set to ``ghi``;
    3. runs of NaN of at most :data:`MAX_INTERPOLATED_GAP_H` hours, with valid values
       on both sides, are linearly interpolated (any column).

    Faults that remain after the repairs raise as without ``repair``.

    Parameters
    ----------
    df : pandas.DataFrame
        Weather frame as returned by :func:`read_epw` or :func:`read_tmy3_csv`.
    repair : bool, default False
        Apply the repairs above instead of raising for them.

    Returns
    -------
    weather : pandas.DataFrame
        ``df`` itself when nothing was repaired, else a repaired copy.
    repairs : pandas.DataFrame
        One row per repaired value: ``time``, ``column``, ``repair``, ``value_before``,
        ``value_after`` (empty when nothing was repaired). Repairs are also logged
        and summarised in a :class:`~twin.errors.DataWarning`.

    Raises
    ------
    SchemaError
        Naming the columns, the first offending timestamps and the fix.
    """
    repairs = pd.DataFrame(
        {"time": pd.Series([], dtype="object"), "column": pd.Series([], dtype="str"),
         "repair": pd.Series([], dtype="str"), "value_before": pd.Series([], dtype="float64"),
         "value_after": pd.Series([], dtype="float64")})
    if not isinstance(df, pd.DataFrame):
        msg = f"weather must be a pandas DataFrame, got {type(df).__name__}; use read_epw()"
        raise SchemaError(msg)
    require_columns(df, REQUIRED_COLUMNS, "weather", "rename them to pvlib's names "
                    f"{', '.join(REQUIRED_COLUMNS)} or read the file with read_epw()")
    for col in [c for c in (*REQUIRED_COLUMNS, "pressure", "albedo") if c in df.columns]:
        if not pd.api.types.is_numeric_dtype(df[col]):
            num = pd.to_numeric(df[col], errors="coerce")
            bad = num.isna() & df[col].notna()
            if bad.any():
                where = listing([f"row {i} ({df.index[i]}): {df[col].iloc[i]!r}"
                                 for i in np.flatnonzero(bad.to_numpy())], 3)
                msg = (f"weather column {col!r} holds {int(bad.sum())} value(s) that are not numbers, "
                       f"first: {where}; fix those cells in the file")
                raise SchemaError(msg)
            df = df.assign(**{col: num.astype("float64")})
    idx = df.index
    if not isinstance(idx, pd.DatetimeIndex):
        msg = (f"weather index is a {type(idx).__name__}, not a DatetimeIndex; set the "
               "timestamps (interval starts) as the index")
        raise SchemaError(msg)
    if idx.tz is None:
        msg = ("weather index is timezone-naive; localise it, e.g. "
               "df.tz_localize('Etc/GMT-8') for China Standard Time (UTC+8)")
        raise SchemaError(msg)
    if len(df) not in (8760, 8784):
        msg = (f"weather has {len(df)} rows; the engine needs one full hourly year "
               "(8760 or 8784 rows). Fill missing hours or use a typical-year file")
        raise SchemaError(msg)
    if len(set(idx.year)) > 1 and not idx.is_monotonic_increasing:
        # a typical year (TMY3 as pvlib's read_tmy3 returns it): months from several years.
        # Put it onto one calendar year, as pvlib's coerce_year does, then check the hours.
        df = _coerce_to_one_year(df, "weather (a typical year with months from several years)")
        idx = df.index
    step = np.asarray(idx[1:] - idx[:-1])
    bad = np.flatnonzero(step != np.timedelta64(1, "h"))
    if bad.size:
        where = listing([f"{idx[i]} -> {idx[i + 1]}" for i in bad], 5)
        msg = (f"weather index is not a regular hourly series (gap, duplicate or unsorted) at: "
               f"{where}; sort it by time and fill the missing hours (a typical year whose months "
               "come from several years is put onto one year by itself)")
        raise SchemaError(msg)

    work = df
    records = []

    def _record(col: str, mask: np.ndarray, repair_name: str, before: np.ndarray, after: np.ndarray
                ) -> None:
        for t, b, a in zip(idx[mask], before[mask], after[mask], strict=True):
            records.append((t, col, repair_name, float(b), float(a)))

    if repair:
        work = df.copy()
        for col in IRRADIANCE_COLUMNS:
            v = work[col].to_numpy(dtype="float64")
            mask = (v < 0) & (v >= NEGATIVE_IRRADIANCE_TOLERANCE)
            if mask.any():
                new = np.where(mask, 0.0, v)
                _record(col, mask, "clip_negative_to_0", v, new)
                work[col] = new
        ghi = work["ghi"].to_numpy(dtype="float64")
        dhi = work["dhi"].to_numpy(dtype="float64")
        mask = dhi > ghi
        if mask.any():
            new = np.where(mask, ghi, dhi)
            _record("dhi", mask, "cap_dhi_at_ghi", dhi, new)
            work["dhi"] = new
        for col in work.columns:
            v = work[col].to_numpy(dtype="float64")
            isna = np.isnan(v)
            if not isna.any():
                continue
            fill = np.zeros(len(v), dtype=bool)
            for a, b in _runs(isna):
                if b - a <= MAX_INTERPOLATED_GAP_H and a > 0 and b < len(v):
                    fill[a:b] = True
            if fill.any():
                pos = np.arange(len(v))
                new = v.copy()
                new[fill] = np.interp(pos[fill], pos[~isna], v[~isna])
                _record(col, fill, "interpolate_nan", v, new)
                work[col] = new

    cols = list(work.columns)
    na = work.isna().to_numpy()
    if na.any():
        rows = np.flatnonzero(na.any(axis=1))
        bad_cols = [c for c, m in zip(cols, na.any(axis=0), strict=True) if m]
        hint = ("fill the gaps in the file (in Python, engines.pv.weather.validate_weather(weather, "
                f"repair=True) interpolates runs of up to {MAX_INTERPOLATED_GAP_H} h)")
        msg = (f"weather has NaN in column(s) {bad_cols} at {len(rows)} hour(s), first: "
               f"{listing(idx[rows], 5)}; {hint}")
        raise SchemaError(msg)
    for col in (*IRRADIANCE_COLUMNS, "wind_speed"):
        v = work[col].to_numpy(dtype="float64")
        neg = np.flatnonzero(v < 0)
        if neg.size:
            fix = ("fix the file (in Python, engines.pv.weather.validate_weather(weather, repair=True) "
                   f"sets values down to {NEGATIVE_IRRADIANCE_TOLERANCE} W/m² to 0; larger negatives "
                   "are bad data to fix at the source)"
                   if col != "wind_speed" else "wind speed cannot be negative; fix the source")
            msg = (f"weather column {col!r} is negative at {neg.size} hour(s), first: "
                   f"{listing(idx[neg], 5)} (min {v.min():.3g}); {fix}")
            raise SchemaError(msg)
    check_physical_ranges(work, {c: c for c in PHYSICAL_RANGES}, "weather")
    over = np.flatnonzero(work["dhi"].to_numpy() > work["ghi"].to_numpy())
    if over.size:
        msg = (f"weather column 'dhi' exceeds 'ghi' at {over.size} hour(s), first: "
               f"{listing(idx[over], 5)}; diffuse cannot exceed global irradiance "
               "(in Python, engines.pv.weather.validate_weather(weather, repair=True) caps dhi at ghi)")
        raise SchemaError(msg)

    if records:
        repairs = pd.DataFrame.from_records(
            records, columns=["time", "column", "repair", "value_before", "value_after"])
        summary = repairs.groupby(["column", "repair"]).size()
        text = "; ".join(f"{c} {r}: {n} h" for (c, r), n in summary.items())
        logger.warning("weather repaired: %s", text)
        warnings.warn(f"weather repaired: {text} (see the returned repairs table)",
                      DataWarning, stacklevel=2)
    return work, repairs
