"""The catalog: spatial SQL offline, atomic commits, no user text in SQL or paths."""

import re
import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pandas as pd
import pytest

from layers.conform import conform_layer
from tests.conftest import REPO, make_buildings
from twin.errors import CatalogError, CatalogLockedError, SchemaError
from twin.store import Between, TwinStore, connect_spatial


@pytest.fixture
def store(tmp_path):
    s = TwinStore("testcity", tmp_path)
    b, _ = conform_layer(make_buildings(5), "buildings")
    s.commit({"buildings": b}, meta={"note": "first"})
    return s


def test_spatial_sql_offline(store):
    with store.connect() as con:
        total = con.execute("SELECT sum(ST_Area(geom)) FROM buildings").fetchone()[0]
        types = con.execute("SELECT DISTINCT ST_GeometryType(geom)::VARCHAR FROM buildings").fetchall()
    assert total == pytest.approx(5 * 200.0)
    assert types == [("POLYGON",)]


def test_layers_table_and_meta(store):
    lay = store.layers()
    assert lay["name"].tolist() == ["buildings"]
    assert lay.loc[0, "n_rows"] == 5 and lay.loc[0, "n_synthetic"] == 0
    assert lay.loc[0, "crs"] == "EPSG:4549"
    assert store.meta()["note"] == "first"
    back = store.read_layer("buildings")
    assert back["building_id"].tolist() == [f"b{i}" for i in range(5)]


def test_replace_keeps_one_file_per_layer(store):
    b, _ = conform_layer(make_buildings(3), "buildings")
    store.commit({"buildings": b})
    assert len(list((store.root / "layers").glob("buildings-*.parquet"))) == 1
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM buildings").fetchone()[0] == 3


def test_failed_commit_leaves_previous_state(store, monkeypatch):
    before = store.read_layer("buildings")
    files_before = sorted(p.name for p in (store.root / "layers").iterdir())
    b, _ = conform_layer(make_buildings(2), "buildings")
    original = TwinStore._switch

    def failing(self, staged, *a, **k):
        # break after staging: the parquet is written and the table replaced inside the
        # transaction, then registering it fails; everything must roll back
        path, _info, kind = staged["buildings"]

        class Broken:
            def crs_string(self):
                msg = "no CRS"
                raise AttributeError(msg)

        staged["buildings"] = (path, Broken(), kind)
        return original(self, staged, *a, **k)

    monkeypatch.setattr(TwinStore, "_switch", failing)
    with pytest.raises(AttributeError):
        store.commit({"buildings": b}, meta={"note": "second"})
    monkeypatch.undo()
    assert store.read_layer("buildings").equals(before)
    assert store.meta()["note"] == "first"
    assert sorted(p.name for p in (store.root / "layers").iterdir()) == files_before


def test_killed_commit_leaves_previous_state(store):
    """SIGKILL inside the transaction: the catalog and its files stay whole."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.conftest import make_buildings
        from layers.conform import conform_layer
        from twin.store import TwinStore
        import twin.store as ts
        real = ts.connect_spatial
        def killing(*a, **k):
            con = real(*a, **k)
            class Wrapped:
                def __enter__(self): return self
                def __exit__(self, *e): con.close()
                def execute(self, sql, *p):
                    out = con.execute(sql, *p)
                    if sql.startswith("INSERT INTO _layers"):
                        os.kill(os.getpid(), signal.SIGKILL)
                    return out
                def __getattr__(self, n): return getattr(con, n)
            return Wrapped()
        ts.connect_spatial = killing
        b, _ = conform_layer(make_buildings(9), "buildings")
        TwinStore("testcity", {str(store.home)!r}).commit({{"buildings": b}})
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM buildings").fetchone()[0] == 5
    assert len(store.read_layer("buildings")) == 5
    # the orphaned file of the killed write is swept by the next write
    assert len(list((store.root / "layers").glob("*.parquet"))) == 2
    store.commit(meta={"x": 1})
    assert len(list((store.root / "layers").glob("*.parquet"))) == 1


def test_missing_twin_says_how_to_build(tmp_path):
    s = TwinStore("hangzhou", tmp_path)
    assert not s.exists()
    with pytest.raises(CatalogError, match="twin demo --city hangzhou"):
        s.layers()


@pytest.mark.parametrize("bad", ["../etc", "Hangzhou", "a b", "x;drop table", ""])
def test_city_id_is_never_a_path_or_sql(tmp_path, bad):
    with pytest.raises(CatalogError, match="not a valid name"):
        TwinStore(bad, tmp_path)


def test_table_names_are_checked(store):
    with pytest.raises(CatalogError, match="not a valid name"):
        store.table('targets"; DROP TABLE buildings; --')
    with pytest.raises(SchemaError, match="unknown layer"):
        store.commit({"bridges": make_buildings(1)})


def test_plain_tables_round_trip(store):
    df = pd.DataFrame({"id": ["a", "b"], "value": [1.0, np.nan]})
    store.commit(tables={"targets": df})
    back = store.table("targets")
    assert back["id"].tolist() == ["a", "b"]


def test_connect_spatial_in_memory():
    con = connect_spatial()
    assert con.execute("SELECT ST_Area(ST_GeomFromText('POLYGON((0 0,2 0,2 2,0 2,0 0))'))").fetchone()[0] == 4


def test_results_are_stored_beside_layers(store):
    b = store.read_layer("buildings")
    res = b[["building_id", "geometry"]].assign(pv_capacity_kwp=1.5, is_synthetic=False)
    store.commit(results={"pv_buildings": res})
    lay = store.layers().set_index("name")
    assert lay.loc["pv_buildings", "kind"] == "result" and lay.loc["buildings", "kind"] == "vector"
    with store.connect() as con:
        assert con.execute("SELECT sum(pv_capacity_kwp) FROM pv_buildings").fetchone()[0] == 7.5
    with pytest.raises(CatalogError, match="clashes"):
        store.commit(results={"buildings": res})
    with pytest.raises(CatalogError, match="GeoDataFrame with a CRS"):
        store.commit(results={"pv_table": res.drop(columns="geometry")})


def test_results_from_a_written_file(store, tmp_path):
    b = store.read_layer("buildings")
    res = b[["building_id", "geometry"]].assign(pv_capacity_kwp=2.0, is_synthetic=True, source="x")
    path = tmp_path / "pv.parquet"
    res.to_parquet(path)
    store.commit(results={"pv_buildings": path})
    lay = store.layers().set_index("name").loc["pv_buildings"]
    assert lay["n_rows"] == 5 and lay["n_synthetic"] == 5 and lay["crs"] == "EPSG:4549"
    assert lay["source"] == "x"
    assert store.read_layer("pv_buildings")["pv_capacity_kwp"].sum() == 10.0


# -- the query API: names checked against the catalog, values bound, DuckDB errors as CatalogError ------
_IDS = ["b0", "o'brien", 'say "hi"', "x' OR '1'='1", "b4"]


@pytest.fixture
def qstore(tmp_path):
    s = TwinStore("testcity", tmp_path)
    uses = ["residential", "office", "office", "commercial", "office"]
    b, _ = conform_layer(make_buildings(5, building_id=_IDS, use_class=uses), "buildings")
    s.commit({"buildings": b}, tables={"targets": pd.DataFrame({"id": ["a", "b"], "value": [1.0, 2.0]})})
    return s


def test_select_filters_are_parameters(qstore):
    got = qstore.select("buildings", ["building_id", "height_m"], where={"building_id": "o'brien"})
    assert got["building_id"].tolist() == ["o'brien"] and got["height_m"].tolist() == [11.0]
    got = qstore.select("buildings", ["building_id"], where={"building_id": 'say "hi"'})
    assert got["building_id"].tolist() == ['say "hi"']
    # an injection attempt is only a value: it matches the row of that exact id, nothing more
    got = qstore.select("buildings", ["building_id"], where={"building_id": "x' OR '1'='1"})
    assert got["building_id"].tolist() == ["x' OR '1'='1"]
    assert qstore.count("buildings", where={"building_id": "nobody' OR 1=1 --"}) == 0
    assert qstore.count("buildings") == 5  # nothing was dropped or changed


def test_select_in_range_order_limit(qstore):
    got = qstore.select("buildings", ["building_id"], where={"use_class": ("office", "commercial")},
                        order_by=("-height_m",))
    assert got["building_id"].tolist() == ["b4", "x' OR '1'='1", 'say "hi"', "o'brien"]
    got = qstore.select("buildings", ["building_id", "height_m"],
                        where={"height_m": Between(11.0, 13.0), "use_class": ["office"]},
                        order_by=("building_id",))
    assert got["height_m"].tolist() == [11.0, 12.0]
    assert qstore.count("buildings", where={"height_m": Between(low=np.float64(13.0))}) == 2
    assert qstore.count("buildings", where={"use_class": []}) == 0
    assert qstore.count("buildings", where={"use_class": None}) == 0
    page = qstore.select("buildings", ["building_id"], order_by=("height_m",), limit=2, offset=1)
    assert page["building_id"].tolist() == ["o'brien", 'say "hi"']
    assert "geom" not in qstore.select("buildings").columns
    assert qstore.select("targets")["id"].tolist() == ["a", "b"]


def test_aggregates_distinct_and_columns(qstore):
    agg = qstore.aggregate("buildings", {"n": ("count", None), "h": ("sum", "height_m"),
                                         "syn": ("count_true", "is_synthetic")}, by=("use_class",))
    assert agg["use_class"].tolist() == ["commercial", "office", "residential"]
    assert agg["n"].tolist() == [1, 3, 1] and agg["h"].tolist() == [13.0, 11.0 + 12 + 14, 10.0]
    top = qstore.aggregate("buildings", {"hmax": ("max", "height_m")}, where={"use_class": "office"})
    assert top["hmax"].tolist() == [14.0]
    assert qstore.distinct("buildings", "use_class") == ["commercial", "office", "residential"]
    assert qstore.columns("buildings")[0] == "building_id" and "geom" in qstore.columns("buildings")
    assert {"buildings", "targets", "_layers"} <= set(qstore.tables())
    with pytest.raises(CatalogError, match="unknown function 'median'"):
        qstore.aggregate("buildings", {"m": ("median", "height_m")})
    with pytest.raises(CatalogError, match="not a valid, unused name"):
        qstore.aggregate("buildings", {"n; DROP TABLE buildings": ("count", None)})


def test_geometries_as_wkb(qstore):
    import shapely

    from tests.conftest import X0, Y0

    got = qstore.select_wkb("buildings", ["building_id"], where={"building_id": "o'brien"})
    assert shapely.from_wkb(got["wkb"].iloc[0]).area == pytest.approx(200.0)
    # the first two footprints (x0 .. x0 + 50) intersect this box, the rest lie east of it
    box = (X0 - 1, Y0 - 1, X0 + 45, Y0 + 11)
    got = qstore.select_wkb("buildings", ["building_id"], bbox=box, simplify_m=1.0, order_by=("building_id",))
    assert got["building_id"].tolist() == ["b0", "o'brien"]
    assert qstore.count("buildings", bbox=box) == 2
    lines = shapely.from_wkb(qstore.merged_lines_wkb("buildings", boundaries=True, simplify_m=1.0))
    assert lines.length == pytest.approx(5 * 60.0)
    assert shapely.from_wkb(qstore.merged_lines_wkb("buildings", where={"use_class": []})).is_empty
    with pytest.raises(CatalogError, match="no column 'geom'"):
        qstore.select_wkb("targets", ["id"])
    with pytest.raises(CatalogError, match="is a geometry"):
        qstore.select("buildings", ["geom"])


@pytest.mark.parametrize("bad", ["nope", "name; DROP TABLE buildings", 'buildings"; DROP TABLE buildings; --',
                                 "_layers", "Buildings"])
def test_unknown_or_sql_table_names_are_refused(qstore, bad):
    qstore.hold()  # the names are checked the same way on a held connection (and faster)
    for call in (lambda: qstore.select(bad), lambda: qstore.count(bad), lambda: qstore.columns(bad),
                 lambda: qstore.select_wkb(bad), lambda: qstore.distinct(bad, "x"),
                 lambda: qstore.aggregate(bad, {"n": ("count", None)})):
        with pytest.raises(CatalogError, match=re.escape(repr(bad))):
            call()
    assert qstore.count("buildings") == 5


@pytest.mark.parametrize("bad", ["nope", "height_m; DROP TABLE buildings", 'height_m" FROM buildings; --'])
def test_unknown_or_sql_column_names_are_refused(qstore, bad):
    qstore.hold()
    msg = re.escape(repr(bad))
    with pytest.raises(CatalogError, match=f"no column {msg}"):
        qstore.select("buildings", [bad])
    with pytest.raises(CatalogError, match=f"no column {msg}"):
        qstore.select("buildings", where={bad: 1})
    with pytest.raises(CatalogError, match=f"no column {msg}"):
        qstore.select("buildings", order_by=(f"-{bad}",))
    with pytest.raises(CatalogError, match=f"no column {msg}"):
        qstore.aggregate("buildings", {"n": ("sum", bad)}, by=())
    with pytest.raises(CatalogError, match=f"no column {msg}"):
        qstore.distinct("buildings", bad)
    assert qstore.count("buildings") == 5


def test_bad_filters_and_limits_are_refused(qstore):
    with pytest.raises(CatalogError, match="is not a filter"):
        qstore.select("buildings", where={"height_m": {"a": 1}})
    with pytest.raises(CatalogError, match="whole number"):
        qstore.select("buildings", limit=-1)
    with pytest.raises(CatalogError, match="whole number"):
        qstore.select("buildings", limit="1; DROP TABLE buildings")


def test_duckdb_errors_surface_as_catalog_errors(qstore):
    want = r"catalog\.duckdb.*failed.*twin demo --city testcity"
    with pytest.raises(CatalogError, match=want), qstore._cursor("a query") as cur:
        cur.execute("SELECT no_such_column FROM buildings")  # _cursor translates DuckDB errors
    with pytest.raises(CatalogError, match="has no table 'nope'"):
        qstore.table("nope")


def test_a_corrupted_catalog_is_a_catalog_error(qstore):
    qstore.catalog_path.write_bytes(b"this is not a duckdb file" * 100)
    for call in (qstore.exists, qstore.layers, qstore.tables, lambda: qstore.select("buildings"),
                 qstore.hold, lambda: qstore.commit(meta={"x": 1})):
        with pytest.raises(CatalogError, match="not a readable DuckDB catalog") as err:
            call()
        assert str(qstore.catalog_path) in str(err.value) and "twin demo --city testcity" in str(err.value)
        assert not isinstance(err.value, CatalogLockedError)


def test_a_failed_write_is_a_catalog_error_and_changes_nothing(qstore, monkeypatch):
    files = sorted(p.name for p in (qstore.root / "layers").iterdir())

    def broken_init(con):
        con.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(TwinStore, "_init", staticmethod(broken_init))
    b, _ = conform_layer(make_buildings(2), "buildings")
    with pytest.raises(CatalogError, match="writing the twin of 'testcity'.*Nothing was changed"):
        qstore.commit({"buildings": b})
    monkeypatch.undo()
    assert qstore.count("buildings") == 5
    assert sorted(p.name for p in (qstore.root / "layers").iterdir()) == files


def test_held_connection_serves_reads_until_closed(qstore):
    with qstore.hold() as held:
        assert held is qstore and held._held is not None
        assert held.count("buildings") == 5 and held.exists()
        assert held.select("buildings", ["building_id"], where={"building_id": "b4"}).shape == (1, 1)
        with pytest.raises(CatalogLockedError, match="locked/busy.*this process"):
            held.commit(meta={"x": 1})  # a writer cannot open what this process holds read-only
    assert qstore._held is None
    qstore.commit(meta={"x": 1})
    assert qstore.meta()["x"] == 1


def test_a_catalog_locked_by_a_writer_reads_as_busy(qstore, monkeypatch):
    """Another process writing the catalog: busy, try again -- never "no twin, run twin demo"."""
    monkeypatch.setenv("TWIN_LOCK_TIMEOUT_S", "0.3")  # readers and writers wait this long, then say busy
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from twin.store import TwinStore
        con = TwinStore("testcity", {str(qstore.home)!r}).connect(read_only=False)
        con.execute("BEGIN TRANSACTION")
        print("writing", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        for call in (qstore.exists, qstore.require, qstore.layers, qstore.meta, qstore.tables,
                     lambda: qstore.select("buildings"), qstore.hold, lambda: qstore.commit(meta={"x": 2})):
            with pytest.raises(CatalogLockedError, match="locked/busy") as err:
                call()
            text = str(err.value)
            assert "try again" in text and str(qstore.catalog_path) in text
            assert "twin demo" not in text and "no built twin" not in text
    finally:
        proc.kill()
        proc.wait()
    assert qstore.exists() and qstore.count("buildings") == 5  # free again once the writer is gone


def test_a_missing_or_empty_catalog_is_not_busy(tmp_path):
    """A missing catalog is "not built", an empty one is not built either; neither is "busy"."""
    s = TwinStore("emptycity", tmp_path)
    with pytest.raises(CatalogError, match="no built twin") as err:
        s.select("buildings")
    assert not isinstance(err.value, CatalogLockedError)
    s.root.mkdir()
    duckdb.connect(str(s.catalog_path)).close()  # a catalog file with no registry yet
    assert not s.exists()


def test_a_reader_makes_a_writer_wait_not_fail(qstore):
    """A reader in another process (`twin info`, the map app) holds the catalog: the commit waits."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from twin.store import TwinStore
        con = TwinStore("testcity", {str(qstore.home)!r}).connect(read_only=True)
        print("reading", flush=True)
        time.sleep(2)
        open({str(qstore.home / "closing")!r}, "w").close()
        con.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "reading"
        qstore.commit(meta={"after_reader": 1})  # waits for the reader instead of failing at once
        assert (qstore.home / "closing").exists()  # it could only write once the reader let go
    finally:
        proc.kill()
        proc.wait()
    assert qstore.meta()["after_reader"] == 1


def test_rowids_count_and_read_the_rows_of_a_filter(qstore):
    """One scan gives the matching rows; select_wkb(rowids=) reads them in the order asked."""
    from tests.conftest import X0, Y0

    box = (X0 - 1, Y0 - 1, X0 + 45, Y0 + 11)
    for hold in (False, True):
        if hold:
            qstore.hold()
        ids = qstore.rowids("buildings", bbox=box)
        assert len(ids) == qstore.count("buildings", bbox=box) == 2
        ordered = qstore.rowids("buildings", order_by=("-building_id",))
        assert len(ordered) == qstore.count("buildings")
        want = qstore.select("buildings", ["building_id"], order_by=("-building_id",))["building_id"].tolist()
        got = qstore.select_wkb("buildings", ["building_id"], rowids=ordered[::-1])
        assert got["building_id"].tolist() == want[::-1]  # the order of the ids given, not storage order
        assert qstore.select_wkb("buildings", ["building_id"], rowids=ordered[1:3])["building_id"].tolist() \
            == want[1:3]
        # the other filters still apply; no ids, no rows
        offices = set(qstore.select("buildings", ["building_id"],
                                    where={"use_class": "office"})["building_id"])
        got = qstore.select_wkb("buildings", ["building_id"], rowids=ordered, where={"use_class": "office"})
        assert got["building_id"].tolist() == [b for b in want if b in offices] and len(offices) == 3
        assert qstore.select_wkb("buildings", ["building_id"], rowids=[]).empty
    qstore.close()


def test_a_query_past_its_time_limit_is_stopped(qstore):
    """The shared watchdog interrupts a long statement; a finished one is never interrupted later."""
    from twin.errors import QueryTimeoutError

    qstore.hold()
    for _ in range(50):  # short queries with a short limit: none is interrupted after the fact
        assert qstore.count("buildings", timeout_s=0.05) == 5
    with (qstore._cursor("a long query") as cur, pytest.raises(QueryTimeoutError, match="longer than"),
          qstore._time_limit(cur, 0.2, "a long query")):
        cur.execute("SELECT count(*) FROM range(100000000000) a").fetchall()
    assert qstore.count("buildings", timeout_s=1.0) == 5
    qstore.close()
