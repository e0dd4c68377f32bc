"""Carbon factor tables: read and validate ``data/sinks/*.csv``, every number with its citation.

Three tables, each with ``low``, ``central`` and ``high`` values and the columns
``source``, ``table`` and ``note`` (``note`` starts with ``unverified`` where the
exact table could not be checked against the original document):

``carbon_pools.csv``
    Carbon stock density [t C/ha] per twin land-cover class and pool
    (:data:`POOLS`: above-ground biomass, below-ground biomass, dead organic
    matter, soil organic carbon 0-30 cm). IPCC 2006 Tier 1 [1]_, the 2013
    Wetlands Supplement [2]_, Moso bamboo [4]_ and tea-garden literature.
``forest_parameters.csv``
    Volume-to-carbon parameters per forest class (:data:`FOREST_PARAMETERS`):
    wood density [t d.m./m³], biomass expansion factor, root-to-shoot ratio,
    carbon fraction, and an annual loss fraction, from the Chinese species
    table of the CCER afforestation methodology [3]_.
``growth_rates.csv``
    Gain rates per class and forest age class: stand volume increment
    [m³/ha/yr] for forests with growing stock, carbon accumulation
    [t C/ha/yr] for other classes. The row with an empty age class is the
    default when the age is unknown.

The ``low``/``high`` values are carried through every calculation as bounds
(all factors at their low or high end), not as a statistical confidence interval.

References
----------
.. [1] IPCC (2006). 2006 IPCC Guidelines for National Greenhouse Gas Inventories,
   Vol. 4 AFOLU, Ch. 2 (Tables 2.2, 2.3), Ch. 4 (Tables 4.3, 4.4, 4.7), Ch. 5
   (Tables 5.1, 5.5), Ch. 6 (Table 6.4). https://www.ipcc-nggip.iges.or.jp/public/2006gl/vol4.html
.. [2] IPCC (2014). 2013 Supplement to the 2006 IPCC Guidelines: Wetlands, Ch. 4 and 5.
   https://www.ipcc-nggip.iges.or.jp/public/wetlands/
.. [3] 国家发展和改革委员会 / 生态环境部. 碳汇造林项目方法学 AR-CM-001-V01 (CCER),
   and 省级温室气体清单编制指南（试行）(2011): species parameters for Chinese forests.
.. [4] 周国模, 姜培坤 (2004). 毛竹林的碳密度和碳贮量及其空间分布. 林业科学 40(6): 20-24.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin.config import DATA_DIR
from twin.errors import ConfigError, require_columns
from twin.schema import LANDCOVER_CLASSES

__all__ = [
    "AGE_CLASSES",
    "BOUNDS",
    "DEFAULT_FACTOR_DIR",
    "FOREST_CLASSES",
    "FOREST_PARAMETERS",
    "POOLS",
    "VOLUME_CLASSES",
    "FactorSet",
    "read_factors",
    "validate_factor_table",
]

logger = logging.getLogger(__name__)

#: Shipped factor tables.
DEFAULT_FACTOR_DIR = DATA_DIR / "sinks"
#: Carbon pools: above-ground biomass, below-ground biomass, dead wood + litter, soil.
POOLS = ("agb", "bgb", "dom", "soil")
#: Uncertainty bounds carried through every calculation.
BOUNDS = ("low", "central", "high")
#: Twin classes counted as forest (森林), bamboo included.
FOREST_CLASSES = tuple(c for c in LANDCOVER_CLASSES if c.endswith("_forest"))
#: Forest classes whose stock can come from growing-stock volume (bamboo is not measured in m³).
VOLUME_CLASSES = tuple(c for c in FOREST_CLASSES if c != "bamboo_forest")
#: Chinese inventory age classes (龄组).
AGE_CLASSES = ("young", "middle", "near_mature", "mature", "over_mature")
#: Volume-to-carbon parameters per forest class.
FOREST_PARAMETERS = ("wood_density", "bef", "root_shoot", "carbon_fraction", "loss_fraction",
                     "tending_gain_factor")

_PARAM_UNITS = {"wood_density": ("t_dm_per_m3",), "bef": ("ratio",), "root_shoot": ("ratio",),
                "carbon_fraction": ("fraction",), "loss_fraction": ("fraction_per_yr",),
                "tending_gain_factor": ("ratio",)}
_RATE_UNITS = ("m3_per_ha_per_yr", "t_c_per_ha_per_yr")
_CITATION = ("source", "table")


@dataclass(frozen=True)
class FactorSet:
    """Validated factor tables.

    Attributes
    ----------
    pools : dict of str to DataFrame
        Bound -> carbon density [t C/ha], index lc_class, columns :data:`POOLS`.
    forest : dict of str to DataFrame
        Bound -> parameters, index lc_class (:data:`VOLUME_CLASSES`), columns
        :data:`FOREST_PARAMETERS`.
    growth : DataFrame
        Index (lc_class, forest_age_class); columns ``unit``, ``low``, ``central``, ``high``.
    citations : DataFrame
        Every row of the tables with its table name and ``is_unverified``, for reports.
    raster_classes : DataFrame or None
        Calibrated raster class shares and stand volumes
        (:func:`engines.sinks.calibration.read_raster_classes`), when the folder has them.
    hidden : DataFrame or None
        Classes a raster cannot see, per district
        (:func:`engines.sinks.calibration.read_hidden_classes`), when the folder has them.
    baseline_tolerance_pct : dict or None
        Indicator -> tolerance [%] against a reported baseline (``calibration.toml``).
    """

    pools: dict
    forest: dict
    growth: pd.DataFrame
    citations: pd.DataFrame
    raster_classes: pd.DataFrame | None = None
    hidden: pd.DataFrame | None = None
    baseline_tolerance_pct: dict[str, float] | None = None

    def density(self, bound: str = "central") -> pd.Series:
        """Total carbon density per class [t C/ha] (sum of the pools)."""
        return self.pools[bound].sum(axis=1)

    def unverified(self, classes: Iterable[str], kind: str) -> list[str]:
        """Unverified factor rows (note starting ``unverified``) that a result of ``kind`` uses.

        Parameters
        ----------
        classes : iterable of str
            Classes present (with area) in the result.
        kind : str
            ``forest_carbon`` (biomass pools and volume parameters of forest classes),
            ``stock`` (every pool and volume parameter), ``uptake`` (growth rates and
            volume parameters) or ``hidden`` (the hidden-class areas).

        Returns
        -------
        list of str
            ``table:class/key`` labels, sorted; empty when every factor used is sourced.
        """
        cls = set(classes)
        c = self.citations
        if kind == "forest_carbon":
            cls &= set(FOREST_CLASSES)
        flag = c["is_unverified"] & c["lc_class"].isin(cls)
        if kind in ("forest_carbon", "stock"):
            pools = ("agb", "bgb") if kind == "forest_carbon" else POOLS
            use = ((c["table_name"] == "carbon_pools") & c["pool"].isin(pools)) | (
                (c["table_name"] == "forest_parameters")
                & c["parameter"].isin(["wood_density", "bef", "root_shoot", "carbon_fraction"]))
        elif kind == "uptake":
            use = c["table_name"].isin(["growth_rates", "forest_parameters"])
        elif kind == "hidden":
            use = c["table_name"] == "hidden_classes"
        else:
            msg = f"unknown kind {kind!r}"
            raise ValueError(msg)
        sel = c.loc[flag & use]
        key = sel["pool"].where(sel["pool"] != "", sel["parameter"]).where(
            lambda k: k != "", sel["forest_age_class"].where(sel["forest_age_class"] != "", "default"))
        return sorted({f"{t}:{a}/{k}" for t, a, k in zip(sel["table_name"], sel["lc_class"], key,
                                                          strict=True)})


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        msg = f"factor table {path} not found; copy it from {DEFAULT_FACTOR_DIR}"
        raise ConfigError(msg)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def validate_factor_table(df: pd.DataFrame, key: list[str], *, name: str,
                          units: dict | tuple | None = None) -> pd.DataFrame:
    """Check one factor table and return it with numeric ``low``/``central``/``high``.

    Parameters
    ----------
    df : DataFrame
        The table as read (all text).
    key : list of str
        Columns that identify a row (must be unique).
    name : str
        File name for messages.
    units : dict or tuple, optional
        Allowed ``unit`` values: a tuple, or a dict keyed by the value of ``key[-1]``.

    Raises
    ------
    ConfigError
        Listing every problem: missing columns, empty citation, non-numeric or
        negative values, low > central > high, wrong unit, duplicate keys.
    """
    need = [*key, "unit", *BOUNDS, *_CITATION, "note"]
    require_columns(df, need, name, f"a factor table needs {', '.join(need)}", error=ConfigError)
    problems = []
    out = df.copy()
    i: int | np.integer  # row numbers below come from numpy and from enumerate
    for b in BOUNDS:
        num = pd.to_numeric(out[b].str.strip(), errors="coerce")
        for i in np.flatnonzero(num.isna().to_numpy()):
            problems.append(f"line {i + 2}: {b} {out[b].iloc[i]!r} is not a number")
        for i in np.flatnonzero((num < 0).to_numpy()):
            problems.append(f"line {i + 2}: {b} is negative")
        out[b] = num.astype("float64")
    bad = np.flatnonzero(((out["low"] > out["central"]) | (out["central"] > out["high"])).to_numpy())
    problems += [f"line {i + 2}: needs low <= central <= high" for i in bad]
    for col in _CITATION:
        for i in np.flatnonzero((out[col].str.strip() == "").to_numpy()):
            problems.append(f"line {i + 2}: empty {col} (every number needs its citation)")
    for i, row in enumerate(out.itertuples(index=False), start=2):
        rowd = row._asdict()
        allowed = units.get(rowd[key[-1]], ()) if isinstance(units, dict) else units
        if allowed is not None and rowd["unit"] not in allowed:  # a missing key allows nothing
            problems.append(f"line {i}: unit {rowd['unit']!r} not allowed here; use {list(allowed)}")
    dup = out.duplicated(key, keep="first")
    problems += [f"line {i + 2}: duplicate {key} {tuple(out.loc[out.index[i], key])}"
                 for i in np.flatnonzero(dup.to_numpy())]
    if problems:
        msg = f"{name}: " + "; ".join(problems[:20]) + (" ..." if len(problems) > 20 else "")
        raise ConfigError(msg)
    return out


def _check_classes(values: Iterable[str], name: str, column: str) -> list[str]:
    return [f"{column} {v!r} is not a twin class" for v in sorted(set(values) - set(LANDCOVER_CLASSES))]


def read_factors(folder: str | Path | None = None) -> FactorSet:
    """Read and validate the three factor tables of ``folder`` (default :data:`DEFAULT_FACTOR_DIR`).

    Raises
    ------
    ConfigError
        A missing table, column, class, pool, parameter or unit, naming the file and the fix.
    """
    folder = Path(folder) if folder is not None else DEFAULT_FACTOR_DIR
    # --- pools
    name = str(folder / "carbon_pools.csv")
    pools = validate_factor_table(_read_csv(folder / "carbon_pools.csv"), ["lc_class", "pool"],
                                  name=name, units=("t_c_per_ha",))
    problems = _check_classes(pools["lc_class"], name, "lc_class")
    problems += [f"pool {p!r} is not one of {POOLS}" for p in sorted(set(pools["pool"]) - set(POOLS))]
    have = set(zip(pools["lc_class"], pools["pool"], strict=True))
    missing = [f"{c}/{p}" for c in LANDCOVER_CLASSES for p in POOLS if (c, p) not in have]
    if missing:
        problems.append(f"missing class/pool rows {missing[:12]}{' ...' if len(missing) > 12 else ''}"
                        " (add a row per class and pool; use 0 with a citation for an empty pool)")
    if problems:
        msg = f"{name}: " + "; ".join(problems)
        raise ConfigError(msg)
    pool_frames = {b: pools.pivot(index="lc_class", columns="pool", values=b)
                   .reindex(index=list(LANDCOVER_CLASSES), columns=list(POOLS)) for b in BOUNDS}
    # --- forest parameters
    name = str(folder / "forest_parameters.csv")
    forest = validate_factor_table(_read_csv(folder / "forest_parameters.csv"),
                                   ["lc_class", "parameter"], name=name, units=_PARAM_UNITS)
    problems = _check_classes(forest["lc_class"], name, "lc_class")
    problems += [f"parameter {p!r} is not one of {FOREST_PARAMETERS}"
                 for p in sorted(set(forest["parameter"]) - set(FOREST_PARAMETERS))]
    have = set(zip(forest["lc_class"], forest["parameter"], strict=True))
    missing = [f"{c}/{p}" for c in VOLUME_CLASSES for p in FOREST_PARAMETERS if (c, p) not in have]
    if missing:
        problems.append(f"missing class/parameter rows {missing}")
    cf = forest.loc[forest["parameter"].isin(["carbon_fraction", "loss_fraction"])]
    if (cf["high"] > 1).any():
        problems.append("carbon_fraction and loss_fraction must be <= 1")
    if problems:
        msg = f"{name}: " + "; ".join(problems)
        raise ConfigError(msg)
    forest_frames = {b: forest.pivot(index="lc_class", columns="parameter", values=b)
                     .reindex(index=list(VOLUME_CLASSES), columns=list(FOREST_PARAMETERS))
                     for b in BOUNDS}
    # --- growth
    name = str(folder / "growth_rates.csv")
    growth = validate_factor_table(_read_csv(folder / "growth_rates.csv"),
                                   ["lc_class", "forest_age_class"], name=name, units=_RATE_UNITS)
    problems = _check_classes(growth["lc_class"], name, "lc_class")
    bad_age = sorted(set(growth["forest_age_class"]) - {"", *AGE_CLASSES})
    if bad_age:
        problems.append(f"forest_age_class {bad_age} not in {AGE_CLASSES} or ''")
    defaults = set(growth.loc[growth["forest_age_class"] == "", "lc_class"])
    missing = [c for c in LANDCOVER_CLASSES if c not in defaults]
    if missing:
        problems.append(f"missing default rows (empty forest_age_class) for classes {missing}")
    vol = growth["unit"] == "m3_per_ha_per_yr"
    wrong = sorted(set(growth.loc[vol, "lc_class"]) - set(VOLUME_CLASSES))
    if wrong:
        problems.append(f"classes {wrong} have no volume parameters; give them t_c_per_ha_per_yr")
    if problems:
        msg = f"{name}: " + "; ".join(problems)
        raise ConfigError(msg)
    # --- calibration tables (optional: a folder without them uses the plain class table)
    from engines.sinks.calibration import read_hidden_classes, read_raster_classes

    raster_classes = (read_raster_classes(folder / "raster_classes.csv")
                      if (folder / "raster_classes.csv").exists() else None)
    hidden = (read_hidden_classes(folder / "hidden_classes.csv")
              if (folder / "hidden_classes.csv").exists() else None)
    parts = [pools.assign(table_name="carbon_pools"), forest.assign(table_name="forest_parameters"),
             growth.assign(table_name="growth_rates")]
    if raster_classes is not None:
        parts.append(raster_classes.assign(
            table_name="raster_classes",
            table="scheme " + raster_classes["scheme"] + " code " + raster_classes["source_code"].astype(str)
            + " (fit: data/sinks/calibration.toml)"))
    if hidden is not None:
        parts.append(hidden.assign(table_name="hidden_classes",
                                   table=hidden["city"] + " " + hidden["name_zh"] + " " + hidden["year"]))
    citations = pd.concat(parts, ignore_index=True)
    for col in ("pool", "parameter", "forest_age_class", "note", "lc_class"):
        citations[col] = citations[col].fillna("").astype(str) if col in citations else ""
    citations["is_unverified"] = citations["note"].str.strip().str.lower().str.startswith("unverified") | (
        citations["note"].str.contains("unverified:", regex=False))
    growth = growth.set_index(["lc_class", "forest_age_class"])[["unit", *BOUNDS]]
    logger.debug("read factor tables from %s", folder)
    tol = None
    if (folder / "calibration.toml").exists():
        from twin.params import load_toml

        raw = load_toml(folder / "calibration.toml").get("baseline_tolerance_pct", {})
        tol = {str(k): float(v) for k, v in raw.items()}
    return FactorSet(pool_frames, forest_frames, growth, citations, raster_classes, hidden, tol)
