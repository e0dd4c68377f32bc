"""Progress over time: installed by year from a baseline and a ledger, against the planned path.

Pure arithmetic for the overview's trajectory (no files, no catalog). The planned
path is the straight line from the baseline (year, value) to each target (year,
value) in turn, e.g. 2020 -> 2025 -> 2030; installed in year ``y`` is the baseline
plus every ledger addition in service after the baseline year and up to ``y``.
``ahead`` is installed minus the path (positive: ahead of the path) for a ``>=``
target, and the path minus installed for a ``<=`` target.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.config import DATA_DIR
from twin.params import load_toml

__all__ = ["LEDGER_TOML", "installed_by_year", "ledger_settings", "planned_path", "trajectory"]

FloatArray = npt.NDArray[np.float64]

#: Ledger settings: column aliases, units, kinds, base year, metrics, synthetic ranges.
LEDGER_TOML = DATA_DIR / "ledger" / "ledger.toml"


@cache
def ledger_settings() -> dict[str, Any]:
    """``data/ledger/ledger.toml`` as a dict (read once)."""
    return load_toml(LEDGER_TOML)


def planned_path(baseline_year: int, baseline: float, targets: Sequence[tuple[int, float]],
                 years: npt.ArrayLike) -> FloatArray:
    """Straight-line path from the baseline through each target, by year.

    Parameters
    ----------
    baseline_year : int
        Year of the baseline value.
    baseline : float
        Value in ``baseline_year`` (the metric's unit, e.g. MW); NaN gives a NaN path.
    targets : sequence of (int, float)
        ``(year, value)`` of each target after the baseline year.
    years : array_like of int
        Years to evaluate.

    Returns
    -------
    ndarray of float
        The path in each year: NaN before the baseline year, the last target's value
        after the last target year.
    """
    yrs = np.asarray(years, dtype=float)
    pts = sorted((int(y), float(v)) for y, v in targets if int(y) > baseline_year)
    if not np.isfinite(baseline) or not pts:
        return np.full(yrs.shape, np.nan)
    xs = np.array([baseline_year] + [p[0] for p in pts], dtype=float)
    vs = np.array([baseline] + [p[1] for p in pts], dtype=float)
    out = np.interp(yrs, xs, vs)
    return np.where(yrs < baseline_year, np.nan, out)


def installed_by_year(baseline_year: int, baseline: float, add_years: npt.ArrayLike,
                      add_values: npt.ArrayLike, years: npt.ArrayLike) -> FloatArray:
    """Baseline plus the ledger's cumulative additions after the baseline year, by year.

    Parameters
    ----------
    baseline_year : int
        Year of the baseline (ledger rows up to it are inside the baseline).
    baseline : float
        Installed in ``baseline_year``.
    add_years, add_values : array_like
        In-service year and amount of each ledger row.
    years : array_like of int
        Years to evaluate.

    Returns
    -------
    ndarray of float
        Installed at the end of each year; NaN before the baseline year.
    """
    yrs = np.asarray(years, dtype=float)
    ay = np.asarray(add_years, dtype=float)
    av = np.asarray(add_values, dtype=float)
    after = ay > baseline_year
    ay, av = ay[after], av[after]
    order = np.argsort(ay, kind="stable")
    ay, cum = ay[order], np.concatenate([[0.0], np.cumsum(av[order])])
    out = baseline + cum[np.searchsorted(ay, yrs, side="right")]
    return np.where(yrs < baseline_year, np.nan, out)


def trajectory(baseline_year: int, baseline: float, targets: Sequence[tuple[int, float]],
               add_years: npt.ArrayLike, add_values: npt.ArrayLike, last_year: int, *,
               comparator: str = ">=") -> pd.DataFrame:
    """Installed, added, planned path and ahead/behind for each year from the baseline.

    Parameters
    ----------
    baseline_year, baseline
        The reported baseline (see :func:`installed_by_year`).
    targets : sequence of (int, float)
        ``(year, value)`` targets of the metric.
    add_years, add_values : array_like
        The ledger's rows (in-service year, amount).
    last_year : int
        Last year of the table (the last year with records, at least the baseline year).
    comparator : {">=", "<="}
        Direction of the targets.

    Returns
    -------
    DataFrame
        ``year``, ``added`` (ledger additions in the year), ``installed``, ``path``,
        ``ahead`` (installed - path for ``>=``; positive means ahead of the path) and
        ``ahead_pct`` (ahead as a percentage of the path).
    """
    years = np.arange(int(baseline_year), max(int(last_year), int(baseline_year)) + 1)
    installed = installed_by_year(baseline_year, baseline, add_years, add_values, years)
    prev = np.concatenate([[baseline], installed[:-1]])
    path = planned_path(baseline_year, baseline, targets, years)
    ahead = installed - path if comparator != "<=" else path - installed
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        pct = np.where(np.abs(path) > 0, 100.0 * ahead / np.abs(path), np.nan)
    return pd.DataFrame({"year": years, "added": installed - prev, "installed": installed,
                         "path": path, "ahead": ahead, "ahead_pct": pct})
