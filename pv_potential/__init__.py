"""Rooftop and water-surface PV potential: weather, facet yield (and, later, facets/shading)."""

from pv_potential.weather import (
    interval_middle,
    location_from_meta,
    read_epw,
    read_tmy3_csv,
    validate_weather,
)
from pv_potential.yield_ import simulate_facets, sky_view_ratio

__all__ = [
    "interval_middle",
    "location_from_meta",
    "read_epw",
    "read_tmy3_csv",
    "simulate_facets",
    "sky_view_ratio",
    "validate_weather",
]
