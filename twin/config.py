"""City configuration: districts, weather, CRS and every plan target, from ``data/cities/*.toml``.

A city config is a TOML file (read with the standard library's :mod:`tomllib`)
with four parts::

    schema_version = 1
    [city]            # id, names, adcode, metric CRS, PV/weather location, weather file(s)
    [[districts]]     # one per district or county: adcode, names, kind, aquaculture, is_urban
    [[targets]]       # one per plan target or reported value, with its seed citation

Every target names the twin indicator (:data:`METRICS`) that tracks it, its value
in a canonical unit of :data:`twin.schema.UNITS` (``480万千瓦`` is stored as
``value = 4800, unit = "mw"``) together with the wording as printed, and its
source lines as ``"NNN:line"`` references into the seed documents (:data:`SEEDS`).
:func:`check_value_as_printed` reads the printed wording (万 = 1e4, 亿 = 1e8, 万亩,
五分钟, 半小时 ...) and checks that it converts to the stored value.

A target is *tracked* when an engine compares the twin's value with it: its
metric names engines in :data:`twin.metrics.METRICS` and its scope is the city or
a district. Every other target says ``tracked = false`` with an
``untracked_reason`` (the loader insists), so a config holds every plan target of
its domains and says which of them the twin follows.
Where plans disagree (the 2024 draft and final Hangzhou plans, the 14th
Five-Year climate plan) every version is kept as its own record, and
:meth:`CityConfig.governing_targets` picks one per indicator: final > 14th-FYP >
draft, unless a record says ``governs = true``.

:func:`load_city` validates the whole file and raises one
:class:`~twin.errors.ConfigError` that lists every problem with its key and fix.

References
----------
.. [1] 杭州市发展和改革委员会, 杭州市碳达峰试点实施方案（征求意见稿）, 2024-03-20 (seed 000).
.. [2] 杭州市人民政府, 杭州市应对气候变化“十四五”规划, 2021-12-22 (seed 001).
.. [3] 杭州市人民政府, 国家碳达峰试点（杭州）实施方案, 2024-05-29 (seed 002).
.. [4] 湖州市人民政府, 国家碳达峰试点（湖州）实施方案, 2024-06-28 (seed 003).
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import tomllib
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twin.errors import ConfigError, SourceError
from twin.metrics import METRICS
from twin.params import Params, from_mapping, param
from twin.schema import UNITS

__all__ = [
    "AREAS",
    "COMPARATORS",
    "DATA_DIR",
    "DISTRICT_KINDS",
    "ACCESS_METRICS",
    "KINDS",
    "PRINTED_MULTIPLIERS",
    "PRINTED_UNITS",
    "PRINTED_WORDS",
    "SCHEMA_VERSION",
    "SEEDS",
    "STATUSES",
    "TIERS",
    "CityConfig",
    "AccessThresholds",
    "District",
    "Target",
    "available_cities",
    "check_value_as_printed",
    "cities_dir",
    "user_cities_dir",
    "convert_unit",
    "load_city",
    "parse_ref",
    "printed_quantities",
]

logger = logging.getLogger(__name__)

#: The repository's shipped data folder; ``weather_file`` paths are relative to it.
DATA_DIR = Path(__file__).resolve().parents[1] / "data"

#: Version of the config format this module reads.
SCHEMA_VERSION = 1

#: Seed documents that target ``source`` references may cite (``"002:52"`` = seed 002, line 52).
SEEDS: dict[str, str] = {
    "000": "杭州市碳达峰试点实施方案（征求意见稿） - Hangzhou pilot plan, DRAFT, 2024-03-20",
    "001": "杭州市应对气候变化“十四五”规划 - Hangzhou 14th Five-Year climate plan, 2021-12-22",
    "002": "国家碳达峰试点（杭州）实施方案 - Hangzhou pilot plan, FINAL, 2024-05-29",
    "003": "国家碳达峰试点（湖州）实施方案 - Huzhou pilot plan, 2024-06-28",
    "004": "English machine translation of seed 000 (Goodhao repost), 2024-03-20",
}

#: Status of the document a target comes from, in order of precedence.
STATUSES = ("final", "14th-FYP", "draft")
#: How the tracked value is compared with the target (``~`` = "about").
COMPARATORS = (">=", "<=", "=", "~")
#: District kinds used by the synthetic-city generator and the engines.
DISTRICT_KINDS = ("dense_core", "new_town", "plains_village", "mountain_county")
#: Which part of the scope a target applies to (urban = districts with ``is_urban``).
AREAS = ("all", "urban", "rural")
#: Level of a target when one sentence gives two: 确保 (ensure, floor) and 力争 (strive, stretch).
TIERS = ("", "ensure", "strive")
#: ``target`` = a planned value; ``actual`` = a reported status value (e.g. the 2020 base).
KINDS = ("target", "actual")

_REF_RE = re.compile(r"^(\d{3}):([1-9]\d*)$")
_ADCODE_RE = re.compile(r"^\d{6}$")
_CITY_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}




@dataclass(frozen=True)
class District:
    """One district or county of a city (current post-2021 division).

    Parameters
    ----------
    adcode : str
        6-digit administrative code.
    name_zh, name_en : str
        Names.
    kind : str
        One of :data:`DISTRICT_KINDS`.
    aquaculture : bool
        Has aquaculture-pond clusters (northern plains); False when omitted.
    is_urban : bool
        Urban for the 5-minute charging circle; rural districts use the 30-minute circle.
        When omitted in the file: True for ``dense_core`` and ``new_town``.
    """

    adcode: str
    name_zh: str
    name_en: str
    kind: str
    aquaculture: bool
    is_urban: bool


@dataclass(frozen=True)
class Target:
    """One plan target or reported value, with the seed lines it comes from.

    Parameters
    ----------
    id : str
        Unique within the city file, e.g. ``"PV-H1"``; other versions get a suffix
        (``"W-H1-draft"``, ``"K-H1-14fyp"``).
    indicator_zh, indicator_en : str
        The indicator as named by the seed, and in English.
    metric : str
        Key of :data:`METRICS` that tracks it.
    value : float
        Target value in ``unit``.
    unit : str
        Key of :data:`twin.schema.UNITS`; equals the metric's unit.
    value_as_printed : str
        The seed's own wording of the value, e.g. ``"480万千瓦"``.
    comparator : str
        One of :data:`COMPARATORS`.
    scope : str
        ``"city"``, a district adcode of the file, or a named place.
    source : tuple of str
        References ``"NNN:line"`` into :data:`SEEDS`, the governing document first.
    status : str
        One of :data:`STATUSES`.
    year : int, optional
        Target year; None when the seed gives none.
    threshold, threshold_unit : float and str, optional
        Distance, time or size that defines a coverage target (5 min, 300 m, 10000 m2).
    area : str
        Part of the scope it applies to (:data:`AREAS`), default ``"all"``.
    tier : str
        ``"ensure"`` or ``"strive"`` when the same sentence gives two levels (:data:`TIERS`).
    kind : str
        ``"target"`` or ``"actual"`` (:data:`KINDS`).
    baseline_value : float, optional
        Reported base value in ``unit``; with ``baseline_year`` and ``baseline_source``.
    baseline_year : int, optional
    baseline_source : str, optional
        A ``"NNN:line"`` reference.
    governs : bool, optional
        True makes this record the governing one of its group; False keeps it from governing.
    notes : str
        Caveats and interpretation.
    tracked : bool
        An engine compares the twin's value with this target (the metric's engines,
        :attr:`tracked_by`). False, with ``untracked_reason``, when no engine computes
        the metric or the scope is a place the twin has no boundary of.
    untracked_reason : str
        Why the target is not tracked (required when ``tracked`` is False).
    """

    id: str
    indicator_zh: str
    indicator_en: str
    metric: str
    value: float
    unit: str
    value_as_printed: str
    comparator: str
    scope: str
    source: tuple[str, ...]
    status: str
    year: int | None = None
    threshold: float | None = None
    threshold_unit: str | None = None
    area: str = "all"
    tier: str = ""
    kind: str = "target"
    baseline_value: float | None = None
    baseline_year: int | None = None
    baseline_source: str | None = None
    governs: bool | None = None
    notes: str = ""
    tracked: bool = True
    untracked_reason: str = ""

    @property
    def tracked_by(self) -> tuple[str, ...]:
        """The engines that compare the twin's value with this target (empty when untracked)."""
        return METRICS[self.metric].engines if self.tracked else ()

    @property
    def group_key(self) -> tuple:
        """Records with the same key are versions of one target (see ``governing_targets``)."""
        return (self.metric, self.year, self.scope, self.area, self.threshold,
                self.threshold_unit, self.tier, self.kind)

    @property
    def refs(self) -> list[tuple[str, int]]:
        """The ``source`` references as ``(seed_key, line)`` pairs."""
        return [parse_ref(r) for r in self.source]


def _precedence(t: Target) -> int:
    if t.governs is True:
        return -1
    if t.governs is False:
        return 99
    return _STATUS_RANK[t.status]


#: Coverage metrics whose targets carry an access threshold, and the ``[access]`` key it must equal.
ACCESS_METRICS = {
    ("charging_circle_coverage_pct", "urban"): "charging_urban_min",
    ("charging_circle_coverage_pct", "all"): "charging_rural_min",
    ("charging_circle_coverage_pct", "rural"): "charging_rural_min",
    ("bus_stop_coverage_pct", None): "bus_stop_m",
    ("green_space_coverage_pct", None): "green_space_m",
    ("park_coverage_pct", None): "park_m",
}


@dataclass(frozen=True)
class AccessThresholds(Params):
    """The plans' access thresholds (the ``[access]`` table): the only place they are written.

    The coverage engine reads them from here; a coverage target of the same metric must
    carry the same threshold (checked when the config is loaded), so the summary, the
    covered flags, the isochrones and the siting can never disagree.
    """

    charging_urban_min: float = param(5.0, unit="min", minimum=0.0, exclusive_minimum=True,
                                      help="Urban charging circle (城市5分钟充电圈).")
    charging_rural_min: float = param(30.0, unit="min", minimum=0.0, exclusive_minimum=True,
                                      help="Urban-rural charging circle (城乡30分钟充电圈).")
    bus_stop_m: float = param(300.0, unit="m", minimum=0.0, exclusive_minimum=True,
                              help="Walking distance to a bus stop.")
    green_space_m: float = param(300.0, unit="m", minimum=0.0, exclusive_minimum=True,
                                 help="Walking distance to public green space (300米见绿).")
    park_m: float = param(500.0, unit="m", minimum=0.0, exclusive_minimum=True,
                          help="Walking distance to a park (500米见园).")
    urban_districts: tuple[str, ...] = param((), help="Adcodes of the districts that are the urban "
                                                      "area of the plans' urban targets (城市, 市辖区); "
                                                      "empty: the boundaries' is_urban flags.")
    sources: dict[str, str] = param(default_factory=dict,
                                    help="Where each threshold comes from (seed line or standard).")


@dataclass(frozen=True)
class CityConfig:
    """A validated city configuration (see :func:`load_city`).

    Parameters
    ----------
    id : str
        Lowercase ASCII id, equal to the file stem.
    name_zh, name_en, adcode : str
        City names and 6-digit adcode.
    metric_crs : str
        Projected CRS in metres used for every area and distance (EPSG:4549).
    timezone : str
        IANA time zone.
    latitude, longitude : float
        PV / weather location [°].
    altitude_m : float
        Altitude of that location [m].
    weather_file : str
        Default weather file, relative to :data:`DATA_DIR` (or absolute).
    weather_files : tuple of str
        All weather files usable for the city (the default first).
    full_scale_buildings : int
        Number of buildings of the full-scale synthetic city.
    districts : tuple of District
    targets : tuple of Target
    path : Path
        The file it was loaded from.
    access : AccessThresholds
        The plans' access thresholds (``[access]``), read by the coverage engine.
    boundary_file : str
        A user city's district boundary file (written by ``twin city init``), relative to
        the config's folder; ``""`` for the presets (the shipped admin file).
    """

    id: str
    name_zh: str
    name_en: str
    adcode: str
    metric_crs: str
    timezone: str
    latitude: float
    longitude: float
    altitude_m: float
    weather_file: str
    weather_files: tuple[str, ...]
    full_scale_buildings: int
    districts: tuple[District, ...]
    targets: tuple[Target, ...]
    path: Path = field(compare=False)
    schema_version: int = SCHEMA_VERSION
    access: AccessThresholds = field(default_factory=AccessThresholds)
    boundary_file: str = ""

    @property
    def boundary_path(self) -> Path | None:
        """The city's own boundary file (``boundary_file``, relative to the config's folder).

        None for the presets, whose districts come from the shipped admin file.
        """
        if not self.boundary_file:
            return None
        p = Path(self.boundary_file)
        return p if p.is_absolute() else self.path.parent / p

    @property
    def weather_path(self) -> Path:
        """Absolute path of the default weather file."""
        return _resolve_data_path(self.weather_file)

    @property
    def weather_paths(self) -> list[Path]:
        """Absolute paths of all weather files."""
        return [_resolve_data_path(w) for w in self.weather_files]

    def weather_path_for(self, name: str | None = None) -> Path:
        """The weather file called ``name`` (one of the city's), or the default when None.

        Raises
        ------
        ConfigError
            When ``name`` is not one of the city's weather files (they are listed).
        """
        if name is None:
            return self.weather_path
        known = {p.name: p for p in self.weather_paths}
        if name not in known:
            msg = f"weather file {name!r} is not one of {self.id}'s: {', '.join(known)}"
            raise ConfigError(msg)
        return known[name]

    def district(self, adcode: str) -> District:
        """Return the district with ``adcode``.

        Raises
        ------
        KeyError
            If the city has no such district; the message lists the valid adcodes.
        """
        for d in self.districts:
            if d.adcode == adcode:
                return d
        valid = ", ".join(f"{d.adcode} ({d.name_en})" for d in self.districts)
        msg = f"{self.id}: no district with adcode {adcode!r}; valid adcodes: {valid}"
        raise KeyError(msg)

    def target(self, target_id: str) -> Target:
        """Return the target with id ``target_id`` (KeyError naming close ids otherwise)."""
        for t in self.targets:
            if t.id == target_id:
                return t
        close = difflib.get_close_matches(target_id, [t.id for t in self.targets], n=3)
        msg = f"{self.id}: no target with id {target_id!r}; close ids: {close}"
        raise KeyError(msg)

    def targets_for(
        self,
        metric: str | None = None,
        year: int | None = None,
        status: str | None = None,
        scope: str | None = None,
        kind: str | None = None,
    ) -> list[Target]:
        """Return the targets matching every given filter, in file order.

        Parameters
        ----------
        metric : str, optional
            Key of :data:`METRICS`.
        year : int, optional
            Target year.
        status : str, optional
            One of :data:`STATUSES`.
        scope : str, optional
            ``"city"``, a district adcode or a named place.
        kind : str, optional
            ``"target"`` or ``"actual"``.

        Raises
        ------
        ConfigError
            If ``metric`` or ``status`` is not a known value.
        """
        if metric is not None and metric not in METRICS:
            close = difflib.get_close_matches(metric, METRICS, n=3)
            msg = f"unknown metric {metric!r}; close metrics: {close} (see twin.config.METRICS)"
            raise ConfigError(msg)
        if status is not None and status not in STATUSES:
            msg = f"unknown status {status!r}; use one of {STATUSES}"
            raise ConfigError(msg)
        return [
            t for t in self.targets
            if (metric is None or t.metric == metric)
            and (year is None or t.year == year)
            and (status is None or t.status == status)
            and (scope is None or t.scope == scope)
            and (kind is None or t.kind == kind)
        ]

    def governing_targets(self, kind: str | None = "target") -> list[Target]:
        """Return one record per target: the one that governs.

        Records are grouped by (metric, year, scope, area, threshold, tier, kind);
        within a group a record with ``governs = true`` wins, else the status
        precedence final > 14th-FYP > draft applies; ``governs = false`` never wins.

        Parameters
        ----------
        kind : str or None
            Only groups of this kind (default planned targets); None for all.

        Returns
        -------
        list of Target
            In file order of the winning records.
        """
        best: dict[tuple, Target] = {}
        for t in self.targets:
            if kind is not None and t.kind != kind:
                continue
            cur = best.get(t.group_key)
            if cur is None or _precedence(t) < _precedence(cur):
                best[t.group_key] = t
        winners = {id(t) for t in best.values() if t.governs is not False}
        return [t for t in self.targets if id(t) in winners]

    def targets_frame(self) -> pd.DataFrame:
        """Return all targets as a DataFrame (one row per record) for the catalog and the app.

        Columns are the :class:`Target` fields plus ``city_id`` and ``is_governing``;
        ``source`` is joined with ``"; "``. Missing numbers are NA.
        """
        governing = {t.id for t in self.governing_targets(kind=None)}
        rows = []
        for t in self.targets:
            rows.append({
                "city_id": self.id,
                "id": t.id,
                "metric": t.metric,
                "value": t.value,
                "unit": t.unit,
                "comparator": t.comparator,
                "year": t.year,
                "threshold": t.threshold,
                "threshold_unit": t.threshold_unit or "",
                "area": t.area,
                "tier": t.tier,
                "kind": t.kind,
                "scope": t.scope,
                "status": t.status,
                "is_governing": t.id in governing,
                "indicator_zh": t.indicator_zh,
                "indicator_en": t.indicator_en,
                "value_as_printed": t.value_as_printed,
                "baseline_value": t.baseline_value,
                "baseline_year": t.baseline_year,
                "baseline_source": t.baseline_source or "",
                "source": "; ".join(t.source),
                "notes": t.notes,
                "tracked": t.tracked,
                "tracked_by": ", ".join(t.tracked_by),
                "untracked_reason": t.untracked_reason,
            })
        cols = ["city_id", "id", "metric", "value", "unit", "comparator", "year", "threshold",
                "threshold_unit", "area", "tier", "kind", "scope", "status", "is_governing",
                "indicator_zh", "indicator_en", "value_as_printed", "baseline_value",
                "baseline_year", "baseline_source", "source", "notes", "tracked", "tracked_by",
                "untracked_reason"]
        # a city without targets yet (`twin city init`) still gets the columns
        df = pd.DataFrame(rows, columns=cols)
        for col in ("year", "baseline_year"):
            df[col] = df[col].astype("Int64")
        for col in ("value", "threshold", "baseline_value"):
            df[col] = df[col].astype("Float64")
        df["is_governing"] = df["is_governing"].astype(bool)
        df["tracked"] = df["tracked"].astype(bool)
        return df

    to_frame = targets_frame


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def cities_dir() -> Path:
    """Folder of the preset city configs, ``data/cities``."""
    return DATA_DIR / "cities"


def user_cities_dir(home: str | os.PathLike | None = None) -> Path:
    """Folder of the user's city configs: ``<home>/cities`` (``twin city init`` writes there).

    ``home`` defaults to ``$TWIN_HOME`` or ``./twin-data``, the folder of the built twins,
    so a city's config lives next to its twin.
    """
    return Path(home if home is not None else os.environ.get("TWIN_HOME", "twin-data")).resolve() / "cities"


def available_cities(home: str | os.PathLike | None = None) -> list[str]:
    """Return the city ids: the presets (``data/cities/*.toml``) and the user's configs, sorted.

    User configs are ``<home>/cities/<id>.toml`` (:func:`user_cities_dir`); a user config
    with a preset's id is ignored (the preset wins, and ``twin city init`` refuses the name).
    """
    names = {p.stem for p in cities_dir().glob("*.toml")}
    user = user_cities_dir(home)
    if user.is_dir():
        names |= {p.stem for p in user.glob("*.toml") if _CITY_ID_RE.match(p.stem)}
    return sorted(names)


def parse_ref(ref: str) -> tuple[str, int]:
    """Split a source reference ``"NNN:line"`` into ``(seed_key, line)``.

    Raises
    ------
    ConfigError
        If the reference is malformed or names a seed not in :data:`SEEDS`.
    """
    m = _REF_RE.match(ref) if isinstance(ref, str) else None
    if m is None:
        msg = f"source reference {ref!r} is not of the form 'NNN:line' (e.g. '002:52')"
        raise ConfigError(msg)
    if m.group(1) not in SEEDS:
        msg = f"source reference {ref!r} names unknown seed {m.group(1)!r}; known: {sorted(SEEDS)}"
        raise ConfigError(msg)
    return m.group(1), int(m.group(2))


def _resolve_data_path(p: str) -> Path:
    path = Path(p)
    return path if path.is_absolute() else DATA_DIR / path


def _resolve(name_or_path: str | os.PathLike) -> Path:
    s = os.fspath(name_or_path)
    if isinstance(name_or_path, Path) or s.endswith(".toml") or os.sep in s or "/" in s:
        return Path(s).resolve()
    path = cities_dir() / f"{s}.toml"
    if path.is_file():
        return path
    user = user_cities_dir() / f"{s}.toml"
    if _CITY_ID_RE.match(s) and user.is_file():
        return user
    msg = (f"unknown city {s!r}: no preset {path} and no user config {user}; available cities: "
           f"{available_cities()} (create one with `twin city init {s} --boundary FILE`, "
           "or pass the path of a .toml file)")
    raise ConfigError(msg)


def load_city(name_or_path: str | os.PathLike) -> CityConfig:
    """Load and validate a city config.

    Parameters
    ----------
    name_or_path : str or path-like
        A city id such as ``"hangzhou"`` (resolved to the preset ``data/cities/<name>.toml``,
        else the user config ``$TWIN_HOME/cities/<name>.toml``) or the path of a ``.toml`` file.

    Returns
    -------
    CityConfig

    Raises
    ------
    SourceError
        If the file is missing, unreadable or not UTF-8.
    ConfigError
        If the name is unknown, the TOML is invalid, or the content breaks any rule;
        the message names the file and lists every problem with its key and fix.
    """
    path = _resolve(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read city config {path}: {exc}"
        raise SourceError(msg) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = (f"city config {path} is not UTF-8 (bad byte at line {line}, offset {exc.start}); "
               "re-save it as UTF-8")
        raise SourceError(msg) from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"city config {path} is not valid TOML: {exc}; fix the syntax at that line"
        raise ConfigError(msg) from exc
    problems: list[str] = []
    cfg = _build(doc, path, problems)
    if problems:
        n = len(problems)
        msg = (f"invalid city config {path} ({n} problem{'s' if n > 1 else ''}):\n"
               + "\n".join(f"  - {p}" for p in problems))
        raise ConfigError(msg)
    assert cfg is not None  # no problems: _build returned a config
    logger.debug("loaded city %s: %d districts, %d targets", cfg.id, len(cfg.districts),
                 len(cfg.targets))
    return cfg


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

_NUM = "number"
_INT = "integer"
_STR = "string"
_BOOL = "boolean"
_STRLIST = "list of strings"

#: key -> (type, required)
_TOP_KEYS = {"schema_version": (_INT, True), "city": ("table", True),
             "districts": ("array of tables", True), "targets": ("array of tables", True),
             "access": ("table", False)}
_CITY_KEYS = {
    "id": (_STR, True), "name_zh": (_STR, True), "name_en": (_STR, True), "adcode": (_STR, True),
    "metric_crs": (_STR, True), "timezone": (_STR, True), "latitude": (_NUM, True),
    "longitude": (_NUM, True), "altitude_m": (_NUM, True), "weather_file": (_STR, True),
    "weather_files": (_STRLIST, False), "full_scale_buildings": (_INT, True),
    "boundary_file": (_STR, False),
}
_DISTRICT_KEYS = {
    "adcode": (_STR, True), "name_zh": (_STR, True), "name_en": (_STR, True),
    "kind": (_STR, True), "aquaculture": (_BOOL, False), "is_urban": (_BOOL, False),
}
_TARGET_KEYS = {
    "id": (_STR, True), "indicator_zh": (_STR, True), "indicator_en": (_STR, True),
    "metric": (_STR, True), "value": (_NUM, True), "unit": (_STR, True),
    "value_as_printed": (_STR, True), "comparator": (_STR, True), "scope": (_STR, True),
    "source": (_STRLIST, True), "status": (_STR, True), "year": (_INT, False),
    "threshold": (_NUM, False), "threshold_unit": (_STR, False), "area": (_STR, False),
    "tier": (_STR, False), "kind": (_STR, False), "baseline_value": (_NUM, False),
    "baseline_year": (_INT, False), "baseline_source": (_STR, False), "governs": (_BOOL, False),
    "notes": (_STR, False), "tracked": (_BOOL, False), "untracked_reason": (_STR, False),
}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == _NUM:
        return (isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value))
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _STR:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _STRLIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "table":
        return isinstance(value, dict)
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _check_keys(table: dict, spec: dict, where: str, problems: list[str]) -> dict:
    """Check unknown keys, missing keys and types; return the well-typed entries."""
    good = {}
    for key, value in table.items():
        if key not in spec:
            close = difflib.get_close_matches(key, spec, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(spec)}"
            problems.append(f"{where}: unknown key {key!r}; {hint}")
        elif not _type_ok(value, spec[key][0]):
            problems.append(f"{where}: key {key!r} must be a {spec[key][0]}, "
                            f"got {type(value).__name__} {value!r}")
        else:
            good[key] = value
    for key, (kind, required) in spec.items():
        if required and key not in table:
            problems.append(f"{where}: missing required key {key!r} ({kind}); add it")
    return good


def _check_choice(value: str, allowed: tuple, where: str, key: str, problems: list[str]) -> None:
    if value not in allowed:
        problems.append(f"{where}: bad {key} {value!r}; use one of {list(allowed)}")


def _check_ref(ref: str, where: str, key: str, problems: list[str]) -> None:
    try:
        parse_ref(ref)
    except ConfigError as exc:
        problems.append(f"{where}: key {key!r}: {exc}")


def _check_crs(crs_text: str, where: str, problems: list[str]) -> None:
    import pyproj  # local import: pyproj is heavy and only needed here

    try:
        crs = pyproj.CRS.from_user_input(crs_text)
    except pyproj.exceptions.CRSError as exc:
        problems.append(f"{where}: key 'metric_crs' {crs_text!r} is not a CRS pyproj can parse "
                        f"({exc}); use a projected CRS in metres such as 'EPSG:4549'")
        return
    units = {a.unit_name for a in crs.axis_info}
    if crs.is_geographic or not crs.is_projected or not units <= {"metre", "meter"}:
        problems.append(f"{where}: key 'metric_crs' {crs_text!r} is not a projected CRS in "
                        f"metres (axis units {sorted(units)}); metres are needed for areas and "
                        "distances, use e.g. 'EPSG:4549' (CGCS2000 / 3-degree GK CM 120E)")


def _check_city(city: dict, path: Path, problems: list[str]) -> dict:
    where = f"[city] in {path.name}"
    c = _check_keys(city, _CITY_KEYS, where, problems)
    if "id" in c and (c["id"] != path.stem or not _CITY_ID_RE.match(c["id"])):
        problems.append(f"{where}: key 'id' {c['id']!r} must be lowercase ASCII and equal to the "
                        f"file stem {path.stem!r}; rename the file or set id = {path.stem!r}")
    if "adcode" in c and not _ADCODE_RE.match(c["adcode"]):
        problems.append(f"{where}: key 'adcode' {c['adcode']!r} must be a 6-digit string")
    if "metric_crs" in c:
        _check_crs(c["metric_crs"], where, problems)
    if "timezone" in c:
        try:
            zoneinfo.ZoneInfo(c["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(f"{where}: key 'timezone' {c['timezone']!r} is not an IANA time zone; "
                            "use e.g. 'Asia/Shanghai'")
    if "latitude" in c and not -90 <= c["latitude"] <= 90:
        problems.append(f"{where}: key 'latitude' {c['latitude']} must be in [-90, 90] degrees")
    if "longitude" in c and not -180 <= c["longitude"] <= 180:
        problems.append(f"{where}: key 'longitude' {c['longitude']} must be in [-180, 180] degrees")
    if "boundary_file" in c:
        bpath = Path(c["boundary_file"])
        bpath = bpath if bpath.is_absolute() else path.parent / bpath
        if not bpath.is_file():
            problems.append(f"{where}: key 'boundary_file': {c['boundary_file']!r} does not exist "
                            f"(looked for {bpath}); paths are relative to the config's folder")
    if "full_scale_buildings" in c and c["full_scale_buildings"] <= 0:
        problems.append(f"{where}: key 'full_scale_buildings' must be a positive integer")
    files = list(c.get("weather_files", []))
    if "weather_file" in c:
        if files and c["weather_file"] not in files:
            problems.append(f"{where}: key 'weather_file' {c['weather_file']!r} is not listed in "
                            "'weather_files'; add it there")
        if not files:
            files = [c["weather_file"]]
            c["weather_files"] = files
        checks = [("weather_file", c["weather_file"])]
        checks += [("weather_files", f) for f in files if f != c["weather_file"]]
        for key, name in checks:
            if not _resolve_data_path(name).is_file():
                problems.append(f"{where}: key {key!r}: weather file {name!r} does not exist "
                                f"(looked for {_resolve_data_path(name)}); paths are relative to "
                                f"{DATA_DIR}")
    return c


def _check_districts(rows: list[dict], city: dict, path: Path, problems: list[str]) -> list:
    out, seen = [], set()
    prefix = city.get("adcode", "")[:4]
    for i, row in enumerate(rows):
        label = row.get("adcode", f"#{i + 1}")
        where = f"[[districts]] adcode={label!r} in {path.name}"
        d = _check_keys(row, _DISTRICT_KEYS, where, problems)
        if "adcode" in d:
            if not _ADCODE_RE.match(d["adcode"]):
                problems.append(f"{where}: key 'adcode' must be a 6-digit string")
            elif prefix and not d["adcode"].startswith(prefix):
                problems.append(f"{where}: key 'adcode' does not lie in city {city['adcode']} "
                                f"(must start with {prefix!r})")
            if d["adcode"] in seen:
                problems.append(f"{where}: duplicate district adcode; each district once")
            seen.add(d["adcode"])
        if "kind" in d:
            _check_choice(d["kind"], DISTRICT_KINDS, where, "kind", problems)
        if len(d) == len(row) and all(k in d for k, (_, r) in _DISTRICT_KEYS.items() if r):
            is_urban = d.get("is_urban", d["kind"] in ("dense_core", "new_town"))
            out.append(District(d["adcode"], d["name_zh"], d["name_en"], d["kind"],
                                d.get("aquaculture", False), is_urban))
    if not rows:
        problems.append(f"[[districts]] in {path.name}: no districts; add one table per district")
    return out


def _check_targets(rows: list[dict], adcodes: set, path: Path, problems: list[str]) -> list:
    out, seen = [], set()
    for i, row in enumerate(rows):
        label = row.get("id", f"#{i + 1}")
        where = f"[[targets]] id={label!r} in {path.name}"
        n_before = len(problems)
        t = _check_keys(row, _TARGET_KEYS, where, problems)
        if "id" in t:
            if t["id"] in seen:
                problems.append(f"{where}: duplicate target id; give each record its own id "
                                "(e.g. suffix '-draft')")
            seen.add(t["id"])
        if "unit" in t and t["unit"] not in UNITS:
            problems.append(f"{where}: key 'unit' {t['unit']!r} is not in twin.schema.UNITS; "
                            f"valid units: {', '.join(u for u in UNITS if u)}")
        if "metric" in t:
            metric = METRICS.get(t["metric"])
            if metric is None:
                close = difflib.get_close_matches(t["metric"], METRICS, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "register it in METRICS"
                problems.append(f"{where}: key 'metric' {t['metric']!r} is not in "
                                f"twin.config.METRICS; {hint}")
            elif "unit" in t and t["unit"] != metric.unit:
                problems.append(f"{where}: key 'unit': wrong unit {t['unit']!r} for metric "
                                f"{metric.name!r}, which is in {metric.unit!r}; convert the value "
                                f"to {metric.unit!r}")
        for key, allowed in (("comparator", COMPARATORS), ("status", STATUSES),
                             ("area", AREAS), ("tier", TIERS), ("kind", KINDS)):
            if key in t:
                _check_choice(t[key], allowed, where, key, problems)
        if "source" in t:
            if not t["source"]:
                problems.append(f"{where}: key 'source' is empty; cite at least one 'NNN:line'")
            for ref in t["source"]:
                _check_ref(ref, where, "source", problems)
        if "baseline_source" in t:
            _check_ref(t["baseline_source"], where, "baseline_source", problems)
        if ("threshold" in t) != ("threshold_unit" in t):
            problems.append(f"{where}: keys 'threshold' and 'threshold_unit' go together; "
                            "give both or neither")
        if "threshold_unit" in t and t["threshold_unit"] not in UNITS:
            problems.append(f"{where}: key 'threshold_unit' {t['threshold_unit']!r} is not in "
                            f"twin.schema.UNITS; use e.g. 'min' or 'm'")
        if "baseline_value" in t and "baseline_year" not in t:
            problems.append(f"{where}: key 'baseline_value' needs 'baseline_year'")
        for key in ("year", "baseline_year"):
            if key in t and not 1949 <= t[key] <= 2100:
                problems.append(f"{where}: key {key!r} {t[key]} is not a plausible year")
        if "scope" in t:
            s = t["scope"]
            if not s.strip():
                problems.append(f"{where}: key 'scope' is empty; use 'city', a district adcode "
                                "or a place name")
            elif s.isdigit() and s not in adcodes:
                problems.append(f"{where}: key 'scope' {s!r} is not a district adcode of this "
                                f"city; valid: {sorted(adcodes)}")
        _check_tracked(t, where, problems)
        if len(problems) == n_before:
            out.append(Target(
                id=t["id"], indicator_zh=t["indicator_zh"], indicator_en=t["indicator_en"],
                metric=t["metric"], value=float(t["value"]), unit=t["unit"],
                value_as_printed=t["value_as_printed"], comparator=t["comparator"],
                scope=t["scope"], source=tuple(t["source"]), status=t["status"],
                year=t.get("year"),
                threshold=float(t["threshold"]) if "threshold" in t else None,
                threshold_unit=t.get("threshold_unit"), area=t.get("area", "all"),
                tier=t.get("tier", ""), kind=t.get("kind", "target"),
                baseline_value=(float(t["baseline_value"]) if "baseline_value" in t else None),
                baseline_year=t.get("baseline_year"), baseline_source=t.get("baseline_source"),
                governs=t.get("governs"), notes=t.get("notes", ""),
                tracked=t.get("tracked", True), untracked_reason=t.get("untracked_reason", ""),
            ))
    _check_groups(out, path, problems)
    return out


def _check_tracked(t: dict, where: str, problems: list[str]) -> None:
    """``tracked`` / ``untracked_reason``: untracked targets say why; tracked ones can be."""
    tracked, reason = t.get("tracked", True), t.get("untracked_reason", "").strip()
    if not tracked and not reason:
        problems.append(f"{where}: key 'tracked' is false without 'untracked_reason'; say why no "
                        "engine tracks the target")
    if tracked and reason:
        problems.append(f"{where}: key 'untracked_reason' is given but 'tracked' is not false; "
                        "add tracked = false or remove the reason")
    if not tracked:
        return
    metric = METRICS.get(t.get("metric", ""))
    if metric is not None and not metric.engines:
        problems.append(f"{where}: no engine computes metric {metric.name!r} "
                        "(twin.metrics.METRICS engines); add tracked = false and "
                        "untracked_reason = \"...\", or name the engine that computes it")
    scope = t.get("scope", "city")
    if scope != "city" and not scope.isdigit() and scope.strip():
        problems.append(f"{where}: scope {scope!r} is a place the twin has no boundary of, so no "
                        "engine can track it; add tracked = false and untracked_reason = \"...\"")


def _check_groups(targets: list[Target], path: Path, problems: list[str]) -> None:
    """Flag groups where the governing record is ambiguous."""
    groups: dict[tuple, list[Target]] = defaultdict(list)
    for t in targets:
        groups[t.group_key].append(t)
    for members in groups.values():
        if len(members) < 2:
            continue
        ranks = sorted(_precedence(t) for t in members)
        if ranks[0] == ranks[1] and ranks[0] != 99:
            ids = [t.id for t in members if _precedence(t) == ranks[0]]
            problems.append(f"[[targets]] ids {ids} in {path.name}: several records of equal "
                            f"precedence for metric {members[0].metric!r}, year "
                            f"{members[0].year}, scope {members[0].scope!r}; set governs = true "
                            "on one, or distinguish them by year, scope, area, threshold or tier")


def _build(doc: dict, path: Path, problems: list[str]) -> CityConfig | None:
    top = _check_keys(doc, _TOP_KEYS, f"top level of {path.name}", problems)
    if "schema_version" in top and top["schema_version"] != SCHEMA_VERSION:
        problems.append(f"top level of {path.name}: key 'schema_version' is "
                        f"{top['schema_version']}; this version of carbon-twin reads "
                        f"{SCHEMA_VERSION}")
    city = _check_city(top["city"], path, problems) if "city" in top else {}
    districts = _check_districts(top.get("districts", []), city, path, problems)
    adcodes = {d.get("adcode") for d in top.get("districts", []) if isinstance(d, dict)}
    targets = _check_targets(top.get("targets", []), adcodes, path, problems)
    access = _check_access(top.get("access", {}), targets, path, problems)
    if problems:
        return None
    assert access is not None  # no problems: the [access] table was valid
    return CityConfig(
        id=city["id"], name_zh=city["name_zh"], name_en=city["name_en"], adcode=city["adcode"],
        metric_crs=city["metric_crs"], timezone=city["timezone"],
        latitude=float(city["latitude"]), longitude=float(city["longitude"]),
        altitude_m=float(city["altitude_m"]), weather_file=city["weather_file"],
        weather_files=tuple(city["weather_files"]),
        full_scale_buildings=city["full_scale_buildings"], districts=tuple(districts),
        targets=tuple(targets), path=path, schema_version=top["schema_version"], access=access,
        boundary_file=city.get("boundary_file", ""),
    )


def _check_access(table: dict, targets: list, path: Path, problems: list[str]) -> AccessThresholds | None:
    """The ``[access]`` table, and every coverage target's threshold equal to it."""
    try:
        access = from_mapping(AccessThresholds, table, where=f"[access] of {path.name}")
    except ConfigError as exc:
        problems.append(str(exc))
        return None
    for t in targets:
        if getattr(t, "threshold", None) is None:
            continue
        key = ACCESS_METRICS.get((t.metric, t.area)) or ACCESS_METRICS.get((t.metric, None))
        if key is not None and not math.isclose(float(t.threshold), getattr(access, key)):
            problems.append(f"[[targets]] id {t.id!r} in {path.name}: threshold {t.threshold:g} "
                            f"differs from [access] {key} = {getattr(access, key):g}; the plan "
                            "threshold is written once, in [access]: make them equal")
    return access


# --------------------------------------------------------------------------------------------
# The value as printed: Chinese quantities to canonical units
# --------------------------------------------------------------------------------------------

#: Multipliers written before a unit word: 万 = 1e4, 亿 = 1e8 (simplified and traditional).
PRINTED_MULTIPLIERS: dict[str, float] = {"万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8}
#: Unit words of the seeds -> (key of :data:`twin.schema.UNITS`, factor); longest match wins.
PRINTED_UNITS: dict[str, tuple[str, float]] = {
    "千瓦": ("kw", 1.0), "瓦": ("kw", 1e-3), "兆瓦时": ("mwh", 1.0), "兆瓦時": ("mwh", 1.0),
    "兆瓦": ("mw", 1.0), "MW": ("mw", 1.0), "GW": ("gw", 1.0), "kW": ("kw", 1.0),
    "平方公里": ("km2", 1.0), "km2": ("km2", 1.0), "平方米": ("m2", 1.0), "m2": ("m2", 1.0),
    "立方米": ("m3", 1.0), "公里": ("km", 1.0), "km": ("km", 1.0), "米": ("m", 1.0),
    "亩": ("mu", 1.0), "畝": ("mu", 1.0), "公顷": ("ha", 1.0), "吨": ("t", 1.0),
    "噸": ("t", 1.0), "千伏": ("kv", 1.0), "%": ("pct", 1.0), "分钟": ("min", 1.0), "分鐘": ("min", 1.0),
    "小时": ("h", 1.0), "小時": ("h", 1.0),
    "个": ("count", 1.0), "個": ("count", 1.0), "项": ("count", 1.0), "項": ("count", 1.0),
    "根": ("count", 1.0), "家": ("count", 1.0), "台": ("count", 1.0), "臺": ("count", 1.0),
    "座": ("count", 1.0), "处": ("count", 1.0), "處": ("count", 1.0),
    "年": ("year", 1.0),
}
#: Words that stand for a value: 全覆盖/全部 (all of it), 百分百 and 关停整合 (all closed or
#: merged) = 100 %; 占补平衡 (every loss made good) = a net change of 0.
PRINTED_WORDS: dict[str, tuple[float, str]] = {
    "全覆盖": (100.0, "pct"), "全覆蓋": (100.0, "pct"), "全部": (100.0, "pct"),
    "百分百": (100.0, "pct"),
    "关停整合": (100.0, "pct"), "占补平衡": (0.0, "m2"), "占補平衡": (0.0, "m2"),
}
#: Words that make a power a power per resident (临安 "人人一千瓦").
_PER_PERSON = ("人人", "每人")
#: unit -> (dimension, factor to the dimension's base unit).
_DIMENSIONS: dict[str, tuple[str, float]] = {
    "kw": ("power", 1e3), "mw": ("power", 1e6), "gw": ("power", 1e9),
    "mwh": ("energy", 1e6), "kwh": ("energy", 1e3),
    "m2": ("area", 1.0), "km2": ("area", 1e6), "ha": ("area", 1e4), "mu": ("area", 1e4 / 15),
    "m": ("length", 1.0), "km": ("length", 1e3), "m3": ("volume", 1.0), "t": ("mass", 1.0),
    "t_c": ("mass", 1.0), "kv": ("voltage", 1.0),
    "pct": ("share", 1.0), "count": ("count", 1.0), "s": ("time", 1.0), "min": ("time", 60.0),
    "h": ("time", 3600.0), "kw_per_person": ("power_per_person", 1e3), "year": ("year", 1.0),
}
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_ZH_SMALL = {"十": 10, "百": 100, "千": 1000}
_ZH_NUM = "零一二两兩三四五六七八九十百千万萬亿億半"
_UNIT_RE = "|".join(re.escape(u) for u in sorted(PRINTED_UNITS, key=len, reverse=True))
_MULT_RE = "|".join(PRINTED_MULTIPLIERS)
_QTY_RE = re.compile(
    rf"(?P<num>\d+(?:\.\d+)?|[{_ZH_NUM}]+?)\s*(?P<mult>{_MULT_RE})?\s*(?P<unit>{_UNIT_RE})")


def _zh_number(text: str) -> float:
    """A Chinese numeral (一, 五, 十五, 一千, 千万, 半) as a number."""
    if text == "半":
        return 0.5
    total, section, digit = 0.0, 0.0, None
    for ch in text:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_SMALL:
            section += (1 if digit is None else digit) * _ZH_SMALL[ch]
            digit = None
        elif ch in PRINTED_MULTIPLIERS:
            part = section + (digit or 0)
            total += (part or 1) * PRINTED_MULTIPLIERS[ch]  # 万亩 alone = 1 万
            section, digit = 0.0, None
        else:
            msg = f"{text!r} is not a Chinese numeral"
            raise ValueError(msg)
    return total + section + (digit or 0)


def printed_quantities(text: str) -> list[tuple[float, str]]:
    """The quantities written in a plan's wording, in units of :data:`twin.schema.UNITS`.

    Reads Arabic and Chinese numerals (``五分钟``, ``半小时``, ``千万亩``), the multipliers
    万 (1e4) and 亿 (1e8) and the unit words of :data:`PRINTED_UNITS`; the words of
    :data:`PRINTED_WORDS` add their value; a power in a text with 人人/每人 is per
    resident. Years (``2025年``) are left out.

    Parameters
    ----------
    text : str
        A target's ``value_as_printed``, e.g. ``"480萬千瓦"``, ``"6萬畝"``, ``"城鄉半小時充電圈"``.

    Returns
    -------
    list of (float, str)
        ``(value, unit)`` in text order, e.g. ``[(480e4, "kw")]`` for ``480萬千瓦``.

    Examples
    --------
    >>> printed_quantities("480萬千瓦")
    [(4800000.0, 'kw')]
    >>> printed_quantities("城鄉半小時充電圈")
    [(0.5, 'h')]
    """
    out: list[tuple[float, str]] = []
    per_person = any(w in text for w in _PER_PERSON)
    for m in _QTY_RE.finditer(text):
        num = m.group("num")
        try:
            value = float(num) if num[0].isdigit() else _zh_number(num)
        except ValueError:
            continue
        unit, factor = PRINTED_UNITS[m.group("unit")]
        if unit == "year":
            continue
        value *= factor * (PRINTED_MULTIPLIERS[m.group("mult")] if m.group("mult") else 1.0)
        if per_person and unit == "kw":
            unit = "kw_per_person"
        out.append((value, unit))
    out += [v for w, v in PRINTED_WORDS.items() if w in text]
    return out


def convert_unit(value: float, unit: str, to: str) -> float | None:
    """``value`` in ``unit`` expressed in ``to``; None when the two measure different things.

    >>> convert_unit(6e4, "mu", "km2")
    40.0
    """
    a, b = _DIMENSIONS.get(unit), _DIMENSIONS.get(to)
    if a is None or b is None or a[0] != b[0]:
        return None
    return value * a[1] / b[1]


def check_value_as_printed(t: Target) -> str | None:
    """Whether a target's ``value_as_printed`` converts to its stored value (and threshold).

    The threshold (``300米``, ``五分钟``) must be one of the printed quantities; of the
    others, exactly one may be in the target's unit (after conversion) and it must equal
    ``value``. A coverage rule that prints only its threshold (``城市五分钟`` "a 5-minute
    circle", ``300米见绿``) is read as 100 % (the plans' circles cover everything).

    Returns
    -------
    str or None
        None when it converts; otherwise what is wrong, naming the target.
    """
    qs = printed_quantities(t.value_as_printed)
    if t.threshold is not None and t.threshold_unit is not None:
        hit = [q for q in qs if _close(convert_unit(*q, t.threshold_unit), t.threshold)]
        if not hit:
            return (f"{t.id}: threshold {t.threshold:g} {t.threshold_unit} is not printed in "
                    f"{t.value_as_printed!r} (read {qs})")
        qs.remove(hit[0])
    values = [v for v in (convert_unit(*q, t.unit) for q in qs) if v is not None]
    if not values and t.threshold is not None and t.unit == "pct" and t.value == 100:
        return None
    if len(values) != 1:
        return (f"{t.id}: {t.value_as_printed!r} holds {len(values)} quantities in {t.unit!r} "
                f"({values}); print exactly the one stored")
    if not _close(values[0], t.value):
        return (f"{t.id}: {t.value_as_printed!r} reads {values[0]:g} {t.unit}, the config stores "
                f"{t.value:g} {t.unit}")
    return None


def _close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
