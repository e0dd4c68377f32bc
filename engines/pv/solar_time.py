"""Does a weather file tell the right time? Solar-geometry and consistency checks of hourly irradiance.

A weather file whose time stamps are off by an hour looks plausible, passes every range
check, and makes east roofs yield 15 % less than west roofs. The sun says when noon is,
so the file can be checked against it:

* **Timing** (:func:`check_weather`): on every day, the irradiance-weighted centroid
  of the file's GHI (each hour at its interval middle) is set against the centroid of
  a clear sky computed the same way (Haurwitz model, symmetric about solar noon). The
  median difference over the year is the file's offset [h]. A morning / afternoon
  clearness index (GHI over clear-sky GHI before and after solar noon) shows the same
  thing independently: a true file is about symmetric.
* **Closure**: DNI x cos(zenith) + DHI against GHI in daylight; a file whose components
  were shifted against the sun falls short of 1, more in the afternoon.
* **Night irradiance**: hours whose whole interval has the sun below the horizon but
  GHI above 5 W/m2.

:func:`correct_time_shift` applies an unambiguous whole- or half-hour correction
(reported), and refuses, with the fix, when the offset is not close to one.

References
----------
.. [1] Haurwitz, B. (1945). Insolation in relation to cloudiness and cloud density.
   Journal of Meteorology 2, 154-166 (the clear-sky model, via pvlib.clearsky.haurwitz).
.. [2] Perez, R. et al. (1990). Making full use of the clearness index for parameterizing
   hourly insolation conditions. Solar Energy 45(2), 111-114 (hourly consistency of
   GHI, DNI, DHI).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pvlib

from engines.pv.weather import interval_middle
from twin.errors import SchemaError

__all__ = ["MAX_ABS_OFFSET_H", "OFFSET_OK_H", "WeatherCheck", "check_weather", "correct_time_shift",
           "read_checked_weather", "shift_weather"]

#: An offset this small [h] needs no correction.
OFFSET_OK_H = 0.25
#: Offsets are corrected only when this close [h] to a whole or half hour.
SNAP_TOLERANCE_H = 0.2
#: Larger offsets are refused (a wrong time zone, not a labelling convention) [h].
MAX_ABS_OFFSET_H = 3.0
#: Night hours count when GHI exceeds this [W/m2].
NIGHT_GHI_W_PER_M2 = 5.0


@dataclass(frozen=True)
class WeatherCheck:
    """What the checks found in a weather series.

    Attributes
    ----------
    offset_h : float
        Median daily offset of the GHI centroid from the clear-sky centroid [h];
        positive = the file's irradiance comes late.
    morning_clearness, afternoon_clearness : float
        GHI over clear-sky GHI before / after solar noon [-].
    closure_ratio, closure_morning, closure_afternoon : float
        (DNI cos z + DHI) / GHI in daylight (zenith < 85 deg), all day / mornings / afternoons [-].
    night_hours : int
        Hours with the sun below the horizon for the whole hour but GHI > 5 W/m2.
    ghi_kwh_per_m2 : float
        Annual global horizontal irradiation [kWh/m2].
    shift_h : float
        The correction applied to the file (0 when none) [h].
    status : str
        ``"ok"``, ``"offset"`` (off the sun, not corrected) or ``"corrected"``.
    notes : list of str
        What a reader should know, in words.
    """

    offset_h: float
    morning_clearness: float
    afternoon_clearness: float
    closure_ratio: float
    closure_morning: float
    closure_afternoon: float
    night_hours: int
    ghi_kwh_per_m2: float
    shift_h: float = 0.0
    status: str = "ok"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-safe dict (for run metadata and ``twin info``)."""
        d = asdict(self)
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def _ratio(a: np.ndarray, b: np.ndarray) -> float:
    s = float(np.sum(b))
    return float(np.sum(a) / s) if s > 0 else float("nan")


def check_weather(weather: pd.DataFrame, location: pvlib.location.Location) -> WeatherCheck:
    """Timing, closure and night checks of an hourly weather series (start-of-hour labels).

    Parameters
    ----------
    weather : pandas.DataFrame
        ``ghi``, ``dni``, ``dhi`` [W/m2] on a tz-aware hourly index labelling each
        interval by its start (:mod:`engines.pv.weather`).
    location : pvlib.location.Location

    Returns
    -------
    WeatherCheck
        With ``shift_h = 0`` and ``status`` ``"ok"`` when ``|offset_h| <= OFFSET_OK_H``,
        else ``"offset"`` (see :func:`correct_time_shift`).
    """
    for col in ("ghi", "dni", "dhi"):
        if col not in weather.columns:
            msg = f"weather has no {col!r} column; the timing checks need ghi, dni and dhi"
            raise SchemaError(msg)
    idx = weather.index
    mid = interval_middle(idx)
    sp = location.get_solarposition(mid)
    zen = sp["apparent_zenith"].to_numpy(float)
    clear = pvlib.clearsky.haurwitz(sp["apparent_zenith"])["ghi"].to_numpy(float)
    ghi = weather["ghi"].to_numpy(float)
    t = (mid.hour + mid.minute / 60.0).to_numpy(float)
    day = np.asarray(mid.year * 1000 + mid.day_of_year)
    codes, _ = pd.factorize(day)
    n = int(codes.max()) + 1 if len(codes) else 0

    def centroid(w: np.ndarray) -> np.ndarray:
        s = np.bincount(codes, weights=w, minlength=n)
        st = np.bincount(codes, weights=w * t, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(s > 0, st / s, np.nan)

    c_obs, c_clear = centroid(ghi), centroid(clear)
    daily = np.bincount(codes, weights=ghi, minlength=n)
    usable = np.isfinite(c_obs) & np.isfinite(c_clear) & (daily > 0.2 * np.nanmedian(daily))
    offset = float(np.median((c_obs - c_clear)[usable])) if usable.any() else float("nan")

    noon = c_clear[codes]
    am, pm = t < noon, t >= noon
    daylight = zen < 85.0
    comp = weather["dni"].to_numpy(float) * np.cos(np.radians(zen)) + weather["dhi"].to_numpy(float)
    start_el = location.get_solarposition(idx)["elevation"].to_numpy(float)
    end_el = location.get_solarposition(idx + pd.Timedelta(hours=1))["elevation"].to_numpy(float)
    night = (start_el < 0) & (end_el < 0) & (ghi > NIGHT_GHI_W_PER_M2)
    check = WeatherCheck(
        offset_h=offset, morning_clearness=_ratio(ghi[am], clear[am]),
        afternoon_clearness=_ratio(ghi[pm], clear[pm]),
        closure_ratio=_ratio(comp[daylight], ghi[daylight]),
        closure_morning=_ratio(comp[daylight & am], ghi[daylight & am]),
        closure_afternoon=_ratio(comp[daylight & pm], ghi[daylight & pm]),
        night_hours=int(night.sum()), ghi_kwh_per_m2=float(ghi.sum() / 1000.0),
        status="ok" if np.isfinite(offset) and abs(offset) <= OFFSET_OK_H else "offset",
    )
    notes = []
    if check.night_hours:
        notes.append(f"{check.night_hours} hours with GHI > {NIGHT_GHI_W_PER_M2:g} W/m2 while the sun "
                     "is below the horizon for the whole hour")
    if np.isfinite(check.closure_ratio) and abs(check.closure_ratio - 1.0) > 0.03:
        notes.append(f"DNI cos z + DHI is {check.closure_ratio:.3f} of GHI in daylight "
                     f"({check.closure_morning:.3f} mornings, {check.closure_afternoon:.3f} afternoons)")
    return WeatherCheck(**{**asdict(check), "notes": notes})


def shift_weather(weather: pd.DataFrame, shift_h: float) -> pd.DataFrame:
    """Move every value ``shift_h`` hours later (negative: earlier) on the same index.

    Whole hours roll the rows (the year wraps around, so it stays complete); a half
    hour averages neighbouring hours. Used only through :func:`correct_time_shift`.
    """
    steps = shift_h * 2.0
    if not np.isclose(steps, round(steps)):
        msg = f"shift {shift_h} h is not a multiple of half an hour"
        raise SchemaError(msg)
    whole = int(np.floor(shift_h))
    frac = shift_h - whole
    num = weather.select_dtypes("number")
    vals = np.roll(num.to_numpy(float), whole, axis=0)
    if frac:
        vals = 0.5 * (vals + np.roll(vals, 1, axis=0))
    out = weather.copy()
    out[num.columns] = vals
    return out


def correct_time_shift(weather: pd.DataFrame, location: pvlib.location.Location, *,
                       shift_h: float | None = None,
                       name: str = "weather") -> tuple[pd.DataFrame, WeatherCheck]:
    """Check a series and correct its time stamps when the offset is unambiguous.

    Parameters
    ----------
    weather : pandas.DataFrame
    location : pvlib.location.Location
    shift_h : float, optional
        A correction to apply as given [h] (e.g. ``-1``), skipping the automatic
        choice; ``0`` keeps the file as it is.
    name : str
        The file name, for messages.

    Returns
    -------
    weather : pandas.DataFrame
        The series, corrected if needed.
    check : WeatherCheck
        The checks of the returned series, with ``shift_h`` and ``status`` set.

    Raises
    ------
    SchemaError
        The offset is neither small nor close to a whole or half hour, or correcting
        it does not make mornings and afternoons more alike: the message gives the
        offset and the fix.
    """
    first = check_weather(weather, location)
    if shift_h is None:
        off = first.offset_h
        if not np.isfinite(off):
            msg = f"{name}: no day with enough irradiance to check the timing; is GHI all zero?"
            raise SchemaError(msg)
        if abs(off) <= OFFSET_OK_H:
            return weather, first
        snap = round(off * 2.0) / 2.0
        if abs(off) > MAX_ABS_OFFSET_H or abs(off - snap) > SNAP_TOLERANCE_H:
            msg = (f"{name}: its irradiance is {off:+.2f} h off the sun (median daily centroid against "
                   "a clear sky), neither small nor close to a whole or half hour; check the file's "
                   "time zone and labelling, or set the correction explicitly (weather_shift_h)")
            raise SchemaError(msg)
        shift_h = -snap
    if shift_h == 0:
        return weather, first
    fixed = shift_weather(weather, shift_h)
    after = check_weather(fixed, location)
    before_asym = abs(first.morning_clearness - first.afternoon_clearness)
    after_asym = abs(after.morning_clearness - after.afternoon_clearness)
    if not abs(after.offset_h) < abs(first.offset_h) or not after_asym < before_asym:
        msg = (f"{name}: shifting by {shift_h:+g} h does not bring the irradiance closer to the sun "
               f"(offset {first.offset_h:+.2f} -> {after.offset_h:+.2f} h); check the file's time zone")
        raise SchemaError(msg)
    note = (f"time stamps corrected by {shift_h:+g} h: irradiance centroid {first.offset_h:+.2f} h -> "
            f"{after.offset_h:+.2f} h off a clear sky; morning/afternoon clearness "
            f"{first.morning_clearness:.2f}/{first.afternoon_clearness:.2f} -> "
            f"{after.morning_clearness:.2f}/{after.afternoon_clearness:.2f}")
    check = WeatherCheck(**{**asdict(after), "shift_h": float(shift_h), "status": "corrected",
                            "notes": [note, *after.notes]})
    return fixed, check


def read_checked_weather(path: os.PathLike[str] | str, location: pvlib.location.Location, *,
                         shift_h: float | None = None) -> tuple[pd.DataFrame, WeatherCheck]:
    """Read an EPW (or TMY3 CSV) file, validate it and correct its time stamps where unambiguous.

    The one door through which irradiance enters the PV engines.

    Parameters
    ----------
    path : path-like
        ``.epw`` or TMY3 ``.csv`` file.
    location : pvlib.location.Location
    shift_h : float, optional
        A correction to apply as given [h]; ``None`` chooses it from the sun
        (:func:`correct_time_shift`), ``0`` keeps the file as it is.

    Returns
    -------
    weather : pandas.DataFrame
    check : WeatherCheck
    """
    from pathlib import Path

    from engines.pv.weather import read_epw, read_tmy3_csv, validate_weather

    path = Path(path)
    weather, _meta = read_tmy3_csv(path) if path.suffix.lower() == ".csv" else read_epw(path)
    weather, _ = validate_weather(weather)
    return correct_time_shift(weather, location, shift_h=shift_h, name=path.name)
