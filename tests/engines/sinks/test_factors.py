"""Factor tables: the shipped ones load; broken ones fail with clear messages."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from engines.sinks.factors import DEFAULT_FACTOR_DIR, POOLS, read_factors
from twin.errors import ConfigError
from twin.schema import LANDCOVER_CLASSES


@pytest.fixture
def factor_dir(tmp_path):
    for f in DEFAULT_FACTOR_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _edit(path, fn):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False)


def test_shipped_tables_cover_every_class_and_pool():
    f = read_factors()
    for b in ("low", "central", "high"):
        assert list(f.pools[b].index) == list(LANDCOVER_CLASSES)
        assert list(f.pools[b].columns) == list(POOLS)
        assert f.pools[b].notna().all().all()
    assert (f.pools["low"] <= f.pools["central"]).all().all()
    assert (f.pools["central"] <= f.pools["high"]).all().all()
    # every number carries a citation
    assert (f.citations["source"].str.strip() != "").all()
    assert (f.citations["table"].str.strip() != "").all()


def test_missing_class_row_is_named(factor_dir):
    _edit(factor_dir / "carbon_pools.csv",
          lambda d: d.loc[~((d.lc_class == "wetland") & (d.pool == "soil"))])
    with pytest.raises(ConfigError, match="wetland/soil"):
        read_factors(factor_dir)


def test_unknown_pool_and_unit(factor_dir):
    _edit(factor_dir / "carbon_pools.csv",
          lambda d: d.assign(pool=d.pool.where(d.index != 0, "roots")))
    with pytest.raises(ConfigError, match="pool 'roots'"):
        read_factors(factor_dir)


def test_wrong_unit(factor_dir):
    _edit(factor_dir / "forest_parameters.csv",
          lambda d: d.assign(unit=d.unit.where(d.index != 0, "kg_per_m3")))
    with pytest.raises(ConfigError, match="unit 'kg_per_m3'"):
        read_factors(factor_dir)


def test_missing_parameter(factor_dir):
    _edit(factor_dir / "forest_parameters.csv",
          lambda d: d.loc[~((d.lc_class == "mixed_forest") & (d.parameter == "bef"))])
    with pytest.raises(ConfigError, match="mixed_forest/bef"):
        read_factors(factor_dir)


def test_empty_citation_and_bad_order(factor_dir):
    def bad(d):
        d = d.copy()
        d.loc[0, "source"] = ""
        d.loc[1, "low"] = "999"
        return d
    _edit(factor_dir / "carbon_pools.csv", bad)
    with pytest.raises(ConfigError) as exc:
        read_factors(factor_dir)
    assert "empty source" in str(exc.value) and "low <= central <= high" in str(exc.value)


def test_missing_column_and_file(factor_dir):
    _edit(factor_dir / "growth_rates.csv", lambda d: d.drop(columns="high"))
    with pytest.raises(ConfigError, match=r"missing required column\(s\)"):
        read_factors(factor_dir)
    (factor_dir / "growth_rates.csv").unlink()
    with pytest.raises(ConfigError, match="not found"):
        read_factors(factor_dir)
