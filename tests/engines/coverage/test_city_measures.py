"""City-level measures: urban districts from the config, the 300 m radius over built-up land,
synthetic shares, congestion parameters."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from engines.coverage.city import _radius_rows, _synthetic_share, _urban_from_config
from engines.coverage.params import CoverageParams, default_congestion
from twin.config import load_city
from twin.errors import ConfigError

CRS = "EPSG:4549"


def _lc(boxes, classes, synthetic):
    return gpd.GeoDataFrame({"lc_class": classes, "is_synthetic": synthetic},
                            geometry=[shapely.box(*b) for b in boxes], crs=CRS)


def _district(code="330502", box=(0, 0, 1000, 1000)):
    return gpd.GeoDataFrame({"adcode": [code]}, geometry=[shapely.box(*box)], crs=CRS)


def _stops(xy):
    return gpd.GeoDataFrame({"stop_id": [f"s{i}" for i in range(len(xy))]},
                            geometry=[shapely.Point(p) for p in xy], crs=CRS)


def test_radius_over_built_up_land_known_answer():
    lc = _lc([(0, 0, 1000, 500), (0, 500, 1000, 1000), (1000, 0, 2000, 1000)],
             ["built_up", "cropland", "built_up"], [True, False, False])
    rows = _radius_rows(lc, _district(), _stops([(0, 0)]), 300.0, ("built_up",))
    quarter = shapely.Point(0, 0).buffer(300, quad_segs=16).area / 4
    city = next(r for r in rows if r["level"] == "city")
    # only the built-up half of the urban district counts; the patch outside it does not
    assert city["denominator"] == pytest.approx(500_000.0)
    assert city["value"] == pytest.approx(100 * quarter / 500_000.0)
    assert city["synthetic_share"] == 1.0
    assert city["demand_kind"] == "built_up_area" and city["threshold"] == 300.0
    # a stop outside the district still covers the land around it; more stops never lower it
    more = _radius_rows(lc, _district(), _stops([(0, 0), (1100, 250)]), 300.0, ("built_up",))
    assert next(r for r in more if r["level"] == "city")["value"] > city["value"]
    everywhere = _radius_rows(lc, _district(), _stops([(x, y) for x in range(0, 1001, 200)
                                                      for y in range(0, 501, 200)]), 300.0, ("built_up",))
    assert next(r for r in everywhere if r["level"] == "city")["value"] == pytest.approx(100.0)


def test_radius_rows_without_built_up_land_or_stops():
    lc = _lc([(0, 0, 1000, 1000)], ["cropland"], [False])
    assert _radius_rows(lc, _district(), _stops([(0, 0)]), 300.0, ("built_up",)) == []
    assert _radius_rows(None, _district(), _stops([(0, 0)]), 300.0, ("built_up",)) == []
    lc = _lc([(0, 0, 1000, 1000)], ["built_up"], [False])
    rows = _radius_rows(lc, _district(), _stops([]), 300.0, ("built_up",))
    assert [r["value"] for r in rows] == [0.0, 0.0]


def _bnd():
    rows = [("330500", "city", "", False), ("330502", "district", "330500", True),
            ("330503", "district", "330500", False), ("330502001", "township", "330502", False),
            ("330503001", "township", "330503", False)]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["adcode", "level", "parent_adcode", "is_urban"]),
                            geometry=[shapely.box(0, 0, 1, 1)] * len(rows), crs=CRS)


def test_urban_districts_come_from_the_config():
    cfg = load_city("huzhou")
    assert set(cfg.access.urban_districts) == {"330502", "330503"}  # Wuxing and Nanxun
    out = _urban_from_config(_bnd(), cfg)
    assert out["is_urban"].tolist() == [False, True, True, True, True]
    # without a list the layer's flags stay
    cfg0 = dataclasses.replace(cfg, access=dataclasses.replace(cfg.access, urban_districts=()))
    assert _urban_from_config(_bnd(), cfg0)["is_urban"].tolist() == _bnd()["is_urban"].tolist()
    bad = dataclasses.replace(cfg, access=dataclasses.replace(cfg.access, urban_districts=("999999",)))
    with pytest.raises(ConfigError, match="999999"):
        _urban_from_config(_bnd(), bad)


def test_synthetic_share_by_weight():
    f = pd.DataFrame({"is_synthetic": [True, False, False]})
    assert _synthetic_share(f) == pytest.approx(1 / 3)
    assert _synthetic_share(f, [2.0, 1.0, 1.0]) == pytest.approx(0.5)
    assert _synthetic_share(f.iloc[:0]) == 0.0


def test_congestion_periods_are_data():
    table = default_congestion()
    assert "free_flow" in table and table["free_flow"].factors == {}
    assert CoverageParams().congestion_factors() == {}  # free flow is the default
    peak = CoverageParams(congestion_period="peak").congestion_factors()
    assert peak and all(v >= 1.0 for v in peak.values())
    assert all(p.source for p in table.values())
    with pytest.raises(ConfigError, match="congestion_period"):
        CoverageParams(congestion_period="rush")
    assert np.isfinite(CoverageParams().drive_access_speed_kmh)
