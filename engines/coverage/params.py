"""Parameters of the coverage engine (checked by :mod:`twin.params`).

The plans' access thresholds (charging 5 / 30 min, bus stop 300 m, green space 300 m,
park 500 m) are not parameters: they are the city's, read from its config
(:class:`twin.config.AccessThresholds`).
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.params import Params, param

__all__ = ["CoverageParams"]


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
