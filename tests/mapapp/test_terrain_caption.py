"""The pages say whether the figures used the twin's DEM, from each engine's run metadata."""

from __future__ import annotations

import pytest

from engines.pv.rooftop import NO_DEM_NOTE
from mapapp.i18n import t
from mapapp.pages._common import terrain_text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_terrain_caption_follows_the_metadata(lang):
    used, not_used = (lambda e: t("terrain.used", lang, what=t(f"terrain.{e}", lang)),
                      lambda e: t("terrain.not_used", lang, what=t(f"terrain.{e}", lang)))
    pv_dem = {"pv": {"shading": True, "terrain_used": True,
                     "terrain_horizon": "terrain horizons from the DEM dem.tif (ray marching up to 5000 m)"}}
    assert terrain_text(pv_dem, "pv", lang) == used("pv")
    no_dem = {"pv": {"shading": True, "terrain_horizon": NO_DEM_NOTE}}
    assert terrain_text(no_dem, "pv", lang) == not_used("pv")
    # a catalog written before terrain_used existed: read from the note
    old = {"pv": {"shading": True, "terrain_horizon": pv_dem["pv"]["terrain_horizon"]}}
    assert terrain_text(old, "pv", lang) == used("pv")
    off = {"pv": {"shading": False, "terrain_horizon": "no horizon shading (--no-shading): terrain not used"}}
    assert terrain_text(off, "pv", lang) == t("terrain.no_shading", lang)
    wind = {"wind_screen": {"slope_screened": False, "n_sites_elevation_from_dem": 0}}
    assert terrain_text(wind, "wind", lang) == not_used("wind")
    wind["wind_screen"].update(slope_screened=True, n_sites_elevation_from_dem=12)
    assert terrain_text(wind, "wind", lang) == used("wind")
    assert terrain_text({"pv_sites": {"slope_from_dem": False}}, "ground", lang) == not_used("ground")
    assert terrain_text({"pv_sites": {"slope_from_dem": True}}, "ground", lang) == used("ground")
    # nothing known (engine not run, or an unknown engine): nothing said
    assert all(terrain_text({}, e, lang) == "" for e in ("pv", "wind", "ground"))
    assert terrain_text(pv_dem, "sinks", lang) == ""
