"""Rooftop and water-surface PV potential: weather, facet yield (and, later, facets/shading)."""

from engines.pv.weather import (
    interval_middle,
    location_from_meta,
    read_epw,
    read_tmy3_csv,
    validate_weather,
)
from engines.pv.yield_ import simulate_facets, sky_view_ratio

__all__ = [
    "interval_middle",
    "location_from_meta",
    "read_epw",
    "read_tmy3_csv",
    "simulate_facets",
    "sky_view_ratio",
    "validate_weather",
]
