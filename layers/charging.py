"""EV charging stations and highway service areas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.schema import LAYERS

__all__ = ["DEFAULT_PILE_POWER_KW", "SPEC", "SPEC_SERVICE_AREAS", "derive"]

SPEC = LAYERS["charging_stations"]
SPEC_SERVICE_AREAS = LAYERS["service_areas"]

#: Power assumed per pile when a station gives none [kW]: a 60 kW DC pile, the
#: most common public DC rating in China (GB/T 20234.3 connectors).
DEFAULT_PILE_POWER_KW = 60.0


def derive(gdf, report=None):
    """Fill missing station power from the pile count (charging stations only)."""
    if "power_kw" in gdf.columns:
        power = pd.to_numeric(gdf["power_kw"], errors="coerce")
        piles = pd.to_numeric(gdf["piles"], errors="coerce")
        gdf["power_kw"] = np.where(power.isna(), piles * DEFAULT_PILE_POWER_KW, power).astype("float64")
    return gdf
