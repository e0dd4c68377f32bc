"""Raster class calibration and the land-cover classes a raster cannot see.

Two tables of ``data/sinks`` turn a land-cover raster's class codes into twin
classes for the sink accounting, and ``data/sinks/calibration.toml`` writes down
how their numbers were fitted (what to what, with which tolerance and why):

``raster_classes.csv``
    One or more rows per (``scheme``, ``source_code``): the twin class
    ``lc_class`` that takes ``share`` of the code's area, and for forest classes
    the growing stock ``growing_stock_m3_per_ha`` [m³/ha] given to that area. The
    shares of a code sum to 1. A code without a row keeps the class table's one class
    with share 1 and no growing stock (Tier-1 class densities). MODIS woody savanna
    (IGBP 8, tree cover 30-60 %) is open forest: only part of a 0.05° cell is
    forest land, and its stand volume is lower than that of closed forest (IGBP 1-5,
    tree cover > 60 %).
``hidden_classes.csv``
    Classes a raster cannot see (bamboo, tea gardens): per city and district, an
    area [mu] carved out of the district's ``forest`` rows (bamboo is forest: the
    forest area stays) or ``vegetation`` rows (shrubland, grassland, cropland,
    orchard), spread over the district's townships in proportion to those rows.
    A row with an empty ``district_adcode`` is a city total: the districts with
    their own row keep theirs, the remainder is spread over the other districts in
    proportion to their carve-from area.

References
----------
.. [1] Friedl, M. A. et al. (2010). MODIS Collection 5 global land cover. Remote Sens.
   Environ. 114: 168-182 (IGBP class definitions: forests > 60 % tree cover, woody
   savannas 30-60 %, savannas 10-30 %).
.. [2] 杭州市应对气候变化“十四五”规划, seed 001:75 (forest area, growing stock, stand
   volume per mu, vegetation carbon, 13th-FYP stock gain).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import ConfigError, SchemaError, require_columns
from twin.schema import LANDCOVER_CLASSES

__all__ = [
    "CARVE_FROM",
    "HIDDEN_COLUMNS",
    "RASTER_CLASS_COLUMNS",
    "carve_hidden_classes",
    "fit_closed_stock",
    "fit_forest_share",
    "fit_loss_fraction",
    "read_hidden_classes",
    "read_raster_classes",
    "split_raster_areas",
]

logger = logging.getLogger(__name__)

#: Columns of ``raster_classes.csv``.
RASTER_CLASS_COLUMNS = ("scheme", "source_code", "lc_class", "share", "growing_stock_m3_per_ha",
                        "source", "note")
#: Columns of ``hidden_classes.csv``.
HIDDEN_COLUMNS = ("city", "district_adcode", "name_zh", "lc_class", "area_mu", "year", "carve_from",
                  "source", "note")
_VOLUME = ("evergreen_needleleaf_forest", "evergreen_broadleaf_forest", "deciduous_needleleaf_forest",
           "deciduous_broadleaf_forest", "mixed_forest")
#: Rows a hidden class is carved from.
CARVE_FROM = {"forest": _VOLUME, "vegetation": ("shrubland", "grassland", "cropland", "orchard")}
_M2_PER_MU = 10_000.0 / 15.0


def read_raster_classes(path: str | Path) -> pd.DataFrame:
    """Read and check ``raster_classes.csv``.

    Raises
    ------
    ConfigError
        Missing columns, an unknown class, a share outside [0, 1], shares of a code
        not summing to 1, a negative growing stock or an empty source; the message names
        the lines.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(df, RASTER_CLASS_COLUMNS, str(path), "see data/sinks/raster_classes.csv",
                    error=ConfigError)
    problems = []
    out = df.copy()
    out["source_code"] = pd.to_numeric(out["source_code"], errors="coerce")
    out["share"] = pd.to_numeric(out["share"], errors="coerce")
    out["growing_stock_m3_per_ha"] = pd.to_numeric(out["growing_stock_m3_per_ha"].replace("", "nan"),
                                                   errors="coerce")
    for i, r in enumerate(out.itertuples(index=False), start=2):
        if not np.isfinite(r.source_code):
            problems.append(f"line {i}: source_code is not a number")
        if r.lc_class not in LANDCOVER_CLASSES:
            problems.append(f"line {i}: lc_class {r.lc_class!r} is not a twin class")
        if not (np.isfinite(r.share) and 0.0 <= r.share <= 1.0):
            problems.append(f"line {i}: share must be in [0, 1]")
        if np.isfinite(r.growing_stock_m3_per_ha) and r.growing_stock_m3_per_ha < 0:
            problems.append(f"line {i}: growing_stock_m3_per_ha is negative")
        if not str(r.source).strip():
            problems.append(f"line {i}: empty source (every number needs its citation)")
    if not problems:
        sums = out.groupby(["scheme", "source_code"])["share"].sum()
        problems += [f"shares of {k[0]} code {int(k[1])} sum to {v:.4f}, not 1"
                     for k, v in sums.items() if abs(v - 1.0) > 1e-6]
    if problems:
        msg = f"{path}: " + "; ".join(problems[:20])
        raise ConfigError(msg)
    out["source_code"] = out["source_code"].astype("int64")
    return out


def read_hidden_classes(path: str | Path) -> pd.DataFrame:
    """Read and check ``hidden_classes.csv``.

    Raises
    ------
    ConfigError
        Missing columns, unknown class or ``carve_from``, a negative area, an empty source.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(df, HIDDEN_COLUMNS, str(path), "see data/sinks/hidden_classes.csv",
                    error=ConfigError)
    out = df.copy()
    out["area_mu"] = pd.to_numeric(out["area_mu"], errors="coerce")
    problems = []
    for i, r in enumerate(out.itertuples(index=False), start=2):
        if r.lc_class not in LANDCOVER_CLASSES:
            problems.append(f"line {i}: lc_class {r.lc_class!r} is not a twin class")
        if r.carve_from not in CARVE_FROM:
            problems.append(f"line {i}: carve_from {r.carve_from!r} not in {sorted(CARVE_FROM)}")
        if not (np.isfinite(r.area_mu) and r.area_mu >= 0):
            problems.append(f"line {i}: area_mu must be a number >= 0")
        if not str(r.source).strip():
            problems.append(f"line {i}: empty source (every number needs its citation)")
    dup = out.duplicated(["city", "district_adcode", "lc_class"])
    problems += [f"line {i + 2}: duplicate city/district/class" for i in np.flatnonzero(dup.to_numpy())]
    if problems:
        msg = f"{path}: " + "; ".join(problems[:20])
        raise ConfigError(msg)
    return out


def split_raster_areas(counts: pd.DataFrame, class_table: dict[int, str],
                       raster_classes: pd.DataFrame | None, scheme: str
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Map class codes to twin classes with the calibrated shares and growing stocks.

    Parameters
    ----------
    counts : DataFrame
        ``zone``, ``code``, ``n_pixels``, ``area_m2`` (:attr:`engines.sinks.raster.ZonalCounts.table`).
    class_table : dict of int to str
        Source code -> twin class (``''`` = nodata).
    raster_classes : DataFrame or None
        From :func:`read_raster_classes`; rows of other schemes are ignored.
    scheme : str
        The raster's class scheme (e.g. ``modis_igbp``).

    Returns
    -------
    areas : DataFrame
        ``zone``, ``lc_class``, ``area_m2``, ``growing_stock_m3_per_ha`` (NaN where none),
        ``source_code``.
    unknown, nodata : DataFrame
        As :func:`engines.sinks.raster.class_areas`.
    """
    from engines.sinks.raster import class_areas

    by_code = counts.groupby(["zone", "code"], as_index=False)[["n_pixels", "area_m2"]].sum()
    _, unknown, nodata = class_areas(by_code, class_table)
    known = by_code["code"].map(lambda c: class_table.get(int(c)) if c >= 0 else "")
    mapped = by_code.loc[known.notna() & (known != "")].assign(lc_class=known)
    split = (raster_classes.loc[raster_classes["scheme"] == scheme]
             if raster_classes is not None else pd.DataFrame(columns=list(RASTER_CLASS_COLUMNS)))
    codes = set(split["source_code"].astype(int))
    plain = mapped.loc[~mapped["code"].isin(codes)].assign(share=1.0, growing_stock_m3_per_ha=np.nan)
    cal = mapped.loc[mapped["code"].isin(codes)].drop(columns="lc_class").merge(
        split[["source_code", "lc_class", "share", "growing_stock_m3_per_ha"]],
        left_on="code", right_on="source_code").drop(columns="source_code")
    rows = pd.concat([plain, cal], ignore_index=True)
    rows["area_m2"] = rows["area_m2"] * rows["share"]
    rows = rows.rename(columns={"code": "source_code"})
    return (rows[["zone", "lc_class", "area_m2", "growing_stock_m3_per_ha", "source_code"]]
            .reset_index(drop=True), unknown, nodata)


def carve_hidden_classes(areas: pd.DataFrame, hidden: pd.DataFrame | None, city: str
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carve the classes the raster cannot see out of the district's forest or vegetation rows.

    Parameters
    ----------
    areas : DataFrame
        ``township_code``, ``district_adcode``, ``lc_class``, ``area_m2`` and optionally
        ``growing_stock_m3_per_ha`` (one row per township, class and stock).
    hidden : DataFrame or None
        From :func:`read_hidden_classes`.
    city : str
        City id; rows of other cities are ignored.

    Returns
    -------
    areas : DataFrame
        The rows with their areas reduced and the hidden classes added (no growing stock);
        the total area of every township is unchanged.
    report : DataFrame
        Per district and class: ``area_mu_wanted``, ``area_mu_carved`` (less when the
        district has too little carve-from area) and the source row.
    """
    out = areas.copy().reset_index(drop=True)
    if "growing_stock_m3_per_ha" not in out.columns:
        out["growing_stock_m3_per_ha"] = np.nan
    rows = hidden.loc[hidden["city"] == city] if hidden is not None else pd.DataFrame()
    report = []
    if rows.empty:
        return out, pd.DataFrame(columns=["district_adcode", "lc_class", "area_mu_wanted",
                                          "area_mu_carved", "source"])
    add = []
    for (cls, carve), grp in rows.groupby(["lc_class", "carve_from"], sort=True):
        pool = out["lc_class"].isin(CARVE_FROM[carve]).to_numpy()
        avail = out.loc[pool].groupby("district_adcode")["area_m2"].sum()
        own = grp.loc[grp["district_adcode"] != ""]
        want = {str(r.district_adcode): float(r.area_mu) * _M2_PER_MU for r in own.itertuples()}
        src = {str(r.district_adcode): str(r.source) for r in own.itertuples()}
        total = grp.loc[grp["district_adcode"] == ""]
        if len(total):
            rest = max(0.0, float(total["area_mu"].iloc[0]) * _M2_PER_MU - sum(want.values()))
            others = avail.loc[[d for d in avail.index if d not in want and d]]
            if others.sum() > 0:
                for d, a in others.items():
                    want[str(d)] = rest * float(a) / float(others.sum())
                    src[str(d)] = f"city remainder: {total['source'].iloc[0]}"
        for d, w in want.items():
            have = float(avail.get(d, 0.0))
            take = min(w, have)
            report.append({"district_adcode": d, "lc_class": cls, "area_mu_wanted": w / _M2_PER_MU,
                           "area_mu_carved": take / _M2_PER_MU, "source": src[d]})
            if take <= 0:
                continue
            m = pool & (out["district_adcode"] == d).to_numpy()
            frac = take / have
            cut = out.loc[m, "area_m2"] * frac
            out.loc[m, "area_m2"] = out.loc[m, "area_m2"] - cut
            per_t = cut.groupby(out.loc[m, "township_code"]).sum()
            add.append(pd.DataFrame({"township_code": per_t.index, "district_adcode": d,
                                     "lc_class": cls, "area_m2": per_t.to_numpy(),
                                     "growing_stock_m3_per_ha": np.nan}))
    if add:
        out = pd.concat([out, *add], ignore_index=True)
    rep = pd.DataFrame(report)
    short = rep.loc[rep["area_mu_carved"] < rep["area_mu_wanted"] * (1 - 1e-9)] if len(rep) else rep
    for r in short.itertuples():
        logger.warning("district %s: %s %.0f mu wanted, only %.0f mu of carve-from area",
                       r.district_adcode, r.lc_class, r.area_mu_wanted, r.area_mu_carved)
    return out, rep


# --- the fits written down in data/sinks/calibration.toml ------------------------------------

def fit_forest_share(closed_forest_m2: float, open_forest_m2: float, reference_forest_m2: float) -> float:
    """Share of open-forest (woody savanna) area that is forest land, so the total matches.

    ``closed + share x open = reference``; raises when the reference lies outside
    [closed, closed + open] (no share in [0, 1] fits).
    """
    if open_forest_m2 <= 0:
        msg = "no open-forest area to fit a share on"
        raise SchemaError(msg)
    share = (reference_forest_m2 - closed_forest_m2) / open_forest_m2
    if not 0.0 <= share <= 1.0:
        msg = (f"reference forest area {reference_forest_m2:.0f} m2 is outside closed "
               f"{closed_forest_m2:.0f} .. closed + open {closed_forest_m2 + open_forest_m2:.0f} m2")
        raise SchemaError(msg)
    return float(share)


def fit_closed_stock(closed_arbor_m2: float, open_arbor_m2: float, ratio_open_to_closed: float,
                     reference_stock_m3: float) -> float:
    """Closed-forest stand volume [m³/ha] such that the arbor area holds the reported stock.

    ``V x closed_ha + ratio x V x open_ha = reference``.
    """
    denom = (closed_arbor_m2 + ratio_open_to_closed * open_arbor_m2) / 10_000.0
    if denom <= 0:
        msg = "no arbor forest area to fit a stand volume on"
        raise SchemaError(msg)
    return float(reference_stock_m3 / denom)


def fit_loss_fraction(gross_increment_m3_per_ha: float, net_increment_m3_per_ha: float,
                      stand_volume_m3_per_ha: float) -> float:
    """Annual loss fraction (harvest + mortality) so that gross - loss x V equals the net increment."""
    if stand_volume_m3_per_ha <= 0:
        msg = "stand volume must be positive"
        raise SchemaError(msg)
    return float((gross_increment_m3_per_ha - net_increment_m3_per_ha) / stand_volume_m3_per_ha)
