"""The twin held against what is known of the real city (``twin validate``).

Every check is a row of ``data/validation/checks.toml``: a quantity, how the twin's
value is taken (its ``kind``, one of :data:`CHECK_KINDS`), the reference value or band
and its source (a seed ``file:line`` or a publication). :func:`compute` evaluates every
check of a city on the catalog's layers and tables and returns the ``validation``
table: one row per check with ``twin_value``, ``reference_value`` (and the band it
passes in), ``tolerance``, ``source``, ``verdict`` (``pass`` / ``fail`` /
``not_computed``) and the synthetic share of what the twin value rests on.

A check whose inputs the twin does not have yet (an engine not run) is
``not_computed`` and says which command computes them; it never passes silently.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.config import DATA_DIR, CityConfig
from twin.engine import EngineResult, TwinSource
from twin.errors import CatalogError, ConfigError
from twin.params import Params, from_mapping, load_toml, param
from twin.schema import UNITS

__all__ = ["CHECK_KINDS", "CHECKS_PATH", "COLUMNS", "Check", "ValidationInputs", "compute", "load",
           "read_checks"]

#: The shipped checks.
CHECKS_PATH = DATA_DIR / "validation" / "checks.toml"

#: Columns of the ``validation`` table, in order.
COLUMNS = ["id", "quantity", "twin_value", "reference_value", "reference_low", "reference_high",
           "tolerance", "unit", "source", "verdict", "synthetic_share", "rests_on", "note"]


@dataclass(frozen=True)
class Check(Params):
    """One check of the twin against a reported or published figure."""

    id: str = param("", help="Check id, unique.")
    cities: tuple[str, ...] = param((), help="Cities the check applies to.")
    quantity: str = param("", help="What is compared, in words.")
    kind: str = param("", help="How the twin's value is taken (CHECK_KINDS).")
    unit: str = param("", help="Unit of both values (twin.schema.UNITS).")
    source: str = param("", help="Seed file:line, or a cited publication or dataset.")
    reference_value: float | None = param(None, help="The reported value.")
    tolerance_pct: float | None = param(None, minimum=0.0, maximum=100.0,
                                        help="Pass within this share of the reference value.")
    reference_low: float | None = param(None, help="Lower end of a published band.")
    reference_high: float | None = param(None, help="Upper end of a published band.")
    metric: str | None = param(None, help="config_baseline: the target metric.")
    indicator: str | None = param(None, help="sink_indicator: the indicator.")
    input_kind: str | None = param(None, choices=("polygons", "raster"),
                                   help="sink_indicator: the accounting path.")
    water_types: tuple[str, ...] = param((), help="water_*: the water types counted.")

    def problems(self) -> list[str]:
        """A check needs an id, a known kind and unit, a source and a reference."""
        out = []
        if not self.id or not self.quantity or not self.source:
            out.append("id, quantity and source are required")
        if self.kind not in CHECK_KINDS:
            out.append(f"kind {self.kind!r} is not one of {', '.join(CHECK_KINDS)}")
        if self.unit not in UNITS:
            out.append(f"unit {self.unit!r} is not a unit of twin.schema.UNITS")
        band = self.reference_low is not None and self.reference_high is not None
        single = self.reference_value is not None and self.tolerance_pct is not None
        if band == single:
            out.append("give reference_value with tolerance_pct, or reference_low with reference_high")
        if band and self.reference_low > self.reference_high:  # type: ignore[operator]
            out.append("reference_low must be <= reference_high")
        return out

    def band(self) -> tuple[float, float]:
        """The interval the twin's value passes in."""
        if self.reference_low is not None and self.reference_high is not None:
            return self.reference_low, self.reference_high
        ref, tol = float(self.reference_value or 0.0), float(self.tolerance_pct or 0.0) / 100.0
        lo, hi = ref * (1 - tol), ref * (1 + tol)
        return min(lo, hi), max(lo, hi)

    def tolerance_text(self) -> str:
        """The tolerance as a reader would write it."""
        if self.tolerance_pct is not None:
            return f"±{self.tolerance_pct:g} %"
        return f"band {self.reference_low:,.6g}-{self.reference_high:,.6g}"


def read_checks(path: os.PathLike[str] | str | None = None) -> list[Check]:
    """The checks of ``path`` (default :data:`CHECKS_PATH`), validated; ids unique.

    Raises
    ------
    SourceError
        The file is missing or not TOML.
    ConfigError
        A check is malformed (every problem named, with the check's id).
    """
    path = CHECKS_PATH if path is None else path
    doc = load_toml(path)
    rows = doc.get("checks", [])
    if not isinstance(rows, list) or not rows:
        msg = f"{path}: no [[checks]] tables; see data/validation/checks.toml for the format"
        raise ConfigError(msg)
    checks = [from_mapping(Check, r, where=f"{path} check {r.get('id', i)!r}") for i, r in enumerate(rows)]
    ids = [c.id for c in checks]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        msg = f"{path}: duplicate check ids {dup}; ids must be unique"
        raise ConfigError(msg)
    return checks


@dataclass
class ValidationInputs:
    """What the checks read: the city, the catalog's tables and the columns of result layers they use."""

    city: CityConfig
    checks: list[Check]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    layers: dict[str, pd.DataFrame] = field(default_factory=dict)


#: Result-layer columns each kind reads (geometry is never read).
_LAYER_COLUMNS = {
    "pv_facets": ["surface_tilt", "surface_azimuth", "shading_loss_fraction", "specific_yield_kwh_per_kwp",
                  "pdc0_kw", "roof_area_m2", "is_viable", "is_synthetic"],
    "water_pv_sites": ["water_type", "specific_yield_kwh_per_kwp", "capacity_density_mwp_per_km2",
                       "capacity_mwp", "is_synthetic"],
    "wind_sites": ["capacity_factor", "capacity_mw", "candidate_area", "is_synthetic"],
    "landcover": ["lc_class", "is_synthetic"],
}
_TABLES = ("sink_indicators",)


def load(source: TwinSource, checks: list[Check] | None = None) -> ValidationInputs:
    """Read what the city's checks need from a built twin (missing layers / tables are left out)."""
    city = source.city
    checks = [c for c in (checks if checks is not None else read_checks()) if city.id in c.cities]
    tables = {}
    for name in _TABLES:
        try:
            tables[name] = source.table(name)
        except CatalogError:  # a missing table makes its checks not_computed
            continue
    layers = {}
    for name, cols in _LAYER_COLUMNS.items():
        if source.has_layer(name):
            frame = source.read_layer(name, columns=cols)
            layers[name] = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    return ValidationInputs(city, checks, tables, layers)


# --- how the twin's value is taken, by kind --------------------------------------------------
# Each returns (twin value, synthetic share of what it rests on, what it rests on, note);
# a missing input raises _NotComputed with the command that computes it.

class _NotComputed(Exception):
    pass


def _need(inputs: ValidationInputs, name: str, command: str) -> pd.DataFrame:
    frame = inputs.tables.get(name) if name in _TABLES else inputs.layers.get(name)
    if frame is None or frame.empty:
        raise _NotComputed(f"no {name} in the twin: run `{command.format(city=inputs.city.id)}`")
    return frame


def _synthetic_share(frame: pd.DataFrame) -> float:
    if "is_synthetic" not in frame.columns or not len(frame):
        return float("nan")
    return float(frame["is_synthetic"].fillna(True).astype(bool).mean())


def _config_baseline(c: Check, inputs: ValidationInputs) -> tuple[float, float, str, str]:
    values = sorted({float(t.baseline_value) for t in inputs.city.targets
                     if t.metric == c.metric and t.baseline_value is not None})
    if not values:
        raise _NotComputed(f"the config of {inputs.city.id} holds no baseline of {c.metric}")
    note = "" if len(values) == 1 else f"targets disagree on the baseline: {values}"
    return values[0], 0.0, f"data/cities/{inputs.city.id}.toml baselines of {c.metric}", note


def _sink_indicator(c: Check, inputs: ValidationInputs) -> tuple[float, float, str, str]:
    ind = _need(inputs, "sink_indicators", "twin sinks --city {city}")
    rows = ind.loc[(ind["level"] == "city") & (ind["indicator"] == c.indicator)
                   & (ind["input_kind"] == c.input_kind)]
    vals = rows["value"].dropna()
    if vals.empty:
        raise _NotComputed(f"sink_indicators has no city {c.indicator} from the {c.input_kind} path")
    if c.input_kind == "raster":
        share, rests = 0.0, ("the landcover_raster (MODIS MCD12C1 2019, real), the sink factor tables and "
                             "the raster calibration (data/sinks/calibration.toml)")
    else:
        lc = inputs.layers.get("landcover")
        share = _synthetic_share(lc) if lc is not None else float("nan")
        rests = "the landcover polygons and the sink factor tables"
    return float(vals.iloc[0]), share, rests, ""


def _roof_specific_yield(c: Check, inputs: ValidationInputs) -> tuple[float, float, str, str]:
    f = _need(inputs, "pv_facets", "twin pv --city {city}")
    sel = f.loc[f["surface_tilt"].between(15, 35) & f["surface_azimuth"].between(150, 210)
                & (f["shading_loss_fraction"] < 0.05) & (f["pdc0_kw"] > 0)]
    if sel.empty:
        msg = "no well-oriented, unshaded roof facet in pv_facets"
        raise _NotComputed(msg)
    return (float(sel["specific_yield_kwh_per_kwp"].median()), _synthetic_share(sel),
            f"{len(sel):,} well-oriented roof facets of pv_facets", "")


def _water_sites(c: Check, inputs: ValidationInputs) -> pd.DataFrame:
    w = _need(inputs, "water_pv_sites", "twin sites --city {city} --only pv")
    sel = w.loc[w["water_type"].isin(c.water_types)] if c.water_types else w
    if sel.empty:
        raise _NotComputed(f"no water PV site of type {', '.join(c.water_types)}")
    return sel


def _water_specific_yield(c: Check, inputs: ValidationInputs) -> tuple[float, float, str, str]:
    sel = _water_sites(c, inputs)
    return (float(sel["specific_yield_kwh_per_kwp"].median()), _synthetic_share(sel),
            f"{len(sel):,} water PV sites ({', '.join(c.water_types) or 'all types'})", "")


def _water_capacity_density(c: Check, inputs: ValidationInputs) -> tuple[float, float, str, str]:
    sel = _water_sites(c, inputs)
    return (float(sel["capacity_density_mwp_per_km2"].median()), _synthetic_share(sel),
            f"{len(sel):,} water PV sites ({', '.join(c.water_types) or 'all types'})", "")


def _roof_capacity_density(c: Check, inputs: ValidationInputs) -> tuple[float, float, str, str]:
    f = _need(inputs, "pv_facets", "twin pv --city {city}")
    sel = f.loc[f["is_viable"].fillna(False).astype(bool) & (f["roof_area_m2"] > 0)]
    if sel.empty:
        msg = "no viable roof facet in pv_facets"
        raise _NotComputed(msg)
    density = 1000.0 * sel["pdc0_kw"].sum() / sel["roof_area_m2"].sum()
    return float(density), _synthetic_share(sel), f"{len(sel):,} viable roof facets of pv_facets", ""


def _wind_full_load_hours(c: Check, inputs: ValidationInputs) -> tuple[float, float, str, str]:
    w = _need(inputs, "wind_sites", "twin sites --city {city} --only wind")
    sel = w.loc[w["candidate_area"].fillna("") == ""] if "candidate_area" in w.columns else w
    if sel.empty:
        msg = "no wind site outside the draft-only candidate areas"
        raise _NotComputed(msg)
    cap = sel["capacity_mw"].to_numpy(float)
    flh = 8760.0 * float(np.sum(sel["capacity_factor"].to_numpy(float) * cap) / cap.sum())
    return flh, _synthetic_share(sel), f"{len(sel):,} wind sites (capacity-weighted)", ""


#: Check kinds: how the twin's value of a check is taken.
CHECK_KINDS: dict[str, Callable[[Check, ValidationInputs], tuple[float, float, str, str]]] = {
    "config_baseline": _config_baseline,
    "sink_indicator": _sink_indicator,
    "roof_specific_yield": _roof_specific_yield,
    "water_specific_yield": _water_specific_yield,
    "water_capacity_density": _water_capacity_density,
    "roof_capacity_density": _roof_capacity_density,
    "wind_full_load_hours": _wind_full_load_hours,
}


def compute(inputs: ValidationInputs, params: Any = None, *,
            progress: Callable[[str], None] | None = None) -> EngineResult:
    """Evaluate every check of the city: the ``validation`` table (one row per check).

    Returns
    -------
    EngineResult
        Table ``validation`` (:data:`COLUMNS`), meta ``validation`` (counts per verdict).
    """
    rows = []
    for c in inputs.checks:
        lo, hi = c.band()
        row: dict[str, Any] = {"id": c.id, "quantity": c.quantity, "reference_value": c.reference_value,
                               "reference_low": lo, "reference_high": hi, "tolerance": c.tolerance_text(),
                               "unit": c.unit, "source": c.source}
        try:
            value, share, rests, note = CHECK_KINDS[c.kind](c, inputs)
        except _NotComputed as exc:
            row.update(twin_value=float("nan"), verdict="not_computed", synthetic_share=float("nan"),
                       rests_on="", note=str(exc))
        else:
            eps = 1e-9 * max(1.0, abs(lo), abs(hi))
            ok = math.isfinite(value) and lo - eps <= value <= hi + eps
            row.update(twin_value=value, verdict="pass" if ok else "fail", synthetic_share=share,
                       rests_on=rests, note=note)
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("twin_value", "reference_value", "reference_low", "reference_high", "synthetic_share"):
        table[col] = table[col].astype("float64")
    counts = table["verdict"].value_counts().to_dict()
    meta = {"validation": {"checks": len(table), **{k: int(v) for k, v in counts.items()},
                           "checks_file": "data/validation/checks.toml"}}
    return EngineResult(tables={"validation": table}, meta=meta)
