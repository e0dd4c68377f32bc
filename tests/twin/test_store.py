"""The catalog: spatial SQL offline, atomic commits, no user text in SQL or paths."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from layers.conform import conform_layer
from tests.conftest import REPO, make_buildings
from twin.errors import CatalogError, SchemaError
from twin.store import TwinStore, connect_spatial


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
    import pandas as pd

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
