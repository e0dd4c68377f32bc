"""Parameters of the coverage engine (checked by :mod:`twin.params`).

The plans' access thresholds (charging 5 / 30 min, bus stop 300 m, green space 300 m,
park 500 m) and the urban districts are not parameters: they are the city's, read from
its config (:class:`twin.config.AccessThresholds`). The access-leg speed and the
congestion periods are data (``data/coverage/access.toml``, with their sources).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from twin.config import DATA_DIR
from twin.params import Params, from_mapping, load_toml, param

__all__ = ["ACCESS_DATA_PATH", "CongestionPeriod", "CoverageParams", "default_congestion"]

#: Access-leg speed and congestion factors, with sources.
ACCESS_DATA_PATH = DATA_DIR / "coverage" / "access.toml"


@dataclass(frozen=True)
class CongestionPeriod(Params):
    """Travel-time factors by road class for one time of day (``[congestion.<period>]``)."""

    factors: dict[str, float] = param(default_factory=dict, minimum=0.0, exclusive_minimum=True,
                                      help="Road class -> congested / free-flow travel time.")
    status: str = param("illustrative", choices=("reference", "measured", "illustrative"),
                        help="Where the factors stand.")
    source: str = param("", help="Where the factors come from.")


@dataclass(frozen=True)
class _AccessData(Params):
    drive_access_speed_kmh: float = param(20.0, unit="kmh", minimum=0.0, exclusive_minimum=True)
    congestion: dict[str, CongestionPeriod] = param(default_factory=dict)


@functools.lru_cache(maxsize=2)
def _access_data(path: str) -> _AccessData:
    return from_mapping(_AccessData, load_toml(path), where=path)


def default_congestion() -> dict[str, CongestionPeriod]:
    """The shipped congestion periods (``data/coverage/access.toml``), validated."""
    return dict(_access_data(str(ACCESS_DATA_PATH)).congestion)


@dataclass(frozen=True)
class CoverageParams(Params):
    """Service coverage: charging circles, piles, bus stops, green space, parks, siting."""

    cell_m: float = param(200.0, unit="m", minimum=0.0, exclusive_minimum=True,
                          help="Area cells for the bus-stop area share.")
    max_snap_m: float = param(1000.0, unit="m", minimum=0.0,
                              help="Stations, stops and demand farther from a road are reported.")
    walk_snap_m: float = param(200.0, unit="m", minimum=0.0,
                               help="The walking network is used within this distance of a road.")
    isochrone_buffer_m: float = param(100.0, unit="m", minimum=0.0, exclusive_minimum=True,
                                      help="Buffer of the reached edges drawn as isochrones.")
    k_sites: int = param(10, minimum=0, cli="--sites", help="Number of new charging stations to suggest.")
    k_max: int = param(200, minimum=1, help="Most stations the siting adds to reach the target.")
    candidate_spacing_m: float = param(2000.0, unit="m", minimum=0.0, exclusive_minimum=True,
                                       cli="--spacing", help="Spacing of the grid of candidate sites.")
    service_area_charger_m: float = param(500.0, unit="m", minimum=0.0,
                                          help="A public station this close counts as a service "
                                               "area's charger.")
    speeds_kmh: dict[str, float] | None = param(None, unit="kmh", minimum=0.0, exclusive_minimum=True,
                                                help="Free-flow speed by road class (default: the "
                                                     "roads layer's).")
    node_intersections: bool = param(True, cli="--no-noding", cli_flag_value=False,
                                     help="Join roads only at shared end points (for road files "
                                          "noded already); default: split them where they cross.")
    drive_access_speed_kmh: float = param(
        _access_data(str(ACCESS_DATA_PATH)).drive_access_speed_kmh, unit="kmh", minimum=0.0,
        exclusive_minimum=True, cli="--access-speed",
        help="Speed of the drive from a building or station to its road point "
             "(data/coverage/access.toml).")
    congestion_period: str = param("free_flow", cli="--congestion",
                                   help="Time of day whose congestion factors scale drive times "
                                        "(a [congestion.<period>] of data/coverage/access.toml).")
    congestion: dict[str, CongestionPeriod] = param(default_factory=default_congestion)
    built_up_classes: tuple[str, ...] = param(("built_up",),
                                              help="Land-cover classes that are built-up land (the "
                                                   "area of the 300 m stop-radius measure).")

    def problems(self) -> list[str]:
        """The congestion period is one of the table's."""
        if self.congestion_period not in self.congestion and self.congestion_period != "free_flow":
            return [f"congestion_period={self.congestion_period!r} is not one of "
                    f"{sorted(self.congestion)} ([congestion.<period>] of {ACCESS_DATA_PATH.name})"]
        return []

    def congestion_factors(self) -> dict[str, float]:
        """Road class -> travel-time factor of the chosen period (empty: free flow)."""
        period = self.congestion.get(self.congestion_period)
        return dict(period.factors) if period is not None else {}
