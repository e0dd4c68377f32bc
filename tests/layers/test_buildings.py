"""The real OSM sample mapped to the buildings schema."""

import numpy as np

from layers.buildings import OSM_USE_CLASSES, cim_level, from_osm_sample
from layers.conform import conform_layer
from layers.io.files import read_vector
from shell.demo import ATTRIBUTION, REAL_FILES


def test_osm_sample_maps_to_schema():
    osm = read_vector(REAL_FILES["osm_buildings"])
    b, rejected = from_osm_sample(osm, source=ATTRIBUTION["osm_buildings"])
    assert len(osm) == 762
    assert rejected == [(f"osm-{i}", "OSM building=no is not a building")
                        for i in osm.loc[osm["osm_building"] == "no", "bid"]]
    out, report = conform_layer(b, "buildings", file="osm")
    assert len(out) == 761 and not report.rejected
    assert not out["is_synthetic"].any()
    assert (out["source"].str.contains("OpenStreetMap")).all()
    # only levels x 3.5 m is observed; the upstream's random heights are synthetic
    counts = out["height_source"].value_counts().to_dict()
    assert counts == {"estimated": 741, "synthetic": 14, "observed": 6}  # building=no was random
    assert set(out["use_class"]) <= set(OSM_USE_CLASSES.values())
    assert (out["cim_level"] == 2).all()  # OSM gives no roof form
    total = out["footprint_area_m2"].sum()
    assert 1.15e6 < total < 1.25e6  # SOURCES.md: 1.21 km^2 in EPSG:32651


def test_cim_level():
    import pandas as pd

    assert cim_level(pd.Series(["flat", "unknown", "hip"])).tolist() == [3, 2, 3]
    assert cim_level(pd.Series([], dtype=str)).dtype == np.int64
