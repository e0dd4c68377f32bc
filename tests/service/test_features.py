"""OGC API - Features over the twin: OWSLib against `twin serve`, and fine cases in-process."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, urlsplit

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.conftest import CITY
from twin.store import Between

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the session builds and serves a twin

BUILDINGS = f"{CITY}-buildings"
STATIONS = f"{CITY}-charging_stations"
EPSG4549 = "http://www.opengis.net/def/crs/EPSG/0/4549"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:4549", "OGC:CRS84", always_xy=True)


def _box_lonlat(store, frac=0.3):
    """A bbox (CRS84) around the middle of the city's buildings, and the same in EPSG:4549."""
    xy = shapely.get_coordinates(shapely.from_wkb(store.select_wkb("buildings")["wkb"].to_numpy()))
    lo, hi = np.quantile(xy, 0.5 - frac / 2, axis=0), np.quantile(xy, 0.5 + frac / 2, axis=0)
    box = [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]
    return list(TO_LONLAT.transform_bounds(*box, densify_pts=2)), box


def _get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    return json.loads(r.get_data(as_text=True))


# --- OWSLib against the real server ---------------------------------------------------------
def test_owslib_lists_every_layer_and_result_as_a_collection(server, store):
    from owslib.ogcapi.features import Features

    api = Features(server)
    ids = {c["id"] for c in api.collections()["collections"]}
    want = {f"{CITY}-{n}" for n in store.layers()["name"]}
    assert want <= ids
    assert {f"{CITY}-pv_buildings", f"{CITY}-coverage_demand", BUILDINGS} <= ids
    meta = api.collection(BUILDINGS)
    lon0, lat0, lon1, lat1 = meta["extent"]["spatial"]["bbox"][0]
    assert 119 < lon0 < lon1 < 121.5 and 30 < lat0 < lat1 < 31.5  # Huzhou, CRS84
    assert "buildings" in meta["title"].lower() or "建筑" in meta["title"]


def test_owslib_reads_items_by_bbox_and_limit(server, store):
    from owslib.ogcapi.features import Features

    lonlat, box = _box_lonlat(store)
    page = Features(server).collection_items(BUILDINGS, bbox=lonlat, limit=7)
    assert page["numberReturned"] == len(page["features"]) == 7
    # the server's count is the catalog's count for the same box (corners reprojected)
    n1, e1 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4549").transform(lonlat[0], lonlat[1])
    n2, e2 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4549").transform(lonlat[2], lonlat[3])
    assert page["numberMatched"] == store.count("buildings", bbox=[e1, n1, e2, n2])
    q = shapely.box(*lonlat)
    for f in page["features"]:
        assert shapely.intersects(shapely.geometry.shape(f["geometry"]), q.buffer(1e-6))


def test_owslib_follows_next_links_to_numbermatched(server, store):
    from owslib.ogcapi.features import Features

    api = Features(server)
    n = store.count("charging_stations")
    limit = max(1, n // 4 + 1)
    params: dict = {"limit": limit}
    seen: list[str] = []
    pages = 0
    while True:
        page = api.collection_items(STATIONS, **params)
        assert page["numberMatched"] == n
        seen += [f["id"] for f in page["features"]]
        pages += 1
        nxt = [ln["href"] for ln in page["links"] if ln["rel"] == "next"]
        if not nxt:
            break
        params = {k: v for k, v in parse_qsl(urlsplit(nxt[0]).query) if k != "f"}
        assert pages < 50
    assert len(seen) == len(set(seen)) == n
    assert set(seen) == set(store.select("charging_stations", ["station_id"])["station_id"])


#: OGC parameters that stand in a path template (Features, Tiles).
_PATH_PARAMETERS = {"featureId", "tileMatrixSetId", "tileMatrix", "tileRow", "tileCol"}


def _offline(node, parent=None):
    """The document with each reference to schemas.opengis.net replaced by a stand-in of its kind.

    pygeoapi's document refers to the OGC's published YAML (responses, parameters, schemas);
    this machine cannot fetch them, so what is validated is everything pygeoapi generated for
    this twin, with the OGC's parts taken as given.
    """
    if isinstance(node, list):
        return [_offline(v, parent) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("http"):
        name = ref.rsplit("/", 1)[-1].replace(".yaml", "")
        if parent == "parameters":
            where = "path" if name in _PATH_PARAMETERS else "query"
            return {"name": name, "in": where, "required": where == "path", "schema": {}, "description": ref}
        if parent in ("schema", "items"):
            return {"description": ref}
        return {"description": ref}  # a response
    return {k: _offline(v, k) for k, v in node.items()}


def test_the_openapi_document_validates(server):
    import requests
    from openapi_spec_validator import validate
    from owslib.ogcapi.features import Features

    doc = requests.get(server + "/openapi?f=json", timeout=60).json()
    validate(_offline(doc))
    assert f"/collections/{BUILDINGS}/items" in doc["paths"]
    assert "/processes/pv-screen/execution" in doc["paths"]
    assert Features(server).conformance()["conformsTo"]


def test_health_and_access_log(server, service_home):
    import requests

    r = requests.get(server + "/health", timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "ok", "cities": {CITY: "ok"}}
    assert "GET /health" in (service_home / "server.log").read_text()


# --- CRS (OGC API - Features Part 2) --------------------------------------------------------
def test_crs_output_in_each_crs_axis_order(client, store):
    one = store.select_wkb("buildings", ["building_id"], order_by=["building_id"], limit=1)
    fid = one["building_id"][0]
    x, y = shapely.get_coordinates(shapely.from_wkb(one["wkb"][0]))[0]  # easting, northing
    lon, lat = TO_LONLAT.transform(x, y)
    base = f"/collections/{BUILDINGS}/items/{fid}?f=json"
    c84 = _get(client, base)["geometry"]["coordinates"][0][0]
    assert c84 == pytest.approx([lon, lat], abs=1e-9)
    gk = _get(client, base + f"&crs={EPSG4549}")["geometry"]["coordinates"][0][0]
    assert gk == pytest.approx([y, x], abs=1e-6)  # EPSG:4549: northing first
    cg = _get(client, base + f"&crs={EPSG4490}")["geometry"]["coordinates"][0][0]
    assert cg == pytest.approx([lat, lon], abs=1e-7)  # EPSG:4490: latitude first
    r = client.get(f"/collections/{BUILDINGS}/items?f=json&limit=1&crs={EPSG4490}")
    assert r.headers["Content-Crs"] == f"<{EPSG4490}>"


def test_bbox_crs_gives_the_same_features_in_any_crs(client, store):
    lonlat, box = _box_lonlat(store, 0.2)
    ids84 = {f["id"] for f in _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=1000&bbox="
                                   + ",".join(map(str, lonlat)))["features"]}
    n1, e1 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4549").transform(lonlat[0], lonlat[1])
    n2, e2 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4549").transform(lonlat[2], lonlat[3])
    ids_gk = {f["id"] for f in _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=1000"
                                    f"&bbox={n1},{e1},{n2},{e2}&bbox-crs={EPSG4549}")["features"]}
    assert ids84 and ids84 == ids_gk


# --- filters ---------------------------------------------------------------------------------
def test_property_filters_and_cql2_match_the_catalog(client, store):
    h = float(store.select("buildings", ["height_m"])["height_m"].median())
    want = store.count("buildings", where={"height_m": Between(low=h + 1e-9)})
    got = _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=1&filter=height_m%20%3E%20{h}")
    assert got["numberMatched"] == want > 0
    use = store.distinct("buildings", "use_class")[0]
    got = _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=5&use_class={use}")
    assert got["numberMatched"] == store.count("buildings", where={"use_class": use})
    assert {f["properties"]["use_class"] for f in got["features"]} == {use}
    # CQL2 only (not ECQL): CASEI, filter-lang=cql2-text, S_INTERSECTS with BBOX in filter-crs
    got = _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=1&filter-lang=cql2-text"
               f"&filter=CASEI(use_class)%20%3D%20%27{use.upper()}%27")
    assert got["numberMatched"] == store.count("buildings", where={"use_class": use})
    lonlat, _ = _box_lonlat(store, 0.2)
    by_box = _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=1&bbox=" + ",".join(map(str, lonlat)))
    by_cql = _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=1&filter=S_INTERSECTS(geometry,"
                  f"BBOX({','.join(map(str, lonlat))}))")
    assert by_cql["numberMatched"] == by_box["numberMatched"] > 0


def test_a_filter_cannot_inject_sql(client, store):
    n = store.count("buildings")
    evil = "name = 'x\" OR 1=1; DROP TABLE buildings; --'"
    got = _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=1&filter={quote(evil)}")
    assert got["numberMatched"] == 0
    _get(client, f"/collections/{BUILDINGS}/items?f=json&filter=%22name%3B%20DROP%22%20%3D%201", 400)
    assert store.count("buildings") == n > 0


# --- bad requests: 4xx JSON, never a 500 ------------------------------------------------------
BAD = [
    ("bbox has 3 numbers", f"/collections/{BUILDINGS}/items?bbox=1,2,3"),
    ("bbox not numbers", f"/collections/{BUILDINGS}/items?bbox=a,b,c,d"),
    ("bbox-crs unsupported", f"/collections/{BUILDINGS}/items?bbox=1,2,3,4&bbox-crs=EPSG:3857"),
    ("crs unsupported", f"/collections/{BUILDINGS}/items?crs=http://www.opengis.net/def/crs/EPSG/0/3857"),
    ("unknown collection", "/collections/nowhere-nothing/items"),
    ("unknown item", f"/collections/{BUILDINGS}/items/no-such-building"),
    ("malformed filter", f"/collections/{BUILDINGS}/items?filter=height_m%20%3E"),
    ("filter names unknown property", f"/collections/{BUILDINGS}/items?filter=nope%20%3D%201"),
    ("filter function", f"/collections/{BUILDINGS}/items?filter=upper(name)%20%3D%20%27A%27"),
    ("filter-lang unsupported", f"/collections/{BUILDINGS}/items?filter=height_m>1&filter-lang=cql2-json"),
    ("limit too big", f"/collections/{BUILDINGS}/items?limit=100000"),
    ("limit zero", f"/collections/{BUILDINGS}/items?limit=0"),
    ("limit not a number", f"/collections/{BUILDINGS}/items?limit=ten"),
    ("offset negative", f"/collections/{BUILDINGS}/items?offset=-1"),
    ("unknown property parameter", f"/collections/{BUILDINGS}/items?nope=1"),
    ("property of the wrong type", f"/collections/{BUILDINGS}/items?height_m=tall"),
    ("sortby unknown property", f"/collections/{BUILDINGS}/items?sortby=nope"),
    ("properties unknown", f"/collections/{BUILDINGS}/items?properties=nope"),
]


@pytest.mark.parametrize("why,url", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_a_4xx_json_error(client, why, url):
    r = client.get(url + ("&" if "?" in url else "?") + "f=json")
    assert 400 <= r.status_code < 500, (why, r.status_code, r.get_data(as_text=True)[:300])
    body = json.loads(r.get_data(as_text=True))
    assert body.get("description")


# --- paging invariant ----------------------------------------------------------------------------
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 40), start=st.integers(0, 30), sort=st.sampled_from(["", "-piles", "power_kw"]))
def test_pages_concatenate_to_the_whole_set(client, store, limit, start, sort):
    n = store.count("charging_stations")
    ids: list[str] = []
    offset = start
    while offset < n:
        url = f"/collections/{STATIONS}/items?f=json&limit={limit}&offset={offset}"
        page = _get(client, url + (f"&sortby={sort}" if sort else ""))
        assert page["numberMatched"] == n
        assert page["numberReturned"] == len(page["features"]) == min(limit, n - offset)
        ids += [f["id"] for f in page["features"]]
        offset += limit
    assert len(ids) == len(set(ids)) == max(0, n - start)
    if start == 0:
        assert set(ids) == set(store.select("charging_stations", ["station_id"])["station_id"])


def test_the_server_serves_the_exported_vector_tiles(server, store):
    """`twin export tiles` archives are served as OGC API - Tiles; a tile over a building holds it."""
    import math
    import urllib.error
    import urllib.request

    import mapbox_vector_tile

    with urllib.request.urlopen(f"{server}/collections/{CITY}-buildings/tiles?f=json", timeout=60) as r:
        sets = json.load(r)
    assert any("WebMercatorQuad" in json.dumps(t) for t in sets["tilesets"])
    b = store.read_layer("buildings").to_crs(4326).iloc[0]
    lon, lat = b.geometry.representative_point().coords[0]
    z = 15
    x = int((lon + 180.0) / 360.0 * 2**z)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * 2**z)
    url = f"{server}/collections/{CITY}-buildings/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.status == 200
        tile = mapbox_vector_tile.decode(r.read())
    found = {f["properties"]["building_id"] for layer in tile.values() for f in layer["features"]}
    assert str(b["building_id"]) in found
    with pytest.raises(urllib.error.HTTPError) as e:  # a tile of the open sea: none
        urllib.request.urlopen(f"{server}/collections/{CITY}-buildings/tiles/WebMercatorQuad/15/0/0?f=mvt",
                               timeout=60)
    assert e.value.code == 404


@pytest.mark.parametrize("sort", ["", "-height_m", "floors"])
def test_pages_of_a_bbox_are_the_catalog_query_in_order(client, store, sort):
    """numberMatched and each page (row ids kept per query) equal one ordered catalog query."""
    _, box = _box_lonlat(store, 0.5)
    keys = ([sort] if sort else []) + ["building_id"]
    want = store.select_wkb("buildings", ["building_id"], bbox=box, order_by=keys)["building_id"].tolist()
    assert len(want) > 25
    bbox = f"{box[1]},{box[0]},{box[3]},{box[2]}&bbox-crs={EPSG4549}"  # northing first
    got: list[str] = []
    for offset in range(0, len(want) + 10, 10):
        page = _get(client, f"/collections/{BUILDINGS}/items?f=json&limit=10&offset={offset}&bbox={bbox}"
                    + (f"&sortby={sort}" if sort else ""))
        assert page["numberMatched"] == len(want)
        got += [f["id"] for f in page["features"]]
    assert got == want  # ties of a sort key are broken by the id, in both
