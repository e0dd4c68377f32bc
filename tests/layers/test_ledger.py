"""Installation ledgers: good ledgers in Chinese and English, CSV and .xlsx; bad ones refused by row."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from layers.io.sheets import read_sheet
from layers.ledger import conform_ledger
from twin.errors import SchemaError
from twin.schema import LEDGERS

DISTRICTS = pd.DataFrame({"adcode": ["330109", "330112", "330182"],
                          "name_zh": ["萧山区", "临安区", "建德市"],
                          "name_en": ["Xiaoshan", "Lin'an", "Jiande"]})
TODAY = dt.date(2026, 6, 30)
ZH = ["项目编号", "项目名称", "区县", "类型", "装机容量(MW)", "并网日期"]
GOOD_ZH = [["HZ-1", "厂房屋顶", "萧山区", "屋顶", "12.5", "2021-06-30"],
           ["HZ-2", "渔光互补", "临安", "渔光互补", "40", "2022/12/31"],
           ["HZ-3", "风场", "330182", "风电", "20", "2023年5月1日"]]


def _csv(tmp_path, header, rows, name="ledger.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=header).to_csv(path, index=False, encoding=encoding)
    return path


def _conform(path, ledger="pv_installations"):
    return conform_ledger(read_sheet(path), ledger, DISTRICTS, file=str(path), today=TODAY)


def test_chinese_csv_ledger_is_read_to_schema(tmp_path):
    out = _conform(_csv(tmp_path, ZH, GOOD_ZH))
    assert list(out.columns) == list(LEDGERS["pv_installations"][1])
    assert out["district_adcode"].tolist() == ["330109", "330112", "330182"]
    assert out["install_kind"].tolist() == ["rooftop", "water", "wind"]
    assert out["capacity_mw"].tolist() == [12.5, 40.0, 20.0]
    assert out["in_service_date"].tolist() == ["2021-06-30", "2022-12-31", "2023-05-01"]
    assert out["in_service_year"].tolist() == [2021, 2022, 2023]
    assert not out["is_synthetic"].any()
    assert out["source"].str.startswith("imported from").all()


def test_gb18030_csv_as_chinese_excel_saves_it(tmp_path):
    out = _conform(_csv(tmp_path, ZH, GOOD_ZH, encoding="gb18030"))
    assert out["name"].tolist()[0] == "厂房屋顶"


def test_english_xlsx_with_a_unit_column_in_kw(tmp_path):
    path = tmp_path / "ledger.xlsx"
    pd.DataFrame({"Project ID": ["A1", "A2"], "Name": ["roof", "pond"], "District": ["Xiaoshan", "Jiande"],
                  "Type": ["rooftop", "storage"], "Capacity": [500, 2.5], "Unit": ["kW", "MW"],
                  "Grid connection date": [dt.datetime(2024, 3, 1), dt.datetime(2025, 1, 2)],
                  "Longitude": [120.26, 119.28], "Latitude": [30.18, 29.48]}).to_excel(path, index=False)
    out = _conform(path)
    assert out["capacity_mw"].tolist() == pytest.approx([0.5, 2.5])
    assert out["install_kind"].tolist() == ["rooftop", "storage"]
    assert out["in_service_year"].tolist() == [2024, 2025]
    assert out["lon_deg"].tolist() == pytest.approx([120.26, 119.28])


def test_capacity_in_wan_kw_from_the_header(tmp_path):
    header = [*ZH[:4], "装机容量（万千瓦）", ZH[5]]
    out = _conform(_csv(tmp_path, header, [["X", "n", "萧山区", "地面", "1.5", "2022-01-01"]]))
    assert out["capacity_mw"].tolist() == [15.0]


def test_charging_ledger(tmp_path):
    header = ["站点编号", "站点名称", "区县", "充电桩数", "总功率(kW)", "是否公用", "投运日期"]
    rows = [["C1", "站一", "萧山区", "10", "600", "是", "2022-03-01"],
            ["C2", "站二", "建德市", "4", "", "否", "2024-11-11"]]
    out = _conform(_csv(tmp_path, header, rows), "charging_installations")
    assert out["piles"].tolist() == [10, 4]
    assert out["is_public"].tolist() == [True, False]
    assert list(out.columns) == list(LEDGERS["charging_installations"][1])


@pytest.mark.parametrize("row,words", [
    (["B", "x", "余杭区", "屋顶", "1", "2022-01-01"], ["unknown district", "'余杭区'", "rows 4"]),
    (["B", "x", "萧山区", "屋顶", "-3", "2022-01-01"], ["negative capacity", "rows 4"]),
    (["B", "x", "萧山区", "屋顶", "1", "1998-05-01"], ["before 2000", "rows 4"]),
    (["B", "x", "萧山区", "屋顶", "1", "2027-01-01"], ["in the future", "rows 4"]),
    (["HZ-1", "x", "萧山区", "屋顶", "1", "2022-01-01"], ["duplicate project_id", "'HZ-1'", "rows 2, 5"]),
    (["B", "x", "萧山区", "核电", "1", "2022-01-01"], ["unknown kind", "'核电'", "rows 4"]),
    (["B", "x", "萧山区", "屋顶", "abc", "2022-01-01"], ["not a number", "rows 4"]),
    (["B", "x", "萧山区", "屋顶", "1", "someday"], ["unreadable date", "rows 4"]),
])
def test_bad_ledgers_are_refused_naming_the_rows(tmp_path, row, words):
    rows = [GOOD_ZH[0], GOOD_ZH[1], row] if row[0] != "HZ-1" else [*GOOD_ZH, row]
    with pytest.raises(SchemaError) as err:
        _conform(_csv(tmp_path, ZH, rows))
    for w in words:
        assert w in str(err.value), str(err.value)


def test_missing_column_and_missing_unit_are_explained(tmp_path):
    with pytest.raises(SchemaError, match="no column for date"):
        _conform(_csv(tmp_path, ZH[:5], [r[:5] for r in GOOD_ZH]))
    header = [*ZH[:4], "装机容量", ZH[5]]
    with pytest.raises(SchemaError, match="names no unit"):
        _conform(_csv(tmp_path, header, GOOD_ZH, name="b.csv"))


def test_unknown_suffix_and_empty_ledger(tmp_path):
    bad = tmp_path / "ledger.ods"
    bad.write_text("x")
    with pytest.raises(SchemaError, match=r"\.csv or \.xlsx"):
        read_sheet(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(ZH) + "\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="no rows"):
        read_sheet(empty)
