"""`twin import pv_installations` on a built twin: stored as a catalog table, all or nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from shell.cli import main
from twin.store import TwinStore


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def _ledger(path, rows):
    pd.DataFrame(rows, columns=["项目编号", "项目名称", "区县", "类型", "装机容量(MW)", "并网日期"]).to_csv(
        path, index=False, encoding="utf-8-sig")
    return path


def test_import_replaces_the_demo_ledger_and_a_bad_one_leaves_it(twin_copy, tmp_path, capsys):
    store = TwinStore("hangzhou", twin_copy)
    demo = store.table("pv_installations")
    assert demo["is_synthetic"].all() and len(demo) > 100  # the demo ships a synthetic ledger
    good = _ledger(tmp_path / "good.csv", [["P1", "屋顶", "萧山区", "屋顶", "3.2", "2022-05-01"],
                                           ["P2", "水面", "Jiande", "水面", "18", "2024-10-01"]])
    code, out = _run(capsys, "--home", str(twin_copy), "import", "pv_installations", str(good),
                     "--city", "hangzhou")
    assert code == 0, out
    assert "2/2 rows kept" in out
    got = store.table("pv_installations")
    assert got["project_id"].tolist() == ["P1", "P2"] and not got["is_synthetic"].any()
    bad = _ledger(tmp_path / "bad.csv", [["P1", "x", "萧山区", "屋顶", "1", "2022-05-01"],
                                         ["P3", "x", "萧山区", "屋顶", "-1", "2022-05-01"]])
    code, out = _run(capsys, "--home", str(twin_copy), "import", "pv_installations", str(bad),
                     "--city", "hangzhou")
    assert code != 0
    assert "negative capacity" in out and "rows 3" in out
    assert store.table("pv_installations")["project_id"].tolist() == ["P1", "P2"]  # untouched


@pytest.mark.parametrize("ledger", ["pv_installations", "charging_installations"])
def test_unknown_layer_message_lists_the_ledgers(twin_copy, tmp_path, ledger, capsys):
    code, out = _run(capsys, "--home", str(twin_copy), "import", "nope", str(tmp_path / "x.csv"),
                     "--city", "hangzhou")
    assert code != 0 and ledger in out
