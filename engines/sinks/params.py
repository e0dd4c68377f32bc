"""Parameters of the carbon-sink accounting (checked by :mod:`twin.params`)."""

from __future__ import annotations

from dataclasses import dataclass

from twin.params import Params, param

__all__ = ["SinksParams"]


@dataclass(frozen=True)
class SinksParams(Params):
    """Carbon stocks, sequestration and sink indicators against the seed targets."""

    sink_scenario: str | None = param(None, cli="--sink-scenario",
                                      help="Scenario polygons (action, to_class, age_shift, "
                                           "growing_stock_m3_per_ha); a vector file.")
    use_raster: bool = param(True, cli="--no-raster", cli_flag_value=False,
                             help="Skip the land-cover raster accounting.")
    previous_raster: str | None = param(None, cli="--previous-raster",
                                        help="Land-cover raster of an earlier epoch for "
                                             "stock-difference removals.")
    years: float | None = param(None, unit="yr", minimum=0.0, exclusive_minimum=True, cli="--years",
                                help="Years between the two raster epochs.")
    scheme: str | None = param(None, cli="--scheme",
                               help="Class table of the rasters (default: the raster's own).")
    special_shrubland_share: float = param(0.0, minimum=0.0, maximum=1.0,
                                           cli="--special-shrubland-share",
                                           help="Share of shrubland counted as forest (特殊灌木林).")
    factors_dir: str | None = param(None, cli="--factors",
                                    help="Folder with carbon_pools.csv etc. [data/sinks].")

    def problems(self) -> list[str]:
        """A previous epoch needs the years between the epochs."""
        if self.previous_raster is not None and self.years is None:
            return ["previous_raster needs years (time between the two epochs): give --years"]
        return []
