"""GCJ-02 <-> WGS84: published control points, round trips, the China box, geometries.

Control points
--------------
* wandergis/coordtransform (README example; also the expected values of hutool's
  ``CoordinateUtilTest``): WGS84 (116.404, 39.915) -> GCJ-02
  (116.41024449916938, 39.91640428150164).
* googollee/eviltransform test suite (``python/test.py``, ``go/transform_test.go``):
  Shanghai, Shenzhen and Beijing (given there as lat, lng).
* hujiulong/gcoord ``test/fixtures/china-cities.json`` (pairs from the map providers'
  own converters, tested there to 4 decimals): Hangzhou (Gongshu), Huzhou (Wuxing),
  Jiaxing, Shaoxing.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon

from twin.errors import DataWarning, SchemaError
from twin.gcj02 import (
    CHINA_BOX,
    gcj02_to_wgs84,
    geometry_gcj02_to_wgs84,
    geometry_wgs84_to_gcj02,
    in_china,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")

# (wgs_lat, wgs_lng, gcj_lat, gcj_lng) from eviltransform's test suite
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]

# name: (WGS84 lon, lat), (GCJ-02 lon, lat) from gcoord's china-cities.json
GCOORD = {
    "hangzhou": ((120.1503589, 30.2764043), (120.1550722, 30.274088)),
    "huzhou": ((120.0819509, 30.8963939), (120.0868281, 30.8943522)),
    "jiaxing": ((120.7511656, 30.7484263), (120.755491, 30.746132)),
    "shaoxing": ((120.5761439, 30.032385), (120.580236, 30.0297572)),
}


def _metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_coordtransform_vector():
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-10)
    assert lat == pytest.approx(39.91640428150164, abs=1e-10)
    assert isinstance(lon, float) and isinstance(lat, float)


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), EVILTRANSFORM)
def test_eviltransform_vectors(wlat, wlng, glat, glng):
    lon, lat = wgs84_to_gcj02(wlng, wlat)
    assert lon == pytest.approx(glng, abs=1e-10)
    assert lat == pytest.approx(glat, abs=1e-10)
    # the exact inverse recovers the WGS84 point far better than eviltransform's 0.5 m
    lon, lat = gcj02_to_wgs84(glng, glat)
    assert _metres(lon, lat, wlng, wlat) < 1e-3
    assert abs(lon - wlng) < 1e-7 and abs(lat - wlat) < 1e-7


@pytest.mark.parametrize("name", sorted(GCOORD))
def test_gcoord_zhejiang_cities(name):
    (wlon, wlat), (glon, glat) = GCOORD[name]
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert abs(lon - glon) < 1e-5 and abs(lat - glat) < 1e-5  # gcoord tests to 4 decimals
    assert _metres(lon, lat, glon, glat) < 1.0
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert _metres(lon, lat, wlon, wlat) < 1.0


@pytest.mark.parametrize("name", ["hangzhou", "huzhou"])
def test_offset_size_in_pilot_cities(name):
    (wlon, wlat), _ = GCOORD[name]
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    shift = _metres(wlon, wlat, glon, glat)
    assert 400.0 < shift < 600.0
    # GCJ-02 is east and south of WGS84 here
    assert glon > wlon and glat < wlat


def test_vectorised_matches_scalar_and_broadcasts():
    lon = np.array([120.15, 120.08, 121.53, -0.1276])
    lat = np.array([30.27, 30.89, 31.18, 51.5072])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon.shape == (4,)
    for i in range(4):
        assert (glon[i], glat[i]) == wgs84_to_gcj02(lon[i], lat[i])
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    np.testing.assert_allclose(wlon, lon, atol=1e-9)
    np.testing.assert_allclose(wlat, lat, atol=1e-9)
    blon, blat = wgs84_to_gcj02(lon.reshape(2, 2), 30.0)  # scalar lat broadcasts
    assert blon.shape == blat.shape == (2, 2)


@pytest.mark.parametrize("point", [(-0.1276, 51.5072), (183.0, 45.0), (-74.0, 40.7),
                                   (151.2, -33.9), (73.0, 30.0), (120.0, 54.0)])
def test_outside_china_unchanged(point):
    assert not in_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_china_box_edges():
    lon0, lat0, lon1, lat1 = CHINA_BOX
    assert not in_china(lon0, 30.0) and not in_china(120.0, lat1)
    assert in_china(lon0 + 1e-6, 30.0)


def test_nan_propagates_without_warning(recwarn):
    lon, lat = gcj02_to_wgs84(np.array([np.nan, 120.1]), np.array([30.0, 30.2]))
    assert np.isnan(lon[0]) and np.isfinite(lon[1])
    assert not [w for w in recwarn if issubclass(w.category, DataWarning)]


def test_non_convergence_warns():
    with pytest.warns(DataWarning, match="did not converge"):
        gcj02_to_wgs84(120.155, 30.274, iterations=1)
    with pytest.raises(ValueError, match="iterations"):
        gcj02_to_wgs84(120.155, 30.274, iterations=0)


# inside the China box with a margin, so that a point and its GCJ-02 image are both inside
china_lon = st.floats(CHINA_BOX[0] + 0.05, CHINA_BOX[2] - 0.05)
china_lat = st.floats(CHINA_BOX[1] + 0.05, CHINA_BOX[3] - 0.05)


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_inside_china(lon, lat):
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert (glon, glat) != (lon, lat)
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert abs(wlon - lon) < 1e-7 and abs(wlat - lat) < 1e-7


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=20))
def test_round_trip_arrays(points):
    lon, lat = np.array(points).T
    wlon, wlat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(np.abs(wlon - lon)) < 1e-7 and np.max(np.abs(wlat - lat)) < 1e-7


def test_geometry_conversion_matches_points():
    poly = Polygon([(120.15, 30.27), (120.16, 30.27), (120.16, 30.28), (120.15, 30.28)])
    out = geometry_gcj02_to_wgs84(poly)
    coords = np.asarray(poly.exterior.coords)
    expected = np.column_stack(gcj02_to_wgs84(coords[:, 0], coords[:, 1]))
    np.testing.assert_allclose(np.asarray(out.exterior.coords), expected, atol=1e-12)
    back = geometry_wgs84_to_gcj02(out)
    assert shapely.equals_exact(back, poly, tolerance=1e-7)


def test_geoseries_keeps_index_crs_and_z():
    gs = gpd.GeoSeries([Point(120.155, 30.274, 7.5), Point(120.087, 30.894)],
                       index=["a", "b"], crs="EPSG:4326", name="pts")
    out = geometry_gcj02_to_wgs84(gs)
    assert isinstance(out, gpd.GeoSeries)
    assert list(out.index) == ["a", "b"] and out.crs == gs.crs and out.name == "pts"
    assert out["a"].has_z and out["a"].z == 7.5
    assert not out["b"].has_z
    lon, lat = gcj02_to_wgs84(120.087, 30.894)
    assert out["b"].x == pytest.approx(lon) and out["b"].y == pytest.approx(lat)
    frame = gpd.GeoDataFrame({"v": [1, 2]}, geometry=gs.values, crs="EPSG:4326")
    out_frame = geometry_gcj02_to_wgs84(frame)
    assert out_frame["v"].tolist() == [1, 2]
    assert shapely.equals_exact(out_frame.geometry.iloc[1], out["b"], tolerance=0)


def test_projected_input_is_refused():
    gs = gpd.GeoSeries([Point(120.155, 30.274)], crs="EPSG:4326").to_crs("EPSG:4549")
    with pytest.raises(SchemaError, match="projected CRS"):
        geometry_gcj02_to_wgs84(gs)
    with pytest.raises(SchemaError, match="not longitude/latitude"):
        geometry_gcj02_to_wgs84(Point(500000.0, 3350000.0))
