"""Parameters of the PV engines, as data: rooftop PV and the water-surface / ground site screens.

Each class is a frozen dataclass checked by :mod:`twin.params`. Defaults and their
sources: the yield model in :data:`engines.pv.yield_.DEFAULTS`; the site screens in
``data/pv/sites.toml`` (read through the same validator by :func:`default_site_screen`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pvlib

from engines.pv.economics import PVEconomics, default_economics
from twin.config import DATA_DIR
from twin.params import Params, from_mapping, load_toml, param

__all__ = [
    "DEFAULT_SCENARIO",
    "DEFAULT_SITES_PATH",
    "MOUNTINGS",
    "WATER_CANDIDATE_TYPES",
    "GroundCategory",
    "GroundScreen",
    "Mounting",
    "PVSitesParams",
    "RoofLayout",
    "RooftopParams",
    "SiteCommon",
    "SiteScreen",
    "SiteStorage",
    "WaterScreen",
    "WaterType",
    "YieldModel",
    "default_roof_layout",
    "default_site_screen",
]

#: Scenario whose adopted capacity is written on each building (all are in the tables).
DEFAULT_SCENARIO = "whole_county_2021"
#: Shipped defaults of the site screens.
DEFAULT_SITES_PATH = DATA_DIR / "pv" / "sites.toml"
#: Shipped defaults of the rooftop layout (row spacing, mounting, obstacles).
DEFAULT_ROOF_LAYOUT_PATH = DATA_DIR / "pv" / "roof_layout.toml"
#: Mountings a site type or category may use.
MOUNTINGS = ("pile_fixed", "floating", "ground_fixed")
#: Water types that can carry PV.
WATER_CANDIDATE_TYPES = ("pond", "pit_pond", "reservoir")

_TRANSPOSITION = ("isotropic", "haydavies", "perez")
_AOI = ("physical", "ashrae", "no_loss")
_TEMPERATURE = ("sapm", "faiman")
_SAPM_SETS = tuple(sorted(pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]))


def _weather_file() -> Any:
    """The weather-file field every PV engine has."""
    return param(None, cli="--weather", help="Weather file of the city (default: the config's first).")


def _weather_shift() -> Any:
    """The weather time-correction field every PV engine has (:mod:`engines.pv.solar_time`)."""
    return param(None, unit="h", minimum=-3.0, maximum=3.0, cli="--weather-shift",
                 help="Correct the weather's time stamps by this much (default: from the sun when "
                      "unambiguous; 0 keeps them).")


@dataclass(frozen=True)
class YieldModel(Params):
    """Options of the yield engine (:func:`engines.pv.yield_.simulate_facets`) shared by every PV engine.

    The temperature model and the albedo are not here: rooftop PV sets them for every
    roof, the site screens per mounting (``data/pv/sites.toml``).
    """

    transposition_model: str = param("perez", choices=_TRANSPOSITION, cli="--transposition",
                                     help="Sky-diffuse transposition model (pvlib names).")
    aoi_model: str = param("physical", choices=_AOI, cli="--aoi-model",
                           help="Incidence-angle modifier model (pvlib names).")
    gamma_pdc: float = param(-0.0035, unit="1/K", minimum=-0.02, maximum=0.0, cli="--gamma-pdc",
                             help="Module power temperature coefficient (PVWatts premium module).")
    losses_percent: float = param(float(pvlib.pvsystem.pvwatts_losses()), unit="%", minimum=0.0,
                                  maximum=99.0, cli="--losses-percent",
                                  help="PVWatts system losses (soiling, wiring, mismatch, ...).")
    dc_ac_ratio: float = param(1.2, minimum=0.5, maximum=3.0, cli="--dc-ac-ratio",
                               help="Array DC nameplate over inverter AC rating.")
    eta_inv_nom: float = param(0.96, minimum=0.5, maximum=1.0, cli="--inverter-efficiency",
                               help="Nominal inverter efficiency (PVWatts).")

    def options(self) -> dict:
        """Keyword options of :func:`~engines.pv.yield_.simulate_facets`."""
        return {"transposition_model": self.transposition_model, "aoi_model": self.aoi_model,
                "gamma_pdc": self.gamma_pdc, "losses_percent": self.losses_percent,
                "dc_ac_ratio": self.dc_ac_ratio, "eta_inv_nom": self.eta_inv_nom}


@dataclass(frozen=True)
class RoofLayout(Params):
    """How modules sit on roofs: flat rows, flush pitched mounts, obstacles (data/pv/roof_layout.toml)."""

    flat_tilt_deg: float = param(20.0, unit="deg", minimum=0.0, maximum=90.0)
    flat_azimuth_deg: float = param(180.0, unit="deg", minimum=0.0, maximum=360.0)
    flat_setback_m: float = param(1.0, unit="m", minimum=0.0, maximum=1000.0)
    obstacle_fraction: float = param(0.15, minimum=0.0, maximum=1.0,
                                     help="Share of a set-back flat roof taken by plant and overruns.")
    row_window_start_h: float = param(9.0, unit="h", minimum=0.0, maximum=12.0,
                                      help="Winter-solstice solar time from which rows must not shade.")
    row_window_end_h: float = param(15.0, unit="h", minimum=12.0, maximum=24.0,
                                    help="Winter-solstice solar time until which rows must not shade.")
    row_shading: bool = param(True, help="Model row-to-row shading of racked flat-roof rows.")
    flat_temperature_parameters: str = param("open_rack_glass_polymer", choices=_SAPM_SETS,
                                             help="SAPM cell-temperature set of racked flat-roof rows.")
    roof_pitch_deg: float = param(25.0, unit="deg", minimum=0.0, maximum=89.0)
    pitched_setback_m: float = param(0.5, unit="m", minimum=0.0, maximum=1000.0)
    pitched_temperature_parameters: str = param("close_mount_glass_glass", choices=_SAPM_SETS,
                                                help="SAPM cell-temperature set of flush pitched modules.")
    obstacle_fraction_pitched: float = param(0.10, minimum=0.0, maximum=1.0, cli="--pitched-obstacles",
                                             help="Share of a pitched facet taken by water heaters etc.")
    samples_per_sector: int = param(10, minimum=0, maximum=100,
                                    help="Exact horizon samples per sector (0: sector maximum).")

    def problems(self) -> list[str]:
        """The row window contains noon."""
        if self.row_window_start_h > self.row_window_end_h:
            return ["row_window_start_h must not be after row_window_end_h"]
        return []

    def facet_options(self) -> dict:
        """Keyword options of :func:`~engines.pv.facets.roof_facets`."""
        return {"flat_tilt_deg": self.flat_tilt_deg, "flat_azimuth_deg": self.flat_azimuth_deg,
                "flat_setback_m": self.flat_setback_m, "obstacle_fraction": self.obstacle_fraction,
                "roof_pitch_deg": self.roof_pitch_deg, "pitched_setback_m": self.pitched_setback_m,
                "obstacle_fraction_pitched": self.obstacle_fraction_pitched,
                "row_window_h": (self.row_window_start_h, self.row_window_end_h)}

    def temperature_by_roof(self) -> dict[str, str]:
        """SAPM parameter set per modelled roof form (``flat`` racked, ``gable``/``hip`` flush)."""
        return {"flat": self.flat_temperature_parameters, "gable": self.pitched_temperature_parameters,
                "hip": self.pitched_temperature_parameters}


@functools.lru_cache(maxsize=4)
def _roof_layout_from(path: str) -> RoofLayout:
    return from_mapping(RoofLayout, load_toml(path), where=path)


def default_roof_layout() -> RoofLayout:
    """The shipped rooftop layout (``data/pv/roof_layout.toml``), validated."""
    return _roof_layout_from(str(DEFAULT_ROOF_LAYOUT_PATH))


@dataclass(frozen=True)
class RooftopParams(Params):
    """Rooftop PV: facets, horizon shading, yield, scenarios."""

    scenario: str = param(DEFAULT_SCENARIO, cli="--scenario",
                          help="Installable-ratio scenario written on buildings (data/pv/scenarios.toml).")
    weather_file: str | None = _weather_file()
    weather_shift_h: float | None = _weather_shift()
    shading: bool = param(True, cli="--no-shading", cli_flag_value=False,
                          help="Skip horizon shading from neighbours.")
    radius_m: float = param(300.0, unit="m", minimum=0.0, cli="--shading-radius",
                            help="Neighbours within this distance shade a facet.")
    temperature_model: str = param("sapm", choices=_TEMPERATURE, cli="--temperature-model",
                                   help="Cell temperature model (pvlib names).")
    albedo: float | None = param(None, minimum=0.0, maximum=1.0, cli="--albedo",
                                 help="Ground albedo under every roof (default: per facet, else weather).")
    model: YieldModel = param(default_factory=YieldModel)
    layout: RoofLayout = param(default_factory=default_roof_layout)
    economics: PVEconomics = param(default_factory=default_economics)

    def options(self) -> dict:
        """Keyword options of :func:`~engines.pv.yield_.simulate_facets`."""
        return {**self.model.options(), "temperature_model": self.temperature_model,
                "albedo": self.albedo}


@dataclass(frozen=True)
class SiteCommon(Params):
    """Module figures shared by every site."""

    module_power_density_kw_per_m2: float = param(0.20, unit="kw_per_m2", minimum=0.01, maximum=0.5)
    azimuth_deg: float = param(180.0, unit="deg", minimum=0.0, maximum=360.0)
    module_efficiency: float = param(0.20, minimum=0.01, maximum=0.5)
    absorptance: float = param(0.9, minimum=0.1, maximum=1.0)
    row_window_start_h: float = param(9.0, unit="h", minimum=0.0, maximum=12.0,
                                      help="Rows must not shade each other from this solar time ...")
    row_window_end_h: float = param(15.0, unit="h", minimum=12.0, maximum=24.0,
                                    help="... to this solar time on the winter solstice.")


@dataclass(frozen=True)
class SiteStorage(Params):
    """Storage the S-H1 rule asks of new centralised capacity."""

    ratio: float = param(0.10, minimum=0.0, maximum=10.0, help="Storage power over PV capacity.")
    duration_h: float = param(2.0, unit="h", minimum=0.0, maximum=1000.0, cli="--storage-hours",
                              help="Storage duration for the >= 10 % storage rule.")


@dataclass(frozen=True)
class Mounting(Params):
    """A mounting: tilt, PVsyst heat-loss factors, albedo under the array."""

    tilt_deg: float = param(20.0, unit="deg", minimum=0.0, maximum=90.0)
    u_c: float = param(29.0, minimum=1.0, maximum=200.0, help="PVsyst constant heat-loss factor [W/(m2 K)].")
    u_v: float = param(0.0, minimum=0.0, maximum=100.0, help="PVsyst wind heat-loss factor [W s/(m3 K)].")
    albedo: float = param(0.2, minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class WaterType(Params):
    """How one water type carries PV."""

    mounting: str = param("pile_fixed", choices=MOUNTINGS)
    shoreline_setback_m: float = param(5.0, unit="m", minimum=0.0, maximum=1e4)
    array_coverage_ratio: float = param(0.5, minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class WaterScreen(Params):
    """The water-surface screen."""

    water_albedo: float = param(0.07, minimum=0.0, maximum=1.0)
    min_area_m2: float = param(10000.0, unit="m2", minimum=0.0, maximum=1e12)
    cluster_distance_m: float = param(30.0, unit="m", minimum=0.0, maximum=1e4)
    max_reservoir_area_m2: float = param(1e6, unit="m2", minimum=0.0, maximum=1e12)
    types: dict[str, WaterType] = param(default_factory=dict)

    def problems(self) -> list[str]:
        """Only pond, pit pond and reservoir can carry PV."""
        return [f"water.types.{t}: only {', '.join(WATER_CANDIDATE_TYPES)} are water PV candidates"
                for t in self.types if t not in WATER_CANDIDATE_TYPES]


@dataclass(frozen=True)
class GroundCategory(Params):
    """A ground-PV land category."""

    mounting: str = param("ground_fixed", choices=MOUNTINGS)
    edge_setback_m: float = param(10.0, unit="m", minimum=0.0, maximum=1e4)
    array_coverage_ratio: float = param(0.5, minimum=0.0, maximum=1.0)
    gcr_max: float = param(1.0, minimum=0.0, maximum=1.0)
    lc_classes: tuple[str, ...] = param(())


@dataclass(frozen=True)
class GroundScreen(Params):
    """The ground-PV screen."""

    min_area_m2: float = param(10000.0, unit="m2", minimum=0.0, maximum=1e12)
    max_slope_deg: float = param(25.0, unit="deg", minimum=0.0, maximum=90.0)
    exclude_lc_classes: tuple[str, ...] = param(("built_up", "water", "wetland", "snow_ice"))
    categories: dict[str, GroundCategory] = param(default_factory=dict)


@dataclass(frozen=True)
class SiteScreen(Params):
    """Everything the water-surface and ground screens read (``data/pv/sites.toml``)."""

    schema_version: int = param(1, minimum=1, maximum=1)
    common: SiteCommon = param(default_factory=SiteCommon)
    storage: SiteStorage = param(default_factory=SiteStorage)
    mountings: dict[str, Mounting] = param(default_factory=dict)
    water: WaterScreen = param(default_factory=WaterScreen)
    ground: GroundScreen = param(default_factory=GroundScreen)

    def problems(self) -> list[str]:
        """Mountings are known, and every site kind names one of them."""
        out = [f"mountings.{m}: not a known mounting; use one of {', '.join(MOUNTINGS)}"
               for m in self.mountings if m not in MOUNTINGS]
        kinds: list[tuple[str, WaterType | GroundCategory]] = [
            (f"water.types.{k}", v) for k, v in self.water.types.items()]
        kinds += [(f"ground.categories.{k}", v) for k, v in self.ground.categories.items()]
        out += [f"{where}: mounting={v.mounting!r} is not one of {sorted(self.mountings)} per mounting table"
                for where, v in kinds if v.mounting not in self.mountings]
        return out


@functools.lru_cache(maxsize=4)
def _site_screen_from(path: str) -> SiteScreen:
    return from_mapping(SiteScreen, load_toml(path), where=path)


def default_site_screen() -> SiteScreen:
    """The shipped site-screen parameters (``data/pv/sites.toml``), validated."""
    return _site_screen_from(str(DEFAULT_SITES_PATH))


@dataclass(frozen=True)
class PVSitesParams(Params):
    """Water-surface and ground PV site screens."""

    weather_file: str | None = _weather_file()
    weather_shift_h: float | None = _weather_shift()
    use_dem: bool = param(True, cli="--no-dem", cli_flag_value=False,
                          help="Do not exclude steep land even when the twin has a DEM.")
    site: SiteScreen = param(default_factory=default_site_screen)
    model: YieldModel = param(default_factory=YieldModel)
    economics: PVEconomics = param(default_factory=default_economics)
