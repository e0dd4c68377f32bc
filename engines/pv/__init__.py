"""PV potential: rooftop (roof facets, horizon shading, facet yield, scenarios), water and ground sites.

The package exports the weather readers and the facet yield model; the engines are
:mod:`engines.pv.rooftop` and :mod:`engines.pv.sites`.
"""

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
