"""OGC API - Processes of the twin: pv-screen (OWSLib against `twin serve`), coverage-what-if, keys."""

from __future__ import annotations

import json

import numpy as np
import pyproj
import pytest
import shapely

from tests.service.conftest import CITY

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the session builds and serves a twin

TO_LONLAT = pyproj.Transformer.from_crs("EPSG:4549", "OGC:CRS84", always_xy=True)


def test_owslib_runs_pv_screen_on_listed_buildings(server, store):
    from owslib.ogcapi.processes import Processes

    api = Processes(server)
    assert {"pv-screen", "coverage-what-if"} <= {p["id"] for p in api.processes()}
    pv = store.select("pv_buildings", ["building_id", "pv_capacity_kwp", "pv_yield_kwh_per_yr",
                                       "co2_avoided_t_co2_per_yr"], order_by=["building_id"], limit=5)
    ids = list(pv["building_id"])
    doc = api.execute("pv-screen", {"building_ids": [*ids, "no-such-building"]})  # OWSLib adds "inputs"
    out = doc["outputs"][0]  # OWSLib asks for a document: pygeoapi wraps the result in "outputs"
    assert [b["building_id"] for b in out["buildings"]] == ids
    assert out["unknown_ids"] == ["no-such-building"]
    t = out["totals"]
    assert t["n_buildings"] == 5
    assert t["pv_capacity_kwp"] == pytest.approx(pv["pv_capacity_kwp"].sum())
    assert t["pv_yield_kwh_per_yr"] == pytest.approx(pv["pv_yield_kwh_per_yr"].sum())
    assert t["co2_avoided_t_co2_per_yr"] == pytest.approx(pv["co2_avoided_t_co2_per_yr"].sum())
    assert t["specific_yield_kwh_per_kwp"] == pytest.approx(t["pv_yield_kwh_per_yr"] / t["pv_capacity_kwp"])
    lcoe = [b["lcoe_cny_per_kwh"] for b in out["buildings"]]
    assert min(lcoe) <= t["lcoe_cny_per_kwh"] <= max(lcoe)  # an energy-weighted mean
    assert out["units"]["pv_capacity_kwp"]["unit"] == "kwp"  # a key of twin.schema.UNITS
    assert out["units"]["lcoe_cny_per_kwh"]["description"]


def test_pv_screen_by_polygon_equals_the_sum_of_its_buildings(client, store):
    geoms = shapely.from_wkb(store.select_wkb("pv_buildings")["wkb"].to_numpy())
    c = shapely.get_coordinates(shapely.centroid(geoms))
    mid = np.median(c, axis=0)
    poly = shapely.box(*(mid - 1500), *(mid + 1500))
    inside = shapely.intersects(geoms, poly)
    lonlat = shapely.transform(poly, lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1])))
    r = client.post("/processes/pv-screen/execution",
                    json={"inputs": {"polygon": shapely.geometry.mapping(lonlat)}})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    out = r.get_json()
    assert out["totals"]["n_buildings"] == len(out["buildings"])
    # reprojecting the box's corners bends its edges by well under a building: counts agree
    assert abs(out["totals"]["n_buildings"] - int(inside.sum())) <= max(2, 0.02 * inside.sum())
    assert out["totals"]["pv_capacity_kwp"] == pytest.approx(
        sum(b["pv_capacity_kwp"] for b in out["buildings"]))
    assert 0.0 <= out["synthetic_share"] <= 1.0


def test_coverage_what_if_covers_an_uncovered_point(client, store):
    from service.processes import coverage_what_if

    d = store.select_wkb("coverage_demand", ["is_charging_covered", "residents_count"])
    summary = store.table("coverage_summary")
    urban = summary[(summary.metric == "charging_circle_coverage_pct") & (summary.level == "city")
                    & (summary.area == "urban")]["value"]
    out0 = coverage_what_if(store, [[0.5 * (a + b) for a, b in zip(
        TO_LONLAT.transform_bounds(*shapely.total_bounds(shapely.from_wkb(d["wkb"])))[:2],
        TO_LONLAT.transform_bounds(*shapely.total_bounds(shapely.from_wkb(d["wkb"])))[2:], strict=True)]])
    if len(urban):  # the engine's own figure is the "before"
        assert out0["before_pct"]["urban_5min"] == pytest.approx(float(urban.iloc[0]), abs=1e-6)
    for k, v in out0["change_pct_points"].items():
        assert v is None or v >= -1e-9, k  # a site only ever adds coverage
    gaps = d[~d["is_charging_covered"].astype(bool)]
    if gaps.empty:
        pytest.skip("every demand point is covered in this twin")
    x, y = shapely.get_coordinates(shapely.from_wkb(gaps["wkb"].iloc[0]))[0]
    site = list(TO_LONLAT.transform(x, y))
    r = client.post("/processes/coverage-what-if/execution", json={"inputs": {"sites": [site]}})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    out = r.get_json()
    assert out["newly_covered_points"] >= 1
    assert out["sites"][0]["newly_covered_points"] == out["newly_covered_points"]
    assert out["after_pct"]["all"] > out["before_pct"]["all"]


BAD_INPUTS = [
    ("no inputs", "pv-screen", None),
    ("neither polygon nor ids", "pv-screen", {"inputs": {}}),
    ("both polygon and ids", "pv-screen", {"inputs": {"building_ids": ["a"], "polygon": {
        "type": "Polygon", "coordinates": [[[120, 30], [120.1, 30], [120.1, 30.1], [120, 30]]]}}}),
    ("ids not a list", "pv-screen", {"inputs": {"building_ids": "abc"}}),
    ("polygon not geojson", "pv-screen", {"inputs": {"polygon": {"type": "Blob"}}}),
    ("polygon in metres", "pv-screen", {"inputs": {"polygon": {
        "type": "Polygon", "coordinates": [[[4e5, 3e6], [5e5, 3e6], [5e5, 3.1e6], [4e5, 3e6]]]}}}),
    ("a point, not a polygon", "pv-screen",
     {"inputs": {"polygon": {"type": "Point", "coordinates": [120, 30]}}}),
    ("unknown input", "pv-screen", {"inputs": {"buildings": ["a"]}}),
    ("unknown city", "pv-screen", {"inputs": {"city": "atlantis", "building_ids": ["a"]}}),
    ("no sites", "coverage-what-if", {"inputs": {}}),
    ("sites not points", "coverage-what-if", {"inputs": {"sites": [["a", "b"]]}}),
    ("too many sites", "coverage-what-if", {"inputs": {"sites": [[120.1, 30.1]] * 1000}}),
    ("unknown process", "no-such-process", {"inputs": {}}),
]


@pytest.mark.parametrize("why,pid,body", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_process_input_gets_a_4xx_json_error(client, why, pid, body):
    r = client.post(f"/processes/{pid}/execution", data=json.dumps(body) if body is not None else b"",
                    content_type="application/json")
    assert 400 <= r.status_code < 500, (why, r.status_code, r.get_data(as_text=True)[:300])
    assert json.loads(r.get_data(as_text=True))


def test_api_keys_guard_execution_but_not_reading():
    from service.app import TwinMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    config = {"resources": {"x": {"type": "collection", "providers": [{"data": {"city": CITY}}]}}}
    mw = TwinMiddleware(app, config, None)
    mw.keys = ["s3cret"]

    def call(method, path, **headers):
        seen = {}

        def start(status, hdrs):
            seen["status"] = status

        env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
               **{f"HTTP_{k.upper()}": v for k, v in headers.items()}}
        body = b"".join(mw(env, start))
        return int(seen["status"].split()[0]), body

    assert call("GET", "/collections/x/items")[0] == 200
    assert call("GET", "/processes")[0] == 200
    status, body = call("POST", "/processes/pv-screen/execution")
    assert status == 401 and json.loads(body)["code"] == "Unauthorized"
    assert call("POST", "/processes/pv-screen/execution", x_api_key="wrong")[0] == 401
    assert call("POST", "/processes/pv-screen/execution", x_api_key="s3cret")[0] == 200
    assert call("POST", "/processes/pv-screen/execution", authorization="Bearer s3cret")[0] == 200
    assert call("DELETE", "/jobs/123")[0] == 401


def test_a_large_request_runs_as_a_job_and_its_results_equal_the_synchronous_ones(server, store):
    """`Prefer: respond-async` on the real server: 201 + a job; polled to successful; same results."""
    import time

    import requests

    pv = store.select("pv_buildings", ["building_id"], order_by=["building_id"], limit=50)
    ids = list(pv["building_id"])
    body = {"inputs": {"building_ids": ids}}
    sync = requests.post(f"{server}/processes/pv-screen/execution", json=body, timeout=120)
    assert sync.status_code == 200, sync.text[:300]
    r = requests.post(f"{server}/processes/pv-screen/execution", json=body, timeout=120,
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text[:300]
    job = r.headers["Location"]
    deadline = time.monotonic() + 300
    while True:
        status = requests.get(job, params={"f": "json"}, timeout=60).json()
        if status["status"] in ("successful", "failed", "dismissed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status["status"] == "successful", status
    res = requests.get(job + "/results", params={"f": "json"}, timeout=60)
    assert res.status_code == 200, res.text[:300]
    got = res.json()
    got = got.get("outputs", got) if isinstance(got, dict) else got
    assert got["totals"] == sync.json()["totals"]
    assert [b["building_id"] for b in got["buildings"]] == ids
