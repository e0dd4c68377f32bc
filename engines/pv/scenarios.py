"""Rooftop PV adoption scenarios: installable-ratio rules by building attributes.

A scenario is data (``data/pv/scenarios.toml``), not code: an ordered list of
rules, each matching buildings on ``use_class``, ``is_new_build`` and
``is_public_institution`` and giving the share of a facet's installable area
fitted with PV. The first matching rule wins; unmatched buildings get the
scenario's ``default_ratio``. With ``basis = "roof_area"`` a rule's ratio is a
share of the facet's roof area (the policy texts' 屋顶总面积), converted to a
share of installable area and capped at 1.

Shipped scenarios
-----------------
``technical``
    Every installable square metre (ratio 1.0) [1]_.
``whole_county_2021``
    The 2021 whole-county rooftop pilot minimum shares (整县推进): party and
    government buildings >= 50 %, public buildings >= 40 %, industrial and commercial
    >= 30 %, rural residential >= 20 % of roof area [2]_. The ratios are county-wide
    minimums; the twin applies them to every building of the class.
``huzhou_2030``
    Huzhou's 2030 rules: new factory roofs 100 %, new public buildings 100 % of the
    installable area, zero-carbon public institutions 60 % [3]_.

References
----------
.. [1] Gagnon, P. et al. (2016). Rooftop Solar Photovoltaic Technical Potential in the
   United States: A Detailed Assessment. NREL/TP-6A20-65298.
   https://doi.org/10.2172/1236153
.. [2] 国家能源局综合司 (2021). 关于报送整县（市、区）屋顶分布式光伏开发试点方案的通知,
   国能综通新能〔2021〕84号.
.. [3] 湖州市人民政府 (2024). 国家碳达峰试点（湖州）实施方案, 2024-06-28 (seed 003, line 96).
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin.config import DATA_DIR
from twin.errors import ConfigError, SchemaError, SourceError, require_columns
from twin.schema import USE_CLASSES

__all__ = [
    "BASES",
    "DEFAULT_SCENARIOS_PATH",
    "Rule",
    "Scenario",
    "apply_scenario",
    "load_scenarios",
]

logger = logging.getLogger(__name__)

#: The shipped scenario file.
DEFAULT_SCENARIOS_PATH = DATA_DIR / "pv" / "scenarios.toml"

#: What a rule's ratio is a share of.
BASES = ("installable_area", "roof_area")

_SCENARIO_KEYS = {"description", "source", "year", "basis", "default_ratio", "rules"}
_RULE_KEYS = {"use_class", "is_new_build", "is_public_institution", "ratio", "note"}


@dataclass(frozen=True)
class Rule:
    """One installable-ratio rule.

    Attributes
    ----------
    ratio : float
        Share of the basis area fitted with PV [fraction].
    use_class : tuple of str or None
        Matching use classes; ``None`` matches any.
    is_new_build, is_public_institution : bool or None
        Required flag value; ``None`` matches any.
    note : str
        The policy wording or the twin's interpretation.
    """

    ratio: float
    use_class: tuple[str, ...] | None = None
    is_new_build: bool | None = None
    is_public_institution: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    """A named rooftop adoption scenario (see the module docstring)."""

    name: str
    description: str
    source: str
    year: int
    basis: str
    default_ratio: float
    rules: tuple[Rule, ...]


def _ratio(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        msg = f"{where}: ratio {value!r} must be a number in [0, 1] (50 % is 0.5)"
        raise ConfigError(msg)
    return float(value)


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        msg = f"{where}: {value!r} must be true or false"
        raise ConfigError(msg)
    return value


def _parse_rule(raw: object, where: str) -> Rule:
    if not isinstance(raw, dict):
        msg = f"{where}: a rule must be a table"
        raise ConfigError(msg)
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        msg = f"{where}: unknown key(s) {unknown}; allowed: {sorted(_RULE_KEYS)}"
        raise ConfigError(msg)
    if "ratio" not in raw:
        msg = f"{where}: missing key 'ratio'"
        raise ConfigError(msg)
    uc = raw.get("use_class")
    if uc is not None:
        if isinstance(uc, str):
            uc = [uc]
        if not isinstance(uc, list) or not uc:
            msg = f"{where}.use_class: give a non-empty list of use classes"
            raise ConfigError(msg)
        bad = [u for u in uc if u not in USE_CLASSES]
        if bad:
            msg = (f"{where}.use_class: {bad} not in twin.schema.USE_CLASSES; use one of "
                   f"{list(USE_CLASSES)}")
            raise ConfigError(msg)
        uc = tuple(uc)
    flags = {k: _flag(raw[k], f"{where}.{k}") if k in raw else None
             for k in ("is_new_build", "is_public_institution")}
    note = raw.get("note", "")
    if not isinstance(note, str):
        msg = f"{where}.note: must be text"
        raise ConfigError(msg)
    return Rule(_ratio(raw["ratio"], f"{where}.ratio"), uc, flags["is_new_build"],
                flags["is_public_institution"], note)


def load_scenarios(path: os.PathLike[str] | str | None = None) -> dict[str, Scenario]:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or os.PathLike, optional
        TOML file with ``[scenarios.<name>]`` tables; default
        :data:`DEFAULT_SCENARIOS_PATH` (``data/pv/scenarios.toml``).

    Returns
    -------
    dict of str to Scenario
        By name, in file order.

    Raises
    ------
    SourceError
        The file is missing or unreadable.
    ConfigError
        Bad TOML, unknown keys, unknown use classes, ratios outside [0, 1]; the
        message names the file and the key.
    """
    path = Path(path) if path is not None else DEFAULT_SCENARIOS_PATH
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError as exc:
        msg = f"{path}: scenario file not found; pass an existing TOML file"
        raise SourceError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc})"
        raise ConfigError(msg) from exc
    unknown = sorted(set(raw) - {"scenarios"})
    if unknown:
        msg = f"{path}: unknown top-level key(s) {unknown}; only [scenarios.<name>] tables"
        raise ConfigError(msg)
    tables = raw.get("scenarios")
    if not isinstance(tables, dict) or not tables:
        msg = f"{path}: no [scenarios.<name>] tables found"
        raise ConfigError(msg)
    out = {}
    for name, spec in tables.items():
        where = f"{path}: [scenarios.{name}]"
        if not isinstance(spec, dict):
            msg = f"{where}: must be a table"
            raise ConfigError(msg)
        unknown = sorted(set(spec) - _SCENARIO_KEYS)
        if unknown:
            msg = f"{where}: unknown key(s) {unknown}; allowed: {sorted(_SCENARIO_KEYS)}"
            raise ConfigError(msg)
        basis = spec.get("basis", "installable_area")
        if basis not in BASES:
            msg = f"{where}.basis: {basis!r} is not one of {BASES}"
            raise ConfigError(msg)
        year = spec.get("year", 0)
        if isinstance(year, bool) or not isinstance(year, int):
            msg = f"{where}.year: {year!r} must be an integer (0 when not applicable)"
            raise ConfigError(msg)
        rules = spec.get("rules", [])
        if not isinstance(rules, list):
            msg = f"{where}.rules: must be an array of tables ([[scenarios.{name}.rules]])"
            raise ConfigError(msg)
        out[name] = Scenario(
            name=name,
            description=str(spec.get("description", "")),
            source=str(spec.get("source", "")),
            year=year,
            basis=basis,
            default_ratio=_ratio(spec.get("default_ratio", 0.0), f"{where}.default_ratio"),
            rules=tuple(_parse_rule(r, f"{where}.rules[{i}]") for i, r in enumerate(rules)),
        )
    return out


def apply_scenario(facets: pd.DataFrame, buildings: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """Adopted share of each facet's installable area under a scenario.

    Pure function. Multiply by ``installable_area_m2``, ``module_area_m2`` or
    ``pdc0_kw`` to get the adopted area or capacity.

    Parameters
    ----------
    facets : pandas.DataFrame
        From :func:`engines.pv.facets.roof_facets` (``building_id``,
        ``installable_area_m2``, ``roof_area_m2``).
    buildings : pandas.DataFrame or geopandas.GeoDataFrame
        The buildings layer: ``building_id`` and the columns the rules match on
        (``use_class``, ``is_new_build``, ``is_public_institution``).
    scenario : Scenario
        From :func:`load_scenarios`.

    Returns
    -------
    pandas.Series
        ``adopted_ratio`` [fraction in 0..1], same index as ``facets``.

    Raises
    ------
    SchemaError
        A column the rules need is missing, or facets refer to unknown buildings.
    """
    where = f"apply_scenario[{scenario.name}]"
    for col in ("building_id",):
        if col not in facets.columns or col not in buildings.columns:
            msg = f"{where}: facets and buildings both need a {col!r} column"
            raise SchemaError(msg)
    needed = set()
    for r in scenario.rules:
        if r.use_class is not None:
            needed.add("use_class")
        if r.is_new_build is not None:
            needed.add("is_new_build")
        if r.is_public_institution is not None:
            needed.add("is_public_institution")
    require_columns(buildings, sorted(needed), f"{where} (buildings)",
                    "the scenario's rules match on them; import the layer through layers.buildings "
                    "(it fills schema defaults)")
    # the rules are evaluated once per building, then gathered to the facets by position
    pos = pd.Index(buildings["building_id"].astype(str)).get_indexer(facets["building_id"].astype(str))
    unknown = pos < 0  # hash lookup; np.isin sorts object arrays (slow)
    if unknown.any():
        fb = facets["building_id"].astype(str).to_numpy()
        msg = (f"{where}: {int(unknown.sum())} facet(s) refer to buildings not given, e.g. "
               f"{sorted(set(fb[unknown]))[:5]}")
        raise SchemaError(msg)

    nb = len(buildings)
    ratio_b = np.full(nb, scenario.default_ratio)
    open_ = np.ones(nb, dtype=bool)  # not yet matched by an earlier rule
    for r in scenario.rules:
        m = open_.copy()
        if r.use_class is not None:
            m &= buildings["use_class"].astype(str).isin(r.use_class).to_numpy()
        for col in ("is_new_build", "is_public_institution"):
            want = getattr(r, col)
            if want is not None:
                vals = buildings[col]
                na = vals.isna().to_numpy()
                if na[pos].any():  # only the facets' buildings must say
                    fb = facets["building_id"].astype(str).to_numpy()
                    ids = pd.unique(fb[na[pos]])[:5].tolist()
                    msg = (f"{where}: {col} is missing for building_id {ids}; fill it "
                           "(schema default False)")
                    raise SchemaError(msg)
                m &= vals.where(~na, False).astype(bool).to_numpy() == want
        ratio_b[m] = r.ratio
        open_ &= ~m
    ratio = ratio_b[pos]
    if scenario.basis == "roof_area":
        roof = facets["roof_area_m2"].to_numpy(dtype="float64")
        inst = facets["installable_area_m2"].to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            conv = np.where(inst > 0, ratio * roof / inst, 0.0)
        ratio = np.minimum(conv, 1.0)
    return pd.Series(ratio, index=facets.index, name="adopted_ratio", dtype="float64")
