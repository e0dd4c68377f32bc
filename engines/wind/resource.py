"""Wind resource and turbine energy for distributed-wind screening.

Two ways to a hub-height wind resource:

* **Raster** (preferred): a hub-height mean wind-speed GeoTIFF (Global Wind Atlas
  style) imported into the twin as the ``wind_speed`` raster; the station's hourly
  series is scaled to the raster's mean at each site (:func:`energy_for_mean_speeds`),
  so the hour-to-hour shape (and Weibull shape ``k``) is the station's and the level
  is the atlas's.
* **Station screening estimate** (fallback): the 10 m wind of the weather file
  (EPW, :func:`read_station_wind`) extrapolated to hub height (:func:`extrapolate_wind`)
  in two steps: up to a blending height with the station's own roughness, then
  down to hub height with the site's roughness from land cover
  (:data:`ROUGHNESS_LENGTH_M`). It is labelled a *screening estimate* wherever shown:
  a single city station (Hangzhou 584570: mean 10 m wind about 2.1 m/s) is a poor
  guide to hill-top wind.

Energy (:func:`turbine_energy_kwh`) comes from the real manufacturer power curves of
windpowerlib's turbine library (OEDB data shipped in its wheel), with the same
interpolation and air-density correction as windpowerlib's ``ModelChain``
(``power_curve`` / ``power_curve_density_correction``), vectorised over hours.

References
----------
.. [1] Haas, S., Krien, U., Schachler, B. et al. (2024). wind-python/windpowerlib:
   Python library to model the output of wind farms, v0.2.2. doi:10.5281/zenodo.824267
.. [2] Svenningsen, L. (2010). Power curve air density correction and other power
   curve options in WindPRO. EMD International: the density correction with the
   exponent ramping from 1/3 to 2/3 between 7.5 and 12.5 m/s, the WindPRO method that
   windpowerlib implements (IEC 61400-12-1 itself scales wind speed with the exponent 1/3
   only, for pitch-regulated turbines).
.. [3] Wieringa, J. (1986). Roughness-dependent geographical interpolation of
   surface wind speed averages. Q. J. R. Meteorol. Soc. 112, 867-889.
   doi:10.1002/qj.49711247316 (blending-height method).
.. [4] Wieringa, J. (1992). Updating the Davenport roughness classification.
   J. Wind Eng. Ind. Aerodyn. 41-44, 357-368. doi:10.1016/0167-6105(92)90434-C
.. [5] Silva, J., Ribeiro, C., Guedes, R. (2007). Roughness length classification of
   Corine Land Cover classes. Proc. European Wind Energy Conference (EWEC), Milan.
.. [6] Troen, I., Petersen, E. L. (1989). European Wind Atlas. Risø National
   Laboratory, Roskilde (WAsP roughness classes; water 0.0002 m).
.. [7] Counihan, J. (1975). Adiabatic atmospheric boundary layers: a review and
   analysis of data from the period 1880-1972. Atmos. Environ. 9, 871-905.
   doi:10.1016/0004-6981(75)90088-8 (power-law exponent from roughness length).
.. [8] WMO (2018). Guide to Instruments and Methods of Observation (WMO-No. 8),
   Vol. I, ch. 5: standard 10 m wind exposure over open terrain (z0 about 0.03 m).
.. [9] Barthelmie, R. J. et al. (2010). Quantifying the impact of wind turbine wakes
   on power output at offshore wind farms. J. Atmos. Oceanic Technol. 27, 1302-1317.
   doi:10.1175/2010JTECHA1398.1 (wake losses of ~10-20 % in arrays).
.. [10] IEC TS 61400-26-1:2011, Time-based availability for wind turbine generating
   systems; NREL Annual Technology Baseline 2023, Land-based wind (availability
   losses of a few percent).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from engines.pv.weather import TYPICAL_YEAR, check_physical_ranges
from twin.errors import ConfigError, DataWarning, SchemaError, SourceError

__all__ = [
    "AVAILABILITY",
    "BLENDING_HEIGHT_M",
    "DEFAULT_HUB_HEIGHT_M",
    "DEFAULT_TURBINE",
    "LAPSE_RATE_K_PER_M",
    "MAX_WIND_SPEED_M_PER_S",
    "ROUGHNESS_LENGTH_M",
    "STANDARD_AIR_DENSITY",
    "STATION_ROUGHNESS_M",
    "WAKE_LOSS",
    "air_density_hub",
    "check_hub_height",
    "check_power_curve",
    "check_wind_speed",
    "energy_for_mean_speeds",
    "extrapolate_wind",
    "energy_for_weibull",
    "fit_weibull",
    "power_curve",
    "prevailing_direction_deg",
    "read_station_wind",
    "roughness_length_m",
    "station_elevation_m",
    "sample_wind_raster",
    "turbine_energy_kwh",
    "turbine_power_w",
    "turbine_spec",
]

logger = logging.getLogger(__name__)

#: Default turbine: GE 2.5-120 (2.5 MW, 120 m rotor, IEC class III low-wind machine,
#: specific power 221 W/m²). Among windpowerlib's library turbines of 2-3 MW it has one of
#: the lowest specific powers (N131/3000 is similar), which suits the 5-6 m/s hub winds
#: of the Hangzhou hills; it matches the low-wind 2.5 MW / 121 m class (e.g. Goldwind
#: GW121/2500) common in Zhejiang's distributed-wind projects.
DEFAULT_TURBINE = "GE120/2500"
#: Default hub height [m]: the lower of the two hub heights listed for GE120/2500 (110, 139 m).
DEFAULT_HUB_HEIGHT_M = 110.0
#: Air density of the power curves (IEC 61400-12-1 standard conditions) [kg/m³].
STANDARD_AIR_DENSITY = 1.225
#: Temperature lapse rate of the ISA troposphere [K/m] (windpowerlib.temperature.linear_gradient).
LAPSE_RATE_K_PER_M = 0.0065
#: Wind speeds above this are rejected as implausible hourly means [m/s].
MAX_WIND_SPEED_M_PER_S = 50.0
#: Default wake loss for small clusters at 5 D x 3 D spacing (fraction of gross energy) [9].
WAKE_LOSS = 0.10
#: Default availability (fraction of energy not lost to downtime) [10].
AVAILABILITY = 0.97
#: Roughness of a standard (WMO) 10 m wind station: open, flat terrain [m] [8].
STATION_ROUGHNESS_M = 0.03
#: Blending height above which the wind no longer feels local roughness [m] [3]. Wieringa
#: used 60 m; 200 m is used so that hub heights (80-140 m) lie below it.
BLENDING_HEIGHT_M = 200.0

#: Roughness length [m] of each twin land-cover class, screening values from the
#: Wieringa (1992) [4] classes, Silva et al. (2007) [5] CORINE table and the WAsP /
#: European Wind Atlas [6] classes.
ROUGHNESS_LENGTH_M: dict[str, float] = {
    "evergreen_needleleaf_forest": 0.75,  # [5] coniferous forest 0.75
    "evergreen_broadleaf_forest": 0.75,  # [5] broad-leaved forest 0.75
    "deciduous_needleleaf_forest": 0.75,  # [5]
    "deciduous_broadleaf_forest": 0.75,  # [5]
    "mixed_forest": 0.75,  # [5] mixed forest 0.75
    "bamboo_forest": 0.5,  # [4] "closed" class 0.5 (dense 10-15 m bamboo stands)
    "tea_garden": 0.1,  # [4] "roughly open" 0.1 (1 m hedgerows of tea)
    "orchard": 0.3,  # [5] fruit trees and berry plantations 0.3
    "shrubland": 0.1,  # [4] "roughly open" 0.1
    "grassland": 0.03,  # [4] "open" 0.03; [5] natural grassland 0.03
    "wetland": 0.05,  # [5] inland marshes 0.05
    "water": 0.0002,  # [6] water surface 0.0002
    "cropland": 0.05,  # [5] non-irrigated arable land / rice fields 0.05
    "built_up": 1.0,  # [5] continuous urban fabric 1.2, discontinuous 0.5
    "barren": 0.005,  # [5] bare rock 0.005
    "snow_ice": 0.001,  # [6] snow surface 0.001
}

_OEDB = None


def _oedb() -> pd.DataFrame:
    global _OEDB
    if _OEDB is None:
        import windpowerlib

        path = Path(windpowerlib.__file__).parent / "oedb" / "turbine_data.csv"
        _OEDB = pd.read_csv(path).set_index("turbine_type")
    return _OEDB


def _parse_hub_heights(text: object) -> tuple[float, ...]:
    if not isinstance(text, str):
        return ()
    out = []
    for part in text.split(";"):
        part = part.strip().replace(",", ".")
        if re.fullmatch(r"\d+(\.\d+)?", part):
            out.append(float(part))
    return tuple(sorted(out))


def turbine_spec(turbine_type: str) -> dict:
    """Rated power, rotor and listed hub heights of a windpowerlib library turbine.

    Parameters
    ----------
    turbine_type : str
        Name as in windpowerlib's library, e.g. ``"E-126/4200"``.

    Returns
    -------
    dict
        ``nominal_power_kw`` [kW], ``rotor_diameter_m`` [m], ``hub_heights_m`` (tuple [m],
        may be empty), ``manufacturer``.
    """
    lib = _oedb()
    if turbine_type not in lib.index or not bool(lib.loc[turbine_type, "has_power_curve"]):
        have = sorted(lib.index[lib["has_power_curve"].fillna(False).astype(bool)])
        close = [t for t in have if t.split("/")[0] == str(turbine_type).split("/")[0]]
        msg = (f"turbine {turbine_type!r} has no power curve in windpowerlib's library; "
               f"use one of {', '.join(close or have[:12])}"
               f"{'' if close else ', ...'} (see windpowerlib.get_turbine_types())")
        raise ConfigError(msg)
    row = lib.loc[turbine_type]
    return {
        "nominal_power_kw": float(row["nominal_power"]) / 1000.0,
        "rotor_diameter_m": float(row["rotor_diameter"]),
        "hub_heights_m": _parse_hub_heights(row["hub_height"]),
        "manufacturer": str(row["manufacturer"]),
    }


def check_hub_height(turbine_type: str, hub_height_m: float) -> float:
    """Check a hub height against the heights the library lists for the turbine.

    Raises :class:`~twin.errors.ConfigError` when ``hub_height_m`` lies outside the
    range of listed hub heights (the power curve is published for those towers);
    heights between listed ones are accepted and logged.
    """
    heights = turbine_spec(turbine_type)["hub_heights_m"]
    h = float(hub_height_m)
    if not math.isfinite(h) or h <= 0:
        msg = f"hub height {hub_height_m!r} m of {turbine_type} must be a positive number"
        raise ConfigError(msg)
    if not heights:
        logger.info("%s: the library lists no hub heights; using %.1f m unchecked", turbine_type, h)
        return h
    if h < heights[0] - 1e-6 or h > heights[-1] + 1e-6:
        msg = (f"hub height {h:g} m is outside the hub heights {list(heights)} m published with "
               f"the power curve of {turbine_type}; choose one of them")
        raise ConfigError(msg)
    if h not in heights:
        logger.info("%s: hub height %.1f m lies between the listed heights %s", turbine_type, h,
                    heights)
    return h


def check_power_curve(curve: pd.DataFrame, name: str = "power curve",
                      *, nominal_power_w: float | None = None,
                      tolerance: float = 0.01) -> tuple[pd.DataFrame, list[str]]:
    """Validate a power curve and repair tiny dips below rated power.

    Parameters
    ----------
    curve : DataFrame
        Columns ``wind_speed`` [m/s] and ``value`` [W] (windpowerlib's layout).
    name : str
        Used in messages.
    nominal_power_w : float, optional
        Rated power [W]; default the curve's maximum.
    tolerance : float
        Largest dip, as a fraction of rated power, repaired (by a running maximum)
        rather than refused [-].

    Returns
    -------
    curve : DataFrame
        Sorted, validated (and possibly repaired) copy.
    repairs : list of str
        What was repaired (empty when nothing).

    Raises
    ------
    ConfigError
        Missing columns, non-finite or negative values, wind speeds not strictly
        increasing, or a dip larger than ``tolerance`` before rated power.
    """
    if not {"wind_speed", "value"} <= set(curve.columns):
        msg = f"{name}: needs columns 'wind_speed' [m/s] and 'value' [W], got {list(curve.columns)}"
        raise ConfigError(msg)
    ws = curve["wind_speed"].to_numpy(float)
    p = curve["value"].to_numpy(float)
    if len(ws) < 2 or not (np.isfinite(ws).all() and np.isfinite(p).all()):
        msg = f"{name}: needs at least two finite (wind_speed, value) points"
        raise ConfigError(msg)
    if (ws < 0).any() or (p < 0).any():
        msg = f"{name}: negative wind speeds or powers at rows {np.flatnonzero((ws < 0) | (p < 0)).tolist()}"
        raise ConfigError(msg)
    if (np.diff(ws) <= 0).any():
        bad = (np.flatnonzero(np.diff(ws) <= 0) + 1).tolist()
        msg = f"{name}: wind speeds must be strictly increasing (rows {bad[:10]}); sort and deduplicate"
        raise ConfigError(msg)
    rated = float(nominal_power_w) if nominal_power_w else float(p.max())
    i_max = int(np.argmax(p))
    head = p[: i_max + 1]
    running = np.maximum.accumulate(head)
    dip = running - head
    repairs: list[str] = []
    if dip.max() > 0:
        worst = int(np.argmax(dip))
        if dip.max() > tolerance * rated:
            msg = (f"{name}: power falls from {running[worst]:.0f} W to {head[worst]:.0f} W at "
                   f"{ws[worst]:g} m/s before rated power; a power curve must be non-decreasing up "
                   f"to rated power (fix the curve or use another turbine)")
            raise ConfigError(msg)
        rows = np.flatnonzero(dip > 0).tolist()
        repairs.append(f"{name}: dip of at most {dip.max():.0f} W (< {tolerance:.0%} of rated) "
                       f"before rated power at {ws[rows].tolist()} m/s raised to the running maximum")
        p = p.copy()
        p[: i_max + 1] = running
    return pd.DataFrame({"wind_speed": ws, "value": p}), repairs


@functools.lru_cache(maxsize=64)
def _library_curve(turbine_type: str) -> tuple[np.ndarray, np.ndarray]:
    from windpowerlib.wind_turbine import get_turbine_data_from_file

    spec = turbine_spec(turbine_type)
    import windpowerlib

    path = Path(windpowerlib.__file__).parent / "oedb" / "power_curves.csv"
    raw = get_turbine_data_from_file(turbine_type, str(path))
    curve, repairs = check_power_curve(raw, f"power curve of {turbine_type}",
                                       nominal_power_w=spec["nominal_power_kw"] * 1000.0)
    for r in repairs:
        warnings.warn(r, DataWarning, stacklevel=3)
        logger.warning(r)
    ws = curve["wind_speed"].to_numpy(float)
    p = curve["value"].to_numpy(float)
    ws.flags.writeable = False
    p.flags.writeable = False
    return ws, p


def power_curve(turbine_type: str | pd.DataFrame) -> pd.DataFrame:
    """The validated power curve of a library turbine (or of a given curve).

    Parameters
    ----------
    turbine_type : str or DataFrame
        windpowerlib library name, or a curve with ``wind_speed`` [m/s] and ``value`` [W].

    Returns
    -------
    DataFrame
        ``wind_speed`` [m/s], ``value`` [W] at standard air density (1.225 kg/m³).
    """
    if isinstance(turbine_type, pd.DataFrame):
        curve, repairs = check_power_curve(turbine_type, "given power curve")
        for r in repairs:
            warnings.warn(r, DataWarning, stacklevel=2)
        return curve
    ws, p = _library_curve(str(turbine_type))
    return pd.DataFrame({"wind_speed": ws.copy(), "value": p.copy()})


def check_wind_speed(wind_speed: npt.ArrayLike, name: str = "wind_speed") -> np.ndarray:
    """Return wind speeds as a float array, or raise naming the bad rows.

    Raises
    ------
    SchemaError
        Non-finite values, negative values, or values above
        :data:`MAX_WIND_SPEED_M_PER_S` (50 m/s); the message lists the rows.
    """
    values = np.asarray(wind_speed, dtype=float)
    index = wind_speed.index if isinstance(wind_speed, pd.Series) else np.arange(values.size)
    for mask, what, fix in (
        (~np.isfinite(values), "missing (NaN)", "fill the gaps (e.g. interpolate) first"),
        (values < 0, "negative", "wind speed is a magnitude; check the column"),
        (values > MAX_WIND_SPEED_M_PER_S, f"above {MAX_WIND_SPEED_M_PER_S:g} m/s",
         "check units (km/h or knots?) and missing-value codes such as 999"),
    ):
        if mask.any():
            rows = [str(i) for i in index[np.flatnonzero(mask)[:5]]]
            msg = (f"{name}: {int(mask.sum())} value(s) {what}, e.g. at {', '.join(rows)}; {fix}")
            raise SchemaError(msg)
    return values


def turbine_power_w(curve_wind_speed: npt.ArrayLike, curve_power_w: npt.ArrayLike, wind_speed: npt.ArrayLike,
                    air_density: npt.ArrayLike | None = None) -> np.ndarray:
    """Electrical power [W] of one turbine for each wind speed, as windpowerlib computes it.

    Linear interpolation in the power curve, zero below the first and above the last
    curve point (cut-out). With ``air_density``, the curve's wind speeds are scaled by
    ``(1.225 / rho) ** e`` with ``e`` rising from 1/3 at 7.5 m/s to 2/3 at 12.5 m/s
    (windpowerlib's ``power_curve_density_correction`` [2]), vectorised over hours.

    Parameters
    ----------
    curve_wind_speed, curve_power_w : array
        The power curve [m/s], [W], wind speeds strictly increasing.
    wind_speed : array
        Hub-height wind speeds [m/s].
    air_density : float or array, optional
        Air density at hub height [kg/m³]; ``None`` uses the curve as published.
    """
    ws_c = np.asarray(curve_wind_speed, float)
    p_c = np.asarray(curve_power_w, float)
    v = np.asarray(wind_speed, float)
    if air_density is None:
        return np.interp(v, ws_c, p_c, left=0.0, right=0.0)
    rho = np.broadcast_to(np.asarray(air_density, float), v.shape)
    expo = np.interp(ws_c, [7.5, 12.5], [1 / 3, 2 / 3])
    out = np.empty(v.shape)
    step = 20000  # rows per block: bounded memory for long series
    for a in range(0, v.size, step):
        vb, rb = v[a:a + step], rho[a:a + step]
        m = (STANDARD_AIR_DENSITY / rb)[:, None] ** expo[None, :] * ws_c[None, :]
        k = (m <= vb[:, None]).sum(axis=1)
        lo = np.clip(k - 1, 0, ws_c.size - 2)
        rows = np.arange(vb.size)
        x0, x1 = m[rows, lo], m[rows, lo + 1]
        t = (vb - x0) / (x1 - x0)
        pb = p_c[lo] + t * (p_c[lo + 1] - p_c[lo])
        pb[(vb < m[:, 0]) | (vb > m[:, -1])] = 0.0
        out[a:a + step] = pb
    return out


def _hours_per_step(wind_speed: npt.ArrayLike) -> float:
    index = getattr(wind_speed, "index", None)
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return 1.0
    seconds = pd.Series(index).diff().dropna().dt.total_seconds().to_numpy()
    if not np.allclose(seconds, seconds[0]) or seconds[0] <= 0:
        msg = "wind_speed_hub: the time index is not evenly spaced; resample to hourly first"
        raise SchemaError(msg)
    return float(seconds[0]) / 3600.0


def turbine_energy_kwh(turbine_type: str | pd.DataFrame, wind_speed_hub: npt.ArrayLike,
                       air_density: npt.ArrayLike | None = None) -> float:
    """Energy [kWh] of one turbine over a wind series, before wake and availability losses.

    Parameters
    ----------
    turbine_type : str or DataFrame
        Turbine as named in windpowerlib's library (e.g. ``"E-126/4200"``), or a power
        curve with ``wind_speed`` [m/s] and ``value`` [W].
    wind_speed_hub : Series or array
        Hourly mean wind speed at hub height [m/s]. With an evenly spaced
        DatetimeIndex the step is taken from the index; otherwise hourly.
    air_density : float or Series, optional
        Air density at hub height [kg/m³] (scalar or aligned with the series);
        ``None`` means standard air (1.225 kg/m³, the curve as published).

    Returns
    -------
    float
        Energy [kWh] = sum of hourly power [W] x step [h] / 1000.

    Raises
    ------
    SchemaError
        Wind speeds missing, negative or above 50 m/s; densities outside 0.5-1.6 kg/m³.
    ConfigError
        Unknown turbine or invalid power curve.
    """
    v = check_wind_speed(wind_speed_hub, "wind_speed_hub")
    curve = power_curve(turbine_type)
    rho = None
    if air_density is not None:
        rho = np.asarray(air_density, dtype=float)
        if rho.ndim and rho.shape != v.shape:
            msg = f"air_density: {rho.shape[0]} values for {v.size} wind speeds; align them"
            raise SchemaError(msg)
        if not np.isfinite(rho).all() or (rho < 0.5).any() or (rho > 1.6).any():
            msg = "air_density: values must lie in 0.5-1.6 kg/m³ (check units: kg/m³, not g/m³)"
            raise SchemaError(msg)
    p = turbine_power_w(curve["wind_speed"], curve["value"], v, rho)
    return float(p.sum() * _hours_per_step(wind_speed_hub) / 1000.0)


def energy_for_mean_speeds(turbine_type: str | pd.DataFrame, wind_speed_hub: npt.ArrayLike,
                           mean_speeds: npt.ArrayLike, air_density: npt.ArrayLike | None = None,
                           *, step: float = 0.02) -> np.ndarray:
    """Gross energy [kWh] when the hourly series is scaled to each of ``mean_speeds``.

    The series is multiplied by ``m / mean(series)`` (Weibull ``c`` scales, ``k`` is
    kept); energies are computed on a grid of scale factors ``step`` apart and
    interpolated, so thousands of sites cost a few hundred series evaluations.

    Parameters
    ----------
    turbine_type : str or DataFrame
        As in :func:`turbine_energy_kwh`.
    wind_speed_hub : Series or array
        Reference hourly hub-height series [m/s].
    mean_speeds : array
        Target mean wind speeds [m/s] (e.g. sampled from a wind atlas raster).
    air_density : float or array, optional
        As in :func:`turbine_energy_kwh` [kg/m³].
    step : float
        Spacing of the scale-factor grid [-].

    Returns
    -------
    ndarray
        Energy per target mean [kWh].
    """
    v = check_wind_speed(wind_speed_hub, "wind_speed_hub")
    means = check_wind_speed(np.asarray(mean_speeds, float), "mean wind speed")
    ref = float(v.mean())
    if ref <= 0:
        msg = "wind_speed_hub: the reference series is all calm; cannot scale it"
        raise SchemaError(msg)
    scales = means / ref
    if means.size == 0:
        return np.zeros(0)
    grid = np.arange(max(0.0, scales.min() - step), scales.max() + 2 * step, step)
    curve = power_curve(turbine_type)
    dt = _hours_per_step(wind_speed_hub)
    rho = None if air_density is None else np.asarray(air_density, float)
    table = np.array([
        turbine_power_w(curve["wind_speed"], curve["value"], np.minimum(v * s, 1e3), rho).sum()
        * dt / 1000.0 for s in grid
    ])
    return np.interp(scales, grid, table)


def energy_for_weibull(turbine_type: str | pd.DataFrame, scale_a_m_per_s: npt.ArrayLike,
                       shape_k: npt.ArrayLike, hours: float, air_density: float | None = None,
                       *, dv: float = 0.05) -> np.ndarray:
    """Gross energy [kWh] over ``hours`` of a turbine in winds of Weibull(A, k) (e.g. Global Wind Atlas).

    ``E = hours x integral P(v) f(v; A, k) dv / 1000``, integrated on a grid of ``dv``
    from 0 to 40 m/s (the Weibull tail beyond is below 1e-6 for A < 15 m/s, k > 1.2).

    Parameters
    ----------
    turbine_type : str or DataFrame
        As in :func:`turbine_energy_kwh`.
    scale_a_m_per_s, shape_k : array
        Weibull scale A [m/s] and shape k [-] at hub height, per site.
    hours : float
        Hours the energy is counted over [h] (8760 for a year).
    air_density : float, optional
        Air density at hub height [kg/m³]; ``None`` means the curve as published (1.225).
    dv : float
        Integration step [m/s].

    Returns
    -------
    ndarray
        Energy per site [kWh].

    References
    ----------
    Global Wind Atlas 3 methodology (combined Weibull A and k per height), DTU Wind Energy.
    """
    from scipy import stats

    a = np.asarray(scale_a_m_per_s, float)
    k = np.asarray(shape_k, float)
    if a.shape != k.shape:
        msg = f"energy_for_weibull: {a.size} scale values and {k.size} shape values; align them"
        raise SchemaError(msg)
    bad_a = ~np.isfinite(a) | (a <= 0) | (a > MAX_WIND_SPEED_M_PER_S)
    if bad_a.any() or (~np.isfinite(k) | (k <= 0)).any():
        msg = "energy_for_weibull: A must lie in (0, 50] m/s and k be > 0 at every site"
        raise SchemaError(msg)
    v = np.arange(dv / 2, 40.0, dv)
    curve = power_curve(turbine_type)
    rho = None if air_density is None else np.full(v.shape, float(air_density))
    p = turbine_power_w(curve["wind_speed"], curve["value"], v, rho)
    pdf = stats.weibull_min.pdf(v[None, :], k.reshape(-1, 1), scale=a.reshape(-1, 1))
    return (pdf * p[None, :]).sum(axis=1) * dv * float(hours) / 1000.0


def read_station_wind(path: str | Path) -> pd.DataFrame:
    """Read the station wind, pressure and temperature of an EPW weather file.

    Missing values (EPW code 999 for wind speed, 999999 for pressure, 99.9 for
    temperature) are filled by linear interpolation in time and reported with a
    :class:`~twin.errors.DataWarning`.

    Parameters
    ----------
    path : path-like
        EPW file.

    Returns
    -------
    DataFrame
        Hourly, indexed like pvlib's ``read_epw``: ``wind_speed`` [m/s] at 10 m,
        ``wind_direction`` [°], ``temp_air`` [°C], ``atmospheric_pressure`` [Pa];
        ``attrs`` hold the station metadata (``altitude`` [m], ``city``, ``WMO_code``).
    """
    import pvlib

    path = Path(path)
    if not path.exists():
        msg = f"{path}: no such weather file; check the city's weather_file"
        raise SourceError(msg)
    try:
        data, meta = pvlib.iotools.read_epw(path)
    except Exception as exc:  # pvlib raises a variety of parsing errors
        msg = f"{path}: cannot read as EPW ({exc}); is it an EnergyPlus weather file?"
        raise SourceError(msg) from None
    if len(set(data.index.year)) > 1 and not data.index.is_monotonic_increasing:
        # a typical year with months from several years (SWERA, CSWD, TMY): one calendar year
        data = pvlib.iotools.read_epw(path, coerce_year=TYPICAL_YEAR)[0].sort_index()
    cols = ["wind_speed", "wind_direction", "temp_air", "atmospheric_pressure"]
    df = data[cols].astype(float).copy()
    missing = {"wind_speed": df["wind_speed"] >= 999, "wind_direction": df["wind_direction"] >= 999,
               "temp_air": df["temp_air"] >= 99.9,
               "atmospheric_pressure": df["atmospheric_pressure"] >= 999999}
    for col, mask in missing.items():
        n = int(mask.sum())
        if n:
            df.loc[mask, col] = np.nan
            df[col] = df[col].interpolate(limit_direction="both")
            msg = f"{path.name}: {n} missing {col} value(s) filled by interpolation in time"
            warnings.warn(msg, DataWarning, stacklevel=2)
            logger.warning(msg)
    check_physical_ranges(df, {"wind_speed": "wind_speed", "temp_air": "temp_air",
                               "atmospheric_pressure": "pressure"}, path.name, error=SourceError)
    df.attrs.update({k: meta.get(k) for k in ("city", "WMO_code", "altitude", "latitude",
                                              "longitude")})
    df.attrs["path"] = str(path)
    return df


def air_density_hub(pressure_pa: npt.ArrayLike, temp_air_c: npt.ArrayLike, hub_height_m: float, *,
                    pressure_height_m: float = 0.0, temperature_height_m: float = 2.0,
                    site_elevation_m: npt.ArrayLike | None = None,
                    station_elevation_m: float = 0.0) -> np.ndarray:
    r"""Air density at hub height [kg/m³] from station pressure and temperature, and elevation.

    The hub stands ``hub_height_m + site_elevation_m - station_elevation_m`` above the
    station's ground, so a site on a hill has thinner, colder air than the station. The
    temperature is carried up with the ISA lapse rate (:data:`LAPSE_RATE_K_PER_M`,
    ``windpowerlib.temperature.linear_gradient``) and the density follows windpowerlib's
    barometric height formula (``windpowerlib.density.barometric``, the default of its
    ModelChain): pressure falls 1/8 hPa per metre and

    .. math:: \rho = \rho_0 \frac{p_{hub}}{p_0} \frac{T_0}{T_{hub}}

    with :math:`\rho_0` = 1.225 kg/m³, :math:`T_0` = 288.15 K, :math:`p_0` = 1013.3 hPa.
    Without ``site_elevation_m`` the site is at the station's elevation.

    Parameters
    ----------
    pressure_pa : array or Series
        Station pressure [Pa] at ``pressure_height_m`` above the station's ground (hours).
    temp_air_c : array or Series
        Air temperature [°C] at ``temperature_height_m`` above the station's ground (hours).
    hub_height_m : float
        Hub height above the site's ground [m].
    pressure_height_m, temperature_height_m : float
        Heights of the pressure and temperature readings above the station's ground [m].
    site_elevation_m : float or array of shape (n,), optional
        Ground elevation of the site(s) above sea level [m] (a DEM).
    station_elevation_m : float
        Elevation of the weather station above sea level [m] (the EPW header's).

    Returns
    -------
    ndarray
        Shape of the hours, or ``(n, hours)`` for ``n`` site elevations [kg/m³].

    Raises
    ------
    ConfigError
        Elevations or the hub height that are not finite numbers.

    References
    ----------
    .. [1] windpowerlib 0.2: ``density.barometric``, ``temperature.linear_gradient``.
       https://windpowerlib.readthedocs.io
    .. [2] ICAO (1993). Manual of the ICAO Standard Atmosphere, Doc 7488/3 (lapse rate
       6.5 K/km, 288.15 K, 1.225 kg/m³ at sea level).
    """
    p = np.asarray(pressure_pa, dtype=float)
    t = np.asarray(temp_air_c, dtype=float) + 273.15
    rise: float | np.ndarray = float(hub_height_m)
    if site_elevation_m is not None:
        e = np.asarray(site_elevation_m, dtype=float)
        if not np.isfinite(e).all() or not math.isfinite(float(station_elevation_m)):
            msg = ("air_density_hub: site and station elevations must be finite numbers [m]; fill sites "
                   "without DEM data with the station's elevation")
            raise ConfigError(msg)
        rise = float(hub_height_m) + e - float(station_elevation_m)
        if e.ndim:
            rise = rise[:, None]
    if not np.isfinite(rise).all():
        msg = f"air_density_hub: hub height {hub_height_m!r} is not a finite number [m]"
        raise ConfigError(msg)
    t_hub = t - LAPSE_RATE_K_PER_M * (rise - temperature_height_m)
    p_hub_hpa = p / 100.0 - (rise - pressure_height_m) / 8.0
    return p_hub_hpa * STANDARD_AIR_DENSITY * 288.15 * 100.0 / (101330.0 * t_hub)


def station_elevation_m(station: pd.DataFrame) -> float:
    """The weather station's elevation [m] from its EPW header (``attrs["altitude"]``).

    Raises
    ------
    SourceError
        The header gives no finite elevation.
    """
    alt = station.attrs.get("altitude")
    try:
        value = float(alt)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or not -500.0 <= value <= 9000.0:
        msg = (f"{station.attrs.get('path', 'weather file')}: the EPW header gives no station elevation "
               f"({alt!r}); write it in the LOCATION line (metres above sea level)")
        raise SourceError(msg)
    return value


def roughness_length_m(lc_class: npt.ArrayLike) -> np.ndarray:
    """Roughness length [m] for land-cover classes (:data:`ROUGHNESS_LENGTH_M`).

    Unknown or empty classes get the open-terrain value 0.03 m and are logged.
    """
    classes = pd.Series(np.asarray(lc_class, dtype=object)).fillna("")
    z0 = classes.map(ROUGHNESS_LENGTH_M)
    unknown = z0.isna()
    if unknown.any():
        logger.info("%d site(s) without a known land-cover class: z0 = 0.03 m (open terrain)",
                    int(unknown.sum()))
    return z0.fillna(0.03).to_numpy(float)


def _profile_ratio(z_to: float, z_from: float, z0: npt.ArrayLike, profile: str) -> np.ndarray:
    z0 = np.asarray(z0, float)
    if profile == "log":
        return np.log(z_to / z0) / np.log(z_from / z0)
    if profile == "power":
        lz = np.log10(z0)
        alpha = 0.096 * lz + 0.016 * lz**2 + 0.24  # Counihan (1975) [7]
        return (z_to / z_from) ** alpha
    msg = f"profile {profile!r} is not 'log' or 'power'"
    raise ConfigError(msg)


def extrapolate_wind(wind_speed: npt.ArrayLike, hub_height_m: float, site_roughness_m: npt.ArrayLike, *,
                     measurement_height_m: float = 10.0,
                     station_roughness_m: float = STATION_ROUGHNESS_M,
                     blending_height_m: float = BLENDING_HEIGHT_M,
                     profile: str = "log") -> np.ndarray:
    """Carry station wind to hub height over a site of another roughness (screening estimate).

    Two steps [3]: up from ``measurement_height_m`` to ``blending_height_m`` with the
    station's roughness, then down to ``hub_height_m`` with the site's roughness, by a
    logarithmic profile (neutral stability) or a power law with Counihan's exponent
    for the roughness [7].

    Parameters
    ----------
    wind_speed : array (n_hours,)
        Station wind speed [m/s] at ``measurement_height_m``.
    hub_height_m : float
        Hub height [m]; must be below ``blending_height_m``.
    site_roughness_m : float or array (n_sites,)
        Roughness length at the site(s) [m].
    measurement_height_m, station_roughness_m, blending_height_m : float
        [m].
    profile : {"log", "power"}

    Returns
    -------
    ndarray
        ``(n_hours,)`` for a scalar roughness, else ``(n_sites, n_hours)`` [m/s].
    """
    v = check_wind_speed(wind_speed, "station wind_speed")
    z0 = np.asarray(site_roughness_m, float)
    if (z0 <= 0).any() or station_roughness_m <= 0:
        msg = "roughness lengths must be positive [m]"
        raise ConfigError(msg)
    if not (measurement_height_m < blending_height_m and hub_height_m < blending_height_m):
        msg = (f"hub height {hub_height_m:g} m and measurement height {measurement_height_m:g} m "
               f"must lie below the blending height {blending_height_m:g} m")
        raise ConfigError(msg)
    up = _profile_ratio(blending_height_m, measurement_height_m, station_roughness_m, profile)
    down = _profile_ratio(hub_height_m, blending_height_m, z0, profile)
    if z0.ndim == 0:
        return v * up * float(down)
    return np.outer(down, v * up)


def fit_weibull(wind_speed: npt.ArrayLike) -> tuple[float, float]:
    """Weibull shape ``k`` [-] and scale ``c`` [m/s] of hourly wind speeds.

    Maximum-likelihood fit (``scipy.stats.weibull_min``, location 0) to the non-calm
    hours; calm hours (0 m/s) are left out because the Weibull density has no mass at
    zero.
    """
    from scipy import stats

    v = check_wind_speed(wind_speed, "wind speed")
    v = v[v > 0]
    if v.size < 10:
        msg = "fit_weibull: fewer than 10 non-calm hours; cannot fit a Weibull distribution"
        raise SchemaError(msg)
    k, _loc, c = stats.weibull_min.fit(v, floc=0.0)
    return float(k), float(c)


def prevailing_direction_deg(wind_speed: npt.ArrayLike, wind_direction: npt.ArrayLike) -> float:
    """Energy-weighted prevailing wind axis [°, 0-180, clockwise from north].

    The axial mean of the directions weighted by ``v³`` (wind power density); used to
    align turbine rows across the prevailing wind.
    """
    v = np.asarray(wind_speed, float)
    d = np.deg2rad(np.asarray(wind_direction, float))
    w = v**3
    if w.sum() <= 0:
        return 0.0
    ang = np.arctan2((w * np.sin(2 * d)).sum(), (w * np.cos(2 * d)).sum()) / 2
    return float(np.rad2deg(ang) % 180.0)


def sample_wind_raster(path: str | Path, x: npt.ArrayLike, y: npt.ArrayLike, crs: Any) -> np.ndarray:
    """Mean wind speed [m/s] of a raster at points; NaN where the raster has no data.

    Points given in ``crs`` are transformed to the raster's CRS (the raster itself is
    not resampled). Cells equal to the raster's nodata value, non-finite, or outside
    the raster give NaN. Values that are negative or above 50 m/s raise.

    Parameters
    ----------
    path : path-like
        GeoTIFF of mean wind speed [m/s].
    x, y : array
        Point coordinates in ``crs``.
    crs : CRS-like
        CRS of the points (e.g. ``"EPSG:4549"``).
    """
    import rasterio
    from pyproj import Transformer

    from layers.io.files import open_raster

    path = Path(path)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    with open_raster(path, what="wind_speed raster", crs_fix="re-import it with its CRS") as src:
        if src.crs.to_string() != str(crs):
            tr = Transformer.from_crs(crs, src.crs, always_xy=True)
            x, y = tr.transform(x, y)
            logger.info("wind_speed raster in %s: sampling points reprojected from %s", src.crs, crs)
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        out = np.full(np.shape(x), np.nan)
        if inside.any():
            band = src.read(1, masked=True)
            vals = band[rows[inside], cols[inside]]
            out[inside] = np.ma.filled(vals.astype(float), np.nan)
    good = np.isfinite(out)
    bad = good & ((out < 0) | (out > MAX_WIND_SPEED_M_PER_S))
    if bad.any():
        msg = (f"{path}: {int(bad.sum())} sampled wind speed(s) outside 0-50 m/s (e.g. "
               f"{out[bad][:3].tolist()}); set the raster's nodata value or check its units")
        raise SchemaError(msg)
    return out
