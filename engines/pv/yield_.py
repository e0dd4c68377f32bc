r"""Annual PV yield of many fixed facets: pvlib's ModelChain physics, compiled and fused.

:func:`simulate_facets` reproduces, per facet and per hour, what
:class:`pvlib.modelchain.ModelChain` computes with ``dc_model='pvwatts'``,
``ac_model='pvwatts'``, ``losses_model='pvwatts'``, ``spectral_model='no_loss'`` and the
chosen transposition, AOI and temperature models, and adds horizon shading from a
per-facet horizon profile. It is built for 10^5-10^6 roof facets:

* everything that depends only on the hour (solar position, extraterrestrial
  irradiance, airmass, the Perez coefficients F1/F2, the temperature-model factor)
  is computed once with pvlib itself;
* a numba kernel then loops over blocks of facets in parallel and, inside, over the
  daylight hours and the facets of the block, computing the angle of incidence,
  plane-of-array components, IAM, cell temperature, PVWatts DC and the PVWatts
  inverter **hour by hour** (the inverter is non-linear) and accumulating annual and
  monthly sums. No facets x hours array is ever allocated.

Time convention
---------------
``weather`` is labelled as the readers of :mod:`engines.pv.weather` label it: each
hourly row by the **start** of its interval (``label='start'``, the default). The sun
of a row is evaluated at the interval middle, ``index + 30 min``; extraterrestrial
irradiance and airmass use the same times. Pass ``label='middle'`` when the index
already marks interval middles; it is then used as is. A ModelChain run that sees the
same sun is ``ModelChain.run_model(weather.set_axis(weather.index + 30 min))``.
Monthly sums use the calendar month of the interval start.

Horizon shading
---------------
Facet columns ``horizon_elev_deg_000``, ``horizon_elev_deg_010``, ... hold the horizon
elevation [°] of N >= 36 equal azimuth sectors; the 3-digit suffix is the sector
centre azimuth (clockwise from north) and sector k covers
``[az_k - 180/N, az_k + 180/N)``. Elevations <= 0 mean an open horizon (the engine
does not model views below the astronomical horizon, so a zero horizon changes
nothing). With a horizon:

* beam and circumsolar irradiance (Hay-Davies, Perez) are blocked in every hour in
  which the apparent solar elevation is below the horizon elevation of the sun's
  sector;
* the rest of the sky diffuse (the isotropic part and the Perez horizon band) is
  multiplied by the facet's sky-view ratio ``V_h / V_0``, where ``V`` is the
  isotropic sky view factor of the tilted plane (Dozier & Frew 1990, eq. 7):

  .. math::

     V = \frac{1}{2\pi}\int_0^{2\pi} \left[\cos\beta \sin^2 H_\varphi
         + \sin\beta\cos(\varphi - A)(H_\varphi - \sin H_\varphi
         \cos H_\varphi)\right] d\varphi

  with slope :math:`\beta`, aspect :math:`A` and :math:`H_\varphi` the zenith angle
  of the visible-sky limit in direction :math:`\varphi`: the smaller of
  :math:`90° - h(\varphi)` and the zenith angle at which the facet's own plane cuts
  the sky. ``V_0`` is the same integral with no horizon (it equals
  :math:`(1 + \cos\beta)/2`); for a horizontal facet ``V_h`` is the mean of
  :math:`\cos^2 h`. The integral is evaluated with :data:`SVF_SAMPLES_PER_SECTOR`
  midpoints per sector for both ``V_h`` and ``V_0``.
* ground-reflected irradiance is unchanged;
* in each hour the shaded sky diffuse is capped at the unshaded one, so a horizon can
  never add energy (Perez components can be negative).

References
----------
.. [1] W. F. Holmgren, C. W. Hansen and M. A. Mikofski, "pvlib python: a python
   package for modeling solar energy systems", J. Open Source Softw. 3(29), 884,
   2018, :doi:`10.21105/joss.00884`.
.. [2] A. P. Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, 2014,
   :doi:`10.2172/1158421`.
.. [3] J. Dozier and J. Frew, "Rapid calculation of terrain parameters for radiation
   modeling from digital elevation data", IEEE Trans. Geosci. Remote Sens. 28(5),
   963-969, 1990, :doi:`10.1109/36.58986`.
.. [4] R. Perez, P. Ineichen, R. Seals, J. Michalsky and R. Stewart, "Modeling
   daylight availability and irradiance components from direct and global
   irradiance", Solar Energy 44(5), 271-289, 1990,
   :doi:`10.1016/0038-092X(90)90055-H`.
.. [5] D. L. King, W. E. Boyson and J. A. Kratochvil, "Photovoltaic Array Performance
   Model", SAND2004-3535, 2004, :doi:`10.2172/919131`.
.. [6] D. Faiman, "Assessing the outdoor operating temperature of photovoltaic
   modules", Prog. Photovolt. 16(4), 307-315, 2008, :doi:`10.1002/pip.813`.
.. [7] W. De Soto, S. A. Klein and W. A. Beckman, "Improvement and validation of a
   model for photovoltaic array performance", Solar Energy 80(1), 78-88, 2006,
   :doi:`10.1016/j.solener.2005.06.010`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib
from pvlib import irradiance as pvirr

from engines.pv.weather import interval_middle, validate_weather
from twin.errors import ConfigError, SchemaError, listing, require_columns

__all__ = [
    "AOI_MODELS",
    "DEFAULTS",
    "HORIZON_PREFIX",
    "SUNSHINE_DNI_W_PER_M2",
    "SVF_SAMPLES_PER_SECTOR",
    "TEMPERATURE_MODELS",
    "TRANSPOSITION_MODELS",
    "horizon_columns",
    "simulate_facets",
    "sky_view_ratio",
]

logger = logging.getLogger(__name__)

#: Transposition (sky diffuse) models, named as in pvlib.
TRANSPOSITION_MODELS = ("isotropic", "haydavies", "perez")
#: Incidence-angle modifier models, named as in pvlib's ModelChain.
AOI_MODELS = ("physical", "ashrae", "no_loss")
#: Cell temperature models, named as in pvlib's ModelChain.
TEMPERATURE_MODELS = ("sapm", "faiman")
#: Prefix of the horizon profile columns; the 3-digit suffix is the sector centre [°].
HORIZON_PREFIX = "horizon_elev_deg_"
#: Midpoints per horizon sector in the sky-view-factor integral.
SVF_SAMPLES_PER_SECTOR = 4
#: A sunshine hour has direct normal irradiance above this [W/m²] (WMO, Guide to
#: Instruments and Methods of Observation, WMO-No. 8, chapter 8: sunshine duration).
SUNSHINE_DNI_W_PER_M2 = 120.0

#: Default model options of :func:`simulate_facets`.
#:
#: * ``gamma_pdc`` -0.0035 1/°C: PVWatts "premium" (mono-Si) module [2]_, Table 1;
#: * ``losses_percent`` 14.08 %: PVWatts default system losses,
#:   ``pvlib.pvsystem.pvwatts_losses()`` [2]_;
#: * ``dc_ac_ratio`` 1.2 and ``eta_inv_nom`` 0.96: PVWatts defaults [2]_;
#: * ``temperature_model_parameters`` for ``sapm``: ``'close_mount_glass_glass'``
#:   (roof-mounted with a gap behind the module) [5]_; for ``faiman``:
#:   ``u0=25.0, u1=6.84`` (pvlib's defaults) [6]_;
#: * ``albedo`` 0.25 (pvlib's default) unless the weather carries an ``albedo`` column.
DEFAULTS = {
    "transposition_model": "perez",
    "aoi_model": "physical",
    "temperature_model": "sapm",
    "temperature_model_parameters": None,
    "gamma_pdc": -0.0035,
    "losses_percent": float(pvlib.pvsystem.pvwatts_losses()),
    "dc_ac_ratio": 1.2,
    "eta_inv_nom": 0.96,
    "albedo": None,
    "monthly": False,
    "details": False,
    "chunk_size": 200_000,
    "label": "start",
}

_ETA_INV_REF = 0.9637  # pvlib.inverter.pvwatts default [2]
_IAM_TABLE_SIZE = 8192
_FACET_REQUIRED = ("surface_tilt", "surface_azimuth", "pdc0_kw")
_HORIZON_RE = re.compile(rf"^{HORIZON_PREFIX}(\d{{3}})$")




# ----------------------------------------------------------------------------------------
# compiled kernels
# ----------------------------------------------------------------------------------------

@numba.njit(cache=True, parallel=True)
def _svf_kernel(tilt_deg: np.ndarray, azim_deg: np.ndarray, hz_deg: np.ndarray,
                samples: int) -> np.ndarray:  # pragma: no cover - compiled
    n, nsec = hz_deg.shape
    out = np.ones(n)
    width = 2.0 * np.pi / nsec
    ns = nsec * samples
    cphi = np.empty(ns)
    sphi = np.empty(ns)
    for q in range(ns):
        phi = -0.5 * width + (q + 0.5) * width / samples
        cphi[q] = math.cos(phi)
        sphi[q] = math.sin(phi)
    half_pi = 0.5 * np.pi
    for i in numba.prange(n):
        any_up = False
        for k in range(nsec):
            if hz_deg[i, k] > 0.0:
                any_up = True
        if not any_up:
            continue
        b = math.radians(tilt_deg[i])
        cb = math.cos(b)
        sb = math.sin(b)
        a = math.radians(azim_deg[i])
        ca = math.cos(a)
        sa = math.sin(a)
        v = 0.0
        v0 = 0.0
        for k in range(nsec):
            h = min(max(hz_deg[i, k], 0.0), 90.0)
            hh = half_pi - math.radians(h)
            sh = math.sin(hh)
            ch = math.cos(hh)
            for j in range(samples):
                q = k * samples + j
                c = cphi[q] * ca + sphi[q] * sa  # cos(phi - A)
                bc = sb * c
                if bc < 0.0:  # the plane itself hides part of the sky in this direction
                    rho = math.sqrt(cb * cb + bc * bc)
                    thp = math.atan2(cb, -bc)
                    g0 = cb * (cb / rho) ** 2 + bc * (thp - (cb / rho) * (-bc / rho))
                else:
                    thp = half_pi
                    g0 = cb + bc * half_pi
                g = cb * sh * sh + bc * (hh - sh * ch) if hh < thp else g0
                v += g
                v0 += g0
        r = v / v0 if v0 > 0.0 else 0.0
        out[i] = min(max(r, 0.0), 1.0)
    return out


# Compiler options of the kernels. ``fastmath`` allows only re-association, which lets
# LLVM vectorise the sums over hours (SIMD lanes add partial sums); it keeps IEEE NaN/Inf
# semantics and changes results by a few ULP at most. ``error_model='numpy'`` removes
# Python's zero-division checks (the one division is guarded). Indices are unsigned so
# that numba emits no negative-index wraparound code, which would prevent vectorisation.
_JIT: dict[str, Any] = {"cache": True, "fastmath": {"reassoc"}, "error_model": "numpy"}


@numba.njit(inline="always", **_JIT)
def _dc_ac(eff: float, poa: float, tah: float, kth: float, gamma: float, lossfac: float, dcac: float,
           eta_ratio: float, pac0n: float) -> tuple[float, float]:  # pragma: no cover
    """PVWatts DC (after losses) and PVWatts inverter AC, both per kW of module pdc0."""
    tc = tah + poa * kth
    dc = eff * 0.001 * (1.0 + gamma * (tc - 25.0)) * lossfac
    z = dc * dcac  # dc / pdc0_inv
    inv = 0.0059 / z if z != 0.0 else 0.0
    ac = eta_ratio * (-0.0162 * z - inv + 0.9858) * dc
    return dc, max(min(ac, pac0n), 0.0)


@numba.njit(inline="always", **_JIT)
def _open_hour(h: int, cbi: float, pci: float, psi: float, opc: float, sbi: float, gfi: float,
               cz: np.ndarray, sx: np.ndarray, sy: np.ndarray, dni: np.ndarray, d1: np.ndarray,
               d2: np.ndarray, d3: np.ndarray, gref: np.ndarray, ta: np.ndarray, kt: np.ndarray,
               iam_tab: np.ndarray, ntab: int, lossfac: float, gamma: float, dcac: float,
               eta_ratio: float, pac0n: float, sun_dni: float
               ) -> tuple[float, float, float, float, float, float, float, float, float, float,
                          float]:  # pragma: no cover
    """One facet-hour without horizon: the terms the shaded case reuses, DC, AC, POA.

    Also the effective irradiance (after IAM) and the sunshine flag: 1 when the sun is
    in front of the plane and ``dni > sun_dni`` (the WMO sunshine threshold), else 0.
    """
    c = cbi * cz[h] + pci * sy[h] + psi * sx[h]  # cos(aoi), as pvlib's aoi_projection
    c = min(max(c, -1.0), 1.0)
    ca = max(c, 0.0)
    sun = 1.0 if (c > 0.0 and dni[h] > sun_dni) else 0.0
    direct = max(dni[h] * c, 0.0)
    iso = d1[h] * opc + d3[h] * sbi  # isotropic (+ Perez horizon band)
    circ = d2[h] * ca  # circumsolar
    sky = max(iso + circ, 0.0)
    ground = gref[h] * gfi
    x = ca * ntab
    j = np.uint64(x)
    iam = iam_tab[j] + (x - j) * (iam_tab[j + 1] - iam_tab[j])
    poa = direct + sky + ground
    eff = direct * iam + sky + ground
    dc, ac = _dc_ac(eff, poa, ta[h], kt[h], gamma, lossfac, dcac, eta_ratio, pac0n)
    return direct, iso, circ, sky, ground, iam, poa, dc, ac, eff, sun


@numba.njit(parallel=True, **_JIT)
def _kernel_open(cb: np.ndarray, sb: np.ndarray, pc: np.ndarray, ps: np.ndarray, gf: np.ndarray,
                 cz: np.ndarray, sx: np.ndarray, sy: np.ndarray, dni: np.ndarray, d1: np.ndarray,
                 d2: np.ndarray, d3: np.ndarray, gref: np.ndarray, ta: np.ndarray, kt: np.ndarray,
                 mstart: np.ndarray, iam_tab: np.ndarray, lossfac: float, gamma: float, dcac: float,
                 eta_ratio: float, pac0n: float, sun_dni: float, out_acm: np.ndarray,
                 out_dc: np.ndarray, out_poam: np.ndarray, out_eff: np.ndarray,
                 out_sun: np.ndarray) -> None:  # pragma: no cover - compiled
    """Monthly AC and POA, annual DC, effective irradiance and sunshine hours, per kW of pdc0.

    No horizon. Hour arrays hold the daylight hours in time order; month ``mo`` is the
    hour range ``mstart[mo]:mstart[mo + 1]``. Sums of irradiance are in Wh/m².
    """
    ntab = iam_tab.shape[0] - 2
    for i in numba.prange(cb.shape[0]):
        cbi, sbi, pci, psi, gfi = cb[i], sb[i], pc[i], ps[i], gf[i]
        opc = 1.0 + cbi
        tdc = 0.0
        teff = 0.0
        tsun = 0.0
        for mo in range(12):
            sac = 0.0
            sdc = 0.0
            spoa = 0.0
            seff = 0.0
            ssun = 0.0
            for h in range(mstart[mo], mstart[mo + 1]):
                r = _open_hour(h, cbi, pci, psi, opc, sbi, gfi, cz, sx, sy, dni, d1, d2, d3,
                               gref, ta, kt, iam_tab, ntab, lossfac, gamma, dcac, eta_ratio,
                               pac0n, sun_dni)
                sac += r[8]
                sdc += r[7]
                spoa += r[6]
                seff += r[9]
                ssun += r[10]
            out_acm[i, mo] = sac
            out_poam[i, mo] = spoa
            tdc += sdc
            teff += seff
            tsun += ssun
        out_dc[i] = tdc
        out_eff[i] = teff
        out_sun[i] = tsun


@numba.njit(parallel=True, **_JIT)
def _kernel_shaded(cb: np.ndarray, sb: np.ndarray, pc: np.ndarray, ps: np.ndarray, gf: np.ndarray,
                   rsv: np.ndarray, hz: np.ndarray, cz: np.ndarray, sx: np.ndarray, sy: np.ndarray,
                   dni: np.ndarray, d1: np.ndarray, d2: np.ndarray, d3: np.ndarray, gref: np.ndarray,
                   ta: np.ndarray, kt: np.ndarray, elev: np.ndarray, sector: np.ndarray,
                   mstart: np.ndarray, iam_tab: np.ndarray, lossfac: float, gamma: float, dcac: float,
                   eta_ratio: float, pac0n: float, sun_dni: float, out_acm: np.ndarray,
                   out_dc: np.ndarray, out_poam: np.ndarray, out_eff: np.ndarray,
                   out_sun: np.ndarray, out_ac0: np.ndarray,
                   out_poa0: np.ndarray) -> None:  # pragma: no cover - compiled
    """Sums as :func:`_kernel_open` under a horizon, plus the unshaded annual AC and POA.

    ``hz`` is (n, N) with values <= 0 set to -1e9; ``rsv`` the sky-view ratios. A
    sunshine hour also needs the sun above the facet's horizon.
    """
    ntab = iam_tab.shape[0] - 2
    for i in numba.prange(cb.shape[0]):
        cbi, sbi, pci, psi, gfi, rsi = cb[i], sb[i], pc[i], ps[i], gf[i], rsv[i]
        opc = 1.0 + cbi
        hzi = hz[i]
        tdc = 0.0
        teff = 0.0
        tsun = 0.0
        tac0 = 0.0
        tpoa0 = 0.0
        for mo in range(12):
            sac = 0.0
            sdc = 0.0
            spoa = 0.0
            seff = 0.0
            ssun = 0.0
            sac0 = 0.0
            spoa0 = 0.0
            for h in range(mstart[mo], mstart[mo + 1]):
                direct, iso, circ, sky0, ground, iam, poa0, _, ac0, _, sun0 = _open_hour(
                    h, cbi, pci, psi, opc, sbi, gfi, cz, sx, sy, dni, d1, d2, d3, gref, ta,
                    kt, iam_tab, ntab, lossfac, gamma, dcac, eta_ratio, pac0n, sun_dni)
                vis = 1.0 if elev[h] >= hzi[sector[h]] else 0.0  # sun above the horizon
                sky = min(max(rsi * iso + vis * circ, 0.0), sky0)
                dir_s = vis * direct
                poa = dir_s + sky + ground
                eff = dir_s * iam + sky + ground
                dc, ac = _dc_ac(eff, poa, ta[h], kt[h], gamma, lossfac, dcac, eta_ratio, pac0n)
                sac += ac
                sdc += dc
                spoa += poa
                seff += eff
                ssun += vis * sun0
                sac0 += ac0
                spoa0 += poa0
            out_acm[i, mo] = sac
            out_poam[i, mo] = spoa
            tdc += sdc
            teff += seff
            tsun += ssun
            tac0 += sac0
            tpoa0 += spoa0
        out_dc[i] = tdc
        out_eff[i] = teff
        out_sun[i] = tsun
        out_ac0[i] = tac0
        out_poa0[i] = tpoa0


# ----------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------

def horizon_columns(columns: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """Find and check the horizon profile columns of a facets frame.

    Parameters
    ----------
    columns : iterable of str
        Column names of the facets frame.

    Returns
    -------
    names : list of str
        The ``horizon_elev_deg_XXX`` columns ordered by sector centre (empty if none).
    centres_deg : numpy.ndarray
        Sector centre azimuths [°], clockwise from north.

    Raises
    ------
    SchemaError
        If there are fewer than 36 sectors or the centres are not ``k * 360 / N``.
    """
    found = []
    for col in columns:
        mt = _HORIZON_RE.match(str(col))
        if mt:
            found.append((int(mt.group(1)), str(col)))
        elif str(col).startswith(HORIZON_PREFIX):
            msg = (f"facets column {col!r} starts with {HORIZON_PREFIX!r} but does not end in a "
                   "3-digit sector-centre azimuth, e.g. 'horizon_elev_deg_010'; rename it")
            raise SchemaError(msg)
    if not found:
        return [], np.empty(0)
    found.sort()
    n = len(found)
    centres = np.array([a for a, _ in found], dtype=float)
    expected = np.round(np.arange(n) * 360.0 / n)
    if n < 36 or not np.array_equal(centres, expected):
        shown = listing(centres.astype(int), 5, quote=True)
        msg = (f"facets have {n} horizon column(s) with centres {shown}; "
               f"the engine needs N >= 36 equal sectors named {HORIZON_PREFIX}000, "
               f"{HORIZON_PREFIX}010, ... (centre of sector k = k*360/N degrees from north)")
        raise SchemaError(msg)
    return [c for _, c in found], np.arange(n) * 360.0 / n


def sky_view_ratio(surface_tilt: npt.ArrayLike, surface_azimuth: npt.ArrayLike,
                   horizon_elev_deg: npt.ArrayLike) -> np.ndarray:
    """Isotropic sky view of tilted facets under a horizon, relative to an open horizon.

    Parameters
    ----------
    surface_tilt : array-like of shape (n,)
        Tilt from horizontal [°].
    surface_azimuth : array-like of shape (n,)
        Azimuth [°], clockwise from north (180 = south).
    horizon_elev_deg : array-like of shape (n, N)
        Horizon elevation of N equal sectors centred on ``k * 360 / N`` [°]; values
        <= 0 are an open horizon.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``V_h / V_0`` in [0, 1] (Dozier & Frew 1990, see the module docstring); exactly
        1 for a horizon that is nowhere above 0°, 0 for a 90° horizon all round.

    References
    ----------
    .. [1] J. Dozier and J. Frew, IEEE Trans. Geosci. Remote Sens. 28(5), 963-969, 1990,
       :doi:`10.1109/36.58986`.
    """
    hz = np.ascontiguousarray(horizon_elev_deg, dtype=np.float64)
    tilt = np.ascontiguousarray(surface_tilt, dtype=np.float64)
    azim = np.ascontiguousarray(surface_azimuth, dtype=np.float64)
    return _svf_kernel(tilt, azim, hz, SVF_SAMPLES_PER_SECTOR)


def _iam_table(aoi_model: str) -> np.ndarray:
    """IAM at cos(aoi) = j / size, j = 0..size, from pvlib's own function (+1 guard)."""
    c = np.linspace(0.0, 1.0, _IAM_TABLE_SIZE + 1)
    aoi = np.degrees(np.arccos(c))
    if aoi_model == "physical":
        tab = pvlib.iam.physical(aoi)
    elif aoi_model == "ashrae":
        tab = pvlib.iam.ashrae(aoi)
    else:
        tab = np.ones_like(c)
    tab = np.nan_to_num(np.asarray(tab, dtype=float), nan=0.0)
    return np.append(tab, tab[-1])


def _temperature_factor(model: str, params: str | dict[str, float] | None, wind_speed: np.ndarray
                        ) -> tuple[np.ndarray, dict[str, float]]:
    """Per-hour k such that T_cell = T_air + k * POA (both pvlib models are linear in POA)."""
    table = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS
    if model == "sapm":
        if params is None:
            params = "close_mount_glass_glass"
        if isinstance(params, str):
            if params not in table["sapm"]:
                msg = (f"temperature_model_parameters={params!r} is not a SAPM parameter set; "
                       f"use one of {sorted(table['sapm'])} or a dict with a, b, deltaT")
                raise ConfigError(msg)
            params = table["sapm"][params]
        need: tuple[str, ...] = ("a", "b", "deltaT")
    else:
        if params is None:
            params = {"u0": 25.0, "u1": 6.84}
        need = ("u0", "u1")
    if not isinstance(params, dict) or any(k not in params for k in need):
        msg = (f"temperature_model_parameters={params!r} does not fit temperature_model="
               f"{model!r}; give a dict with keys {list(need)}")
        raise ConfigError(msg)
    p = {k: float(params[k]) for k in need}
    if model == "sapm":
        k = np.exp(p["a"] + p["b"] * wind_speed) + p["deltaT"] / 1000.0
    else:
        k = 1.0 / (p["u0"] + p["u1"] * wind_speed)
    return k, p


def _sky_terms(model: str, dhi: np.ndarray, dni: np.ndarray, dni_extra: np.ndarray, cz: np.ndarray,
               zenith_deg: np.ndarray, airmass: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-hour D1, D2, D3 with sky diffuse = max(D1 (1+cos b) + D2 max(cos aoi,0) + D3 sin b, 0).

    Mirrors pvlib.irradiance.isotropic / haydavies / perez (allsitescomposite1990).
    """
    zeros = np.zeros_like(dhi)
    if model == "isotropic":
        return 0.5 * dhi, zeros, zeros
    if model == "haydavies":
        ai = dni / dni_extra
        d1 = 0.5 * np.maximum(dhi * (1.0 - ai), 0.0)
        d2 = np.maximum(dhi * ai, 0.0) / np.maximum(cz, 0.01745)
        return d1, d2, zeros
    # perez, as pvlib.irradiance.perez
    kappa = 1.041
    z = np.radians(zenith_deg)
    delta = dhi * airmass / dni_extra
    with np.errstate(invalid="ignore", divide="ignore"):
        eps = (np.divide(dhi + dni, dhi) + kappa * z**3) / (1 + kappa * z**3)
    ebin = np.digitize(eps, (0.0, 1.065, 1.23, 1.5, 1.95, 2.8, 4.5, 6.2)) - 1
    f1c, f2c = pvirr._get_perez_coefficients("allsitescomposite1990")
    valid = (~np.isnan(eps)) & (ebin >= 0) & (~np.isnan(airmass))
    eb = np.where(valid, ebin, 0)
    f1 = np.maximum(f1c[eb, 0] + f1c[eb, 1] * delta + f1c[eb, 2] * z, 0.0)
    f2 = f2c[eb, 0] + f2c[eb, 1] * delta + f2c[eb, 2] * z
    b = np.maximum(cz, math.cos(math.radians(85.0)))
    d1 = np.where(valid, 0.5 * dhi * (1.0 - f1), 0.0)
    d2 = np.where(valid, dhi * f1 / b, 0.0)
    d3 = np.where(valid, dhi * f2, 0.0)
    return d1, d2, d3


_SUN_CACHE: OrderedDict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
_SUN_CACHE_SIZE = 8


def _sun(times: pd.DatetimeIndex, location: pvlib.location.Location, pressure: np.ndarray | None,
         temp_air: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Apparent zenith, azimuth [°], relative airmass and dni_extra [W/m²] at ``times``.

    The same calls as ModelChain makes; memoised on the inputs' bytes, because solar
    position dominates the cost of a call with few facets.
    """
    key = hashlib.blake2b(digest_size=16)
    for part in (times.asi8, temp_air, pressure if pressure is not None else np.empty(0),
                 np.array([location.latitude, location.longitude, location.altitude])):
        key.update(np.ascontiguousarray(part).tobytes())
    key.update(str(times.tz).encode())
    digest = key.hexdigest()
    if digest in _SUN_CACHE:
        _SUN_CACHE.move_to_end(digest)
        return _SUN_CACHE[digest]
    sp = location.get_solarposition(times, pressure=pressure, temperature=temp_air)
    airmass = location.get_airmass(solar_position=sp)["airmass_relative"].to_numpy()
    dni_extra = np.asarray(pvirr.get_extra_radiation(times), dtype=float)
    out = (sp["apparent_zenith"].to_numpy(dtype=float), sp["azimuth"].to_numpy(dtype=float),
           airmass, dni_extra)
    for arr in out:
        arr.flags.writeable = False
    _SUN_CACHE[digest] = out
    if len(_SUN_CACHE) > _SUN_CACHE_SIZE:
        _SUN_CACHE.popitem(last=False)
    return out


def _hourly_inputs(weather: pd.DataFrame, location: pvlib.location.Location, *, label: str,
                   transposition_model: str, temperature_model: str,
                   temperature_model_parameters: str | dict[str, float] | None, albedo: float | None,
                   nsec: int) -> tuple[dict[str, np.ndarray], float, dict[str, float]]:
    """Per-hour arrays for the daylight hours (see _yield_kernel)."""
    times = interval_middle(weather.index) if label == "start" else weather.index
    months = (weather.index if label == "start" else weather.index - pd.Timedelta("30min")).month
    temp_air = weather["temp_air"].to_numpy(dtype=float)
    pressure = weather["pressure"].to_numpy(dtype=float) if "pressure" in weather else None
    zen, az, airmass, dni_extra = _sun(times, location, pressure, temp_air)
    ghi = weather["ghi"].to_numpy(dtype=float)
    dni = weather["dni"].to_numpy(dtype=float)
    dhi = weather["dhi"].to_numpy(dtype=float)
    cz = np.cos(np.radians(zen))
    sz = np.sin(np.radians(zen))
    d1, d2, d3 = _sky_terms(transposition_model, dhi, dni, dni_extra, cz, zen, airmass)
    kt, tparams = _temperature_factor(temperature_model, temperature_model_parameters,
                                      weather["wind_speed"].to_numpy(dtype=float))
    if albedo is None and "albedo" in weather:
        gref = ghi * weather["albedo"].to_numpy(dtype=float)
        facet_albedo_default = 1.0
    else:
        gref = ghi
        facet_albedo_default = 0.25 if albedo is None else float(albedo)
    width = 360.0 / max(nsec, 1)
    sector = (np.floor((az + 0.5 * width) / width).astype(np.int64) % max(nsec, 1))
    lit = (ghi > 0) | (dni > 0) | (dhi > 0)
    arrays = {
        "cz": cz, "sx": sz * np.sin(np.radians(az)), "sy": sz * np.cos(np.radians(az)),
        "dni": dni, "d1": d1, "d2": d2, "d3": d3, "gref": gref, "ta": temp_air, "kt": kt,
        "elev": 90.0 - zen, "sector": sector.astype(np.uint64),
    }
    arrays = {k: np.ascontiguousarray(v[lit]) for k, v in arrays.items()}
    month = np.asarray(months, dtype=np.int64)[lit] - 1
    arrays["mstart"] = np.searchsorted(month, np.arange(13)).astype(np.uint64)
    return arrays, facet_albedo_default, tparams


def _check_options(opts: dict) -> dict:
    choices = {
        "transposition_model": TRANSPOSITION_MODELS,
        "aoi_model": AOI_MODELS,
        "temperature_model": TEMPERATURE_MODELS,
        "label": ("start", "middle"),
    }
    for key, options in choices.items():
        val = opts[key]
        if not isinstance(val, str) or val.lower() not in options:
            msg = f"{key}={val!r} is not supported; use one of {list(options)}"
            raise ConfigError(msg)
        opts[key] = val.lower()
    ranges = {
        "gamma_pdc": (-0.02, 0.01, "PV temperature coefficients are about -0.005..-0.002 1/°C"),
        "losses_percent": (0.0, 99.999, "PVWatts system losses in percent, default 14.08"),
        "dc_ac_ratio": (1e-3, 100.0, "DC/AC sizing ratio, typically 1.0..1.5"),
        "eta_inv_nom": (1e-3, 1.0, "nominal inverter efficiency as a fraction, e.g. 0.96"),
    }
    for key, (lo, hi, hint) in ranges.items():
        try:
            val = float(opts[key])
        except (TypeError, ValueError):
            val = float("nan")
        if not (lo <= val <= hi):
            msg = f"{key}={opts[key]!r} is outside [{lo}, {hi}]; {hint}"
            raise ConfigError(msg)
        opts[key] = val
    if opts["albedo"] is not None:
        try:
            alb = float(opts["albedo"])
        except (TypeError, ValueError):
            alb = float("nan")
        if not (0.0 <= alb <= 1.0):
            msg = f"albedo={opts['albedo']!r} is outside [0, 1]; typical ground albedo is 0.1-0.3"
            raise ConfigError(msg)
    cs = opts["chunk_size"]
    if isinstance(cs, bool) or not isinstance(cs, (int, np.integer)) or cs < 1:
        msg = f"chunk_size={cs!r} must be a positive integer (facets per batch)"
        raise ConfigError(msg)
    return opts


def _check_facets(facets: pd.DataFrame) -> tuple[list[str], bool]:
    if not isinstance(facets, pd.DataFrame):
        msg = f"facets must be a pandas DataFrame, got {type(facets).__name__}"
        raise SchemaError(msg)
    require_columns(facets, _FACET_REQUIRED, "facets", "the engine needs surface_tilt [°], "
                    "surface_azimuth [°, 180 = south] and pdc0_kw [kW] per facet")
    checks = [
        ("surface_tilt", 0.0, 90.0, "tilt from horizontal in degrees, 0..90"),
        ("surface_azimuth", 0.0, 360.0, "azimuth clockwise from north in degrees, 0..360"),
    ]
    for col, lo, hi, hint in checks:
        v = pd.to_numeric(facets[col], errors="coerce").to_numpy(dtype=float)
        bad = ~((v >= lo) & (v <= hi))
        if bad.any():
            msg = (f"facets column {col!r} is NaN or outside [{lo:g}, {hi:g}] in {bad.sum()} "
                   f"row(s), first: {listing(facets.index[bad], 5, quote=True)}; give the {hint}")
            raise SchemaError(msg)
    v = pd.to_numeric(facets["pdc0_kw"], errors="coerce").to_numpy(dtype=float)
    bad = ~(v > 0) | ~np.isfinite(v)
    if bad.any():
        msg = (f"facets column 'pdc0_kw' is NaN, zero or negative in {bad.sum()} row(s), first: "
               f"{listing(facets.index[bad], 5, quote=True)}; drop facets without capacity before simulating")
        raise SchemaError(msg)
    hcols, _ = horizon_columns(facets.columns)
    if hcols:
        hv = facets[hcols].to_numpy(dtype=float)
        bad = ~((hv >= -90.0) & (hv <= 90.0))
        if bad.any():
            rows = bad.any(axis=1)
            cols = [c for c, b in zip(hcols, bad.any(axis=0), strict=True) if b]
            msg = (f"facets horizon column(s) {listing(cols, 5, quote=True)} are NaN or outside [-90, 90] in "
                   f"{rows.sum()} row(s), first: {listing(facets.index[rows], 5, quote=True)}; give horizon "
                   "elevations in degrees (0 for an open horizon)")
            raise SchemaError(msg)
    has_alb = "albedo" in facets.columns
    if has_alb:
        v = pd.to_numeric(facets["albedo"], errors="coerce").to_numpy(dtype=float)
        bad = ~((v >= 0) & (v <= 1))
        if bad.any():
            msg = (f"facets column 'albedo' is NaN or outside [0, 1] in {bad.sum()} row(s), "
                   f"first: {listing(facets.index[bad], 5, quote=True)}; give ground albedo as a fraction")
            raise SchemaError(msg)
    return hcols, has_alb


def _check_location(location: pvlib.location.Location) -> None:
    if not isinstance(location, pvlib.location.Location):
        msg = (f"location must be a pvlib.location.Location, got {type(location).__name__}; "
               "e.g. engines.pv.weather.location_from_meta(meta)")
        raise ConfigError(msg)
    lat, lon = location.latitude, location.longitude
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        msg = (f"location latitude={lat}, longitude={lon} is outside [-90, 90] x [-180, 180]; "
               "give WGS84 degrees (Hangzhou is about 30.23 N, 120.17 E)")
        raise ConfigError(msg)


def _details(pdc0: np.ndarray, ac_n: np.ndarray, dc_n: np.ndarray, poa: np.ndarray,
             poa0: np.ndarray, eff: np.ndarray, sun: np.ndarray, poam: np.ndarray, lossfac: float,
             n_hours: int, *, monthly: bool, index: pd.Index) -> pd.DataFrame:
    """The screener's outputs from the kernels' sums (per kW of pdc0, irradiance in Wh/m²), on ``index``.

    The loss cascade, per kWp and summed over the hours (``E`` = POA, ``E_eff`` = POA
    after IAM, ``T`` = cell temperature, ``f`` = 1 - losses_percent / 100)::

        nominal     = sum E_unshaded / 1000                       (kWh/kWp at STC efficiency)
        horizon     = sum (E_unshaded - E) / 1000
        iam         = sum (E - E_eff) / 1000                      (beam only)
        temperature = sum E_eff (-gamma (T - 25)) / 1000 = sum E_eff / 1000 - DC / f
        system      = DC (1 - f) / f                              (PVWatts losses)
        inverter    = DC - AC                                     (efficiency, clipping)

    so that ``nominal - horizon - iam - temperature - system - inverter = AC``.
    """
    k = pdc0 / 1000.0  # Wh/m² per kWp -> kWh on the facet
    dc_pre = dc_n / lossfac  # DC before PVWatts losses, kWh/kWp
    out = {
        "capacity_factor": ac_n / float(n_hours),
        "poa_global_unshaded_kwh_per_m2": poa0 / 1000.0,
        "nominal_kwh": poa0 * k,
        "loss_horizon_kwh": (poa0 - poa) * k,
        "loss_iam_kwh": (poa - eff) * k,
        "loss_temperature_kwh": (eff / 1000.0 - dc_pre) * pdc0,
        "loss_system_kwh": (dc_pre - dc_n) * pdc0,
        "loss_inverter_kwh": (dc_n - ac_n) * pdc0,
        "sunshine_h": sun,
    }
    if monthly:
        for mo in range(12):
            out[f"poa_global_kwh_per_m2_{mo + 1:02d}"] = poam[:, mo] / 1000.0
    return pd.DataFrame(out, index=index)


# ----------------------------------------------------------------------------------------
# public engine
# ----------------------------------------------------------------------------------------

def simulate_facets(facets: pd.DataFrame, weather: pd.DataFrame,
                    location: pvlib.location.Location, **model: Any) -> pd.DataFrame:
    """Annual (and monthly) PV energy of many fixed facets, with optional horizon shading.

    Per facet and hour this is pvlib's ModelChain with ``dc_model='pvwatts'``,
    ``ac_model='pvwatts'``, ``losses_model='pvwatts'`` and ``spectral_model='no_loss'``:
    solar position (``nrel_numpy``, with the weather's pressure and air temperature)
    at the interval middles, ``dni_extra`` and ``kastenyoung1989`` relative airmass at
    the same times, the chosen transposition model on the apparent zenith, ground
    reflection ``ghi * albedo * (1 - cos tilt) / 2``, the chosen IAM on the beam only,
    cell temperature from POA global, PVWatts DC times ``(1 - losses_percent/100)``, and
    the PVWatts inverter with ``pdc0_inv = pdc0 / dc_ac_ratio`` evaluated every hour.
    Horizon shading is applied as described in the module docstring.

    Parameters
    ----------
    facets : pandas.DataFrame
        One row per facet: ``surface_tilt`` [°, 0..90], ``surface_azimuth`` [°, 0..360,
        clockwise from north, 180 = south], ``pdc0_kw`` [kW, DC at STC]; optional
        ``horizon_elev_deg_000`` ... (N >= 36 sectors) [°] and ``albedo`` [-].
    weather : pandas.DataFrame
        A full hourly year (8760/8784 rows, tz-aware) with ``ghi``, ``dni``, ``dhi``
        [W/m²], ``temp_air`` [°C], ``wind_speed`` [m/s], optional ``pressure`` [Pa] and
        ``albedo`` [-], as from :func:`engines.pv.weather.read_epw`; checked with
        :func:`~engines.pv.weather.validate_weather`.
    location : pvlib.location.Location
        Site (latitude, longitude, altitude).
    **model
        Options named as in pvlib (defaults in :data:`DEFAULTS`):

        transposition_model : {'perez', 'haydavies', 'isotropic'}
        aoi_model : {'physical', 'ashrae', 'no_loss'}
            IAM with pvlib's default parameters.
        temperature_model : {'sapm', 'faiman'}
        temperature_model_parameters : str or dict
            A key of ``pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS['sapm']`` or a dict
            (``a, b, deltaT`` for sapm; ``u0, u1`` for faiman).
        gamma_pdc : float
            Temperature coefficient of power [1/°C].
        losses_percent : float
            PVWatts system losses [%] (:func:`pvlib.pvsystem.pvwatts_losses`).
        dc_ac_ratio : float
            DC/AC sizing ratio; inverter ``pdc0_inv = pdc0 / dc_ac_ratio`` [-].
        eta_inv_nom : float
            Nominal inverter efficiency [-] (reference efficiency 0.9637).
        albedo : float, optional
            Ground albedo [-] for every facet; default: the weather's ``albedo`` column
            if present, else 0.25. A facets ``albedo`` column wins over both.
        monthly : bool
            Add ``ac_kwh_01`` ... ``ac_kwh_12`` (and, with ``details``,
            ``poa_global_kwh_per_m2_01`` ... ``_12``).
        details : bool
            Add the screener's outputs (below).
        chunk_size : int
            Facets per batch handed to the compiled kernel (bounds the memory of the
            per-batch arrays; results do not depend on it).
        label : {'start', 'middle'}
            What the weather index marks: interval starts (sun at +30 min) or middles.

    Returns
    -------
    pandas.DataFrame
        On ``facets.index``: ``ac_kwh`` [kWh] (annual AC), ``dc_kwh`` [kWh] (annual DC
        after PVWatts losses, i.e. the inverter input), ``specific_yield_kwh_per_kwp``
        [kWh/kWp] (``ac_kwh / pdc0_kw``), ``shading_loss_fraction`` [-] (``1 - ac_kwh /
        ac_kwh`` without horizon; 0 without horizon columns), ``poa_global_kwh_per_m2``
        [kWh/m²] (annual plane-of-array irradiation, with horizon), and
        ``ac_kwh_01`` .. ``ac_kwh_12`` [kWh] when ``monthly=True``. With
        ``details=True`` also: ``capacity_factor`` [-] (``ac_kwh / (pdc0_kw x hours of the
        weather year)``, on the DC nameplate as PVWatts reports it),
        ``poa_global_unshaded_kwh_per_m2`` [kWh/m²] (POA without horizon),
        ``nominal_kwh`` [kWh] (that POA x ``pdc0_kw`` / 1 kW/m²), the loss cascade
        ``loss_horizon_kwh``, ``loss_iam_kwh``, ``loss_temperature_kwh`` (negative when
        cells run below 25 °C), ``loss_system_kwh`` (PVWatts losses) and
        ``loss_inverter_kwh`` [kWh], which add up to ``nominal_kwh - ac_kwh``,
        ``sunshine_h`` [h] (hours in which the sun is in front of the facet, above its
        horizon and ``dni >`` :data:`SUNSHINE_DNI_W_PER_M2`: the WMO sunshine criterion
        applied to the facet's own beam), and monthly POA when ``monthly=True``.

    Raises
    ------
    SchemaError
        Bad facets (missing columns, NaN or out-of-range tilt/azimuth/horizon/albedo,
        non-positive ``pdc0_kw``) or bad weather; the message names rows and columns.
    ConfigError
        Unknown model names (the message lists the options), out-of-range options or
        a bad location.

    Notes
    -----
    Without horizon, annual AC energy agrees with ModelChain run on
    ``weather.set_axis(weather.index + 30 min)`` to about 1e-9 relative (the IAM is
    linearly interpolated from an 8193-point table of pvlib's own function). One
    deliberate difference: in hours with ``dhi = dni = 0`` but ``ghi > 0`` (inconsistent
    data; the CSWD file has a few) pvlib's Perez model returns NaN and ModelChain counts
    the hour as 0 AC, while the engine keeps the ground-reflected part (about 3e-5 of
    the annual energy of a steep facet there). Energy is linear in ``pdc0_kw`` because
    the inverter is sized with the facet. Hours with no irradiance are skipped. Each
    facet's result is computed by the same instruction sequence wherever it sits, so
    results do not depend on facet order or ``chunk_size``.

    Examples
    --------
    >>> weather, meta = read_epw("data/real/weather/CHN_Zhejiang.Hangzhou.584570_CSWD.epw")
    >>> facets = pd.DataFrame({"surface_tilt": [25.0], "surface_azimuth": [180.0],
    ...                        "pdc0_kw": [5.0]})
    >>> simulate_facets(facets, weather, location_from_meta(meta))  # doctest: +SKIP
    """
    unknown = sorted(set(model) - set(DEFAULTS))
    if unknown:
        msg = f"unknown model option(s) {unknown}; valid options are {sorted(DEFAULTS)}"
        raise ConfigError(msg)
    opts = _check_options({**DEFAULTS, **model})
    hcols, has_alb = _check_facets(facets)
    _check_location(location)
    weather, _ = validate_weather(weather)  # a typical year with mixed years comes back on one year

    nsec = len(hcols)
    if has_alb and "albedo" in weather.columns:
        # a facets albedo column wins over the weather's (never multiply the two)
        weather = weather.drop(columns="albedo")
    hours, alb_default, _ = _hourly_inputs(
        weather, location, label=opts["label"],
        transposition_model=opts["transposition_model"],
        temperature_model=opts["temperature_model"],
        temperature_model_parameters=opts["temperature_model_parameters"],
        albedo=opts["albedo"], nsec=nsec)
    iam_tab = _iam_table(opts["aoi_model"])
    lossfac = (100.0 - opts["losses_percent"]) / 100.0
    dcac = opts["dc_ac_ratio"]
    eta_nom = opts["eta_inv_nom"]
    eta_ratio = eta_nom / _ETA_INV_REF
    pac0n = eta_nom / dcac  # inverter AC limit per kW of module pdc0

    n = len(facets)
    acm = np.zeros((n, 12))
    dc = np.zeros(n)
    poam = np.zeros((n, 12))
    eff = np.zeros(n)
    sun = np.zeros(n)
    ac0 = np.zeros(n)
    poa0 = np.zeros(n)
    step = int(opts["chunk_size"])
    for s in range(0, n, step):
        e = min(n, s + step)
        part = facets.iloc[s:e]
        tilt = part["surface_tilt"].to_numpy(dtype=float)
        azim = part["surface_azimuth"].to_numpy(dtype=float)
        b = np.radians(tilt)
        a = np.radians(azim)
        cb = np.cos(b)
        sb = np.sin(b)
        alb = part["albedo"].to_numpy(dtype=float) if has_alb else alb_default
        gf = np.ascontiguousarray(alb * (1.0 - cb) * 0.5 * np.ones_like(cb))
        if nsec:
            hz = part[hcols].to_numpy(dtype=float)
            rsv = sky_view_ratio(tilt, azim, hz)
            hz = np.where(hz > 0.0, hz, -1.0e9)  # <= 0: open horizon, never blocks the sun
        pc = sb * np.cos(a)
        ps = sb * np.sin(a)
        common = (iam_tab, lossfac, opts["gamma_pdc"], dcac, eta_ratio, pac0n, SUNSHINE_DNI_W_PER_M2)
        hr = hours
        if nsec:
            _kernel_shaded(cb, sb, pc, ps, gf, rsv, hz, hr["cz"], hr["sx"], hr["sy"], hr["dni"],
                           hr["d1"], hr["d2"], hr["d3"], hr["gref"], hr["ta"], hr["kt"],
                           hr["elev"], hr["sector"], hr["mstart"], *common,
                           acm[s:e], dc[s:e], poam[s:e], eff[s:e], sun[s:e], ac0[s:e], poa0[s:e])
        else:
            _kernel_open(cb, sb, pc, ps, gf, hr["cz"], hr["sx"], hr["sy"], hr["dni"], hr["d1"],
                         hr["d2"], hr["d3"], hr["gref"], hr["ta"], hr["kt"], hr["mstart"],
                         *common, acm[s:e], dc[s:e], poam[s:e], eff[s:e], sun[s:e])

    pdc0 = facets["pdc0_kw"].to_numpy(dtype=float)
    ac_n = acm.sum(axis=1)
    out = pd.DataFrame(index=facets.index)
    out["ac_kwh"] = ac_n * pdc0
    out["dc_kwh"] = dc * pdc0
    out["specific_yield_kwh_per_kwp"] = ac_n
    if nsec:
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(ac0 > 0, 1.0 - ac_n / ac0, 0.0)
        out["shading_loss_fraction"] = np.clip(loss, 0.0, 1.0)
    else:
        out["shading_loss_fraction"] = 0.0
    poa = np.zeros(n)
    for mo in range(12):  # the kernels' order of summation
        poa += poam[:, mo]
    out["poa_global_kwh_per_m2"] = poa / 1000.0
    if opts["monthly"]:
        for mo in range(12):
            out[f"ac_kwh_{mo + 1:02d}"] = acm[:, mo] * pdc0
    if opts["details"]:
        out = out.join(_details(pdc0, ac_n, dc, poa, poa0 if nsec else poa, eff, sun, poam,
                                lossfac, len(weather), monthly=opts["monthly"], index=facets.index))
    logger.debug("simulated %d facets x %d daylight hours (%s, %s, %s, horizon sectors: %d)",
                 n, len(hours["cz"]), opts["transposition_model"], opts["aoi_model"],
                 opts["temperature_model"], nsec)
    return out
