"""Tests for twin.config: the preset city configs, their targets and the validating loader."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import main_checkout, require_shared, shared_candidates
from twin.config import (
    AREAS,
    COMPARATORS,
    DATA_DIR,
    KINDS,
    SEEDS,
    STATUSES,
    TIERS,
    CityConfig,
    Target,
    available_cities,
    check_value_as_printed,
    convert_unit,
    load_city,
    parse_ref,
    printed_quantities,
)
from twin.errors import ConfigError, SourceError, TwinError
from twin.metrics import METRICS
from twin.schema import UNITS

WEATHER = "real/weather/CHN_Zhejiang.Hangzhou.584570_CSWD.epw"


@pytest.fixture(scope="module")
def hz() -> CityConfig:
    return load_city("hangzhou")


@pytest.fixture(scope="module")
def huz() -> CityConfig:
    return load_city("huzhou")


# --- presets -------------------------------------------------------------------------------------


def test_presets_are_listed():
    assert {"hangzhou", "huzhou"} <= set(available_cities())


@pytest.mark.parametrize(("name", "n_districts", "adcode"),
                         [("hangzhou", 13, "330100"), ("huzhou", 5, "330500")])
def test_presets_load(name, n_districts, adcode):
    cfg = load_city(name)
    assert cfg.id == name
    assert cfg.adcode == adcode
    assert len(cfg.districts) == n_districts
    assert cfg.metric_crs == "EPSG:4549"
    assert cfg.timezone == "Asia/Shanghai"
    assert cfg.weather_path.is_absolute()
    assert cfg.weather_path.is_file()
    assert cfg.weather_path == DATA_DIR / cfg.weather_file
    assert all(p.is_file() for p in cfg.weather_paths)
    assert cfg.weather_files[0] == cfg.weather_file
    assert cfg.path == DATA_DIR / "cities" / f"{name}.toml"


def test_load_by_path_equals_load_by_name():
    by_path = load_city(DATA_DIR / "cities" / "huzhou.toml")
    assert by_path == load_city("huzhou")
    assert load_city(str(DATA_DIR / "cities" / "huzhou.toml")) == by_path


def test_city_locations(hz, huz):
    # CSWD station 584570 for Hangzhou; Huzhou centre, Hangzhou weather as proxy
    assert (hz.latitude, hz.longitude, hz.altitude_m) == (30.23, 120.17, 41.7)
    assert (huz.latitude, huz.longitude) == (30.87, 120.09)
    assert huz.weather_path == hz.weather_path
    assert hz.full_scale_buildings == 2_000_000
    assert huz.full_scale_buildings == 700_000


HANGZHOU_DISTRICTS = {
    "330102": ("上城区", "dense_core", False), "330105": ("拱墅区", "dense_core", False),
    "330106": ("西湖区", "dense_core", False), "330108": ("滨江区", "dense_core", False),
    "330109": ("萧山区", "new_town", True), "330110": ("余杭区", "new_town", True),
    "330111": ("富阳区", "mountain_county", False), "330112": ("临安区", "mountain_county", False),
    "330113": ("临平区", "new_town", True), "330114": ("钱塘区", "new_town", True),
    "330122": ("桐庐县", "mountain_county", False), "330127": ("淳安县", "mountain_county", False),
    "330182": ("建德市", "mountain_county", False),
}
HUZHOU_DISTRICTS = {
    "330502": ("吴兴区", "new_town", False), "330503": ("南浔区", "plains_village", True),
    "330521": ("德清县", "plains_village", True), "330522": ("长兴县", "plains_village", False),
    "330523": ("安吉县", "mountain_county", False),
}


@pytest.mark.parametrize(("name", "expected"),
                         [("hangzhou", HANGZHOU_DISTRICTS), ("huzhou", HUZHOU_DISTRICTS)])
def test_districts(name, expected):
    cfg = load_city(name)
    got = {d.adcode: (d.name_zh, d.kind, d.aquaculture) for d in cfg.districts}
    assert got == expected
    for d in cfg.districts:
        assert d.is_urban == (d.kind in ("dense_core", "new_town"))
        assert cfg.district(d.adcode) is d


def test_district_lookup_error_lists_adcodes(hz):
    with pytest.raises(KeyError, match="330102"):
        hz.district("999999")


# --- targets -------------------------------------------------------------------------------------


def test_metrics_registry_names_carry_their_unit():
    for name, m in METRICS.items():
        assert m.name == name
        assert m.unit in UNITS
        assert name.endswith("_" + m.unit)
    assert METRICS["pv_per_capita_kw_per_person"].unit == "kw_per_person"


@pytest.mark.parametrize("name", ["hangzhou", "huzhou"])
def test_every_target_has_required_fields(name):
    cfg = load_city(name)
    assert cfg.targets
    ids = [t.id for t in cfg.targets]
    assert len(ids) == len(set(ids))
    adcodes = {d.adcode for d in cfg.districts}
    for t in cfg.targets:
        for attr in ("id", "indicator_zh", "indicator_en", "value_as_printed", "scope"):
            assert getattr(t, attr).strip(), (t.id, attr)
        assert t.unit in UNITS and t.unit == METRICS[t.metric].unit, t.id
        assert t.comparator in COMPARATORS
        assert t.status in STATUSES
        assert t.area in AREAS and t.tier in TIERS and t.kind in KINDS
        assert t.source and all(parse_ref(r)[0] in SEEDS for r in t.source)
        assert t.year is None or 2000 <= t.year <= 2100
        assert (t.threshold is None) == (t.threshold_unit is None)
        assert t.scope == "city" or t.scope in adcodes or not t.scope.isdigit()
        if name == "huzhou":
            assert t.status == "final"
            assert all(r.startswith("003:") for r in t.source)


def test_hangzhou_pv_targets(hz):
    pv1 = hz.target("PV-H1")
    assert (pv1.value, pv1.unit, pv1.year, pv1.status) == (4800, "mw", 2025, "final")
    assert pv1.value_as_printed == "480萬千瓦"
    assert (pv1.baseline_value, pv1.baseline_year, pv1.baseline_source) == (1340, 2020, "001:51")
    assert hz.target("PV-H2").value == 6500 and hz.target("PV-H2").year == 2030
    base = hz.target("PV-H3")
    assert (base.value, base.year, base.kind) == (1340, 2020, "actual")
    linan = hz.targets_for(metric="pv_per_capita_kw_per_person")
    assert {t.status for t in linan} == {"final", "draft"}
    assert all(t.scope == "330112" and t.value == 1 for t in linan)


def test_huzhou_pv_targets(huz):
    z2 = huz.target("PV-Z2")
    assert (z2.value, z2.unit, z2.year, z2.comparator) == (5000, "mw", 2030, ">=")
    assert huz.target("PV-Z1").value == 3600
    assert [huz.target(i).value for i in ("PV-Z3", "PV-Z4", "PV-Z5")] == [100, 100, 60]
    assert huz.target("PV-Z8").value == 115 and huz.target("PV-Z8").scope == "Anji Tianzi Lake town"
    assert huz.target("PV-Z9").value == 150 and huz.target("PV-Z9").scope == "330502"
    assert huz.target("PV-Z10").value == 100
    assert "as printed" in huz.target("S-Z1-2025").notes.lower()


def test_wind_final_and_draft(hz):
    def levels(status):
        return {t.tier: t.value for t in hz.targets_for("wind_capacity_mw", 2025, status)}

    assert levels("final") == {"ensure": 50, "strive": 100}
    assert levels("draft") == {"ensure": 100, "strive": 200}
    gov = [t for t in hz.governing_targets() if t.metric == "wind_capacity_mw"]
    assert sorted(t.id for t in gov) == ["W-H1", "W-H2"]


def test_forest_coverage_records_and_governing(hz):
    recs = {t.status: t.value for t in hz.targets_for("forest_coverage_pct", year=2025)}
    assert recs == {"final": 65.33, "draft": 65, "14th-FYP": 66.85}
    assert all(t.baseline_value == 66.85 and t.baseline_year == 2020
               for t in hz.targets_for("forest_coverage_pct"))
    gov = [t for t in hz.governing_targets() if t.metric == "forest_coverage_pct"]
    assert [t.id for t in gov] == ["K-H1"]


def test_forest_stock_and_baselines(hz):
    stock = {t.status: t.value for t in hz.targets_for("forest_stock_m3", year=2025)}
    assert stock == {"final": 79_000_000, "14th-FYP": 77_900_000}
    assert "000:96" in hz.target("K-H2").source  # the draft agrees with the final
    assert hz.target("K-H2").baseline_value == 67_900_000
    assert hz.target("K-H5-area").value == 16_890_000
    assert hz.target("K-H5-carbon").value == 50_870_000
    assert hz.target("K-H7").value == 10_000_000


def test_wetland_metrics_are_distinct(hz):
    rate = hz.target("K-H3")
    prot = hz.target("K-H4-protection")
    stock = hz.target("K-H4-stock")
    assert (rate.metric, rate.value, rate.comparator) == ("wetland_rate_pct", 8, "~")
    assert (prot.metric, prot.value) == ("wetland_protection_rate_pct", 55)
    assert (stock.metric, stock.value, stock.unit) == ("wetland_stock_mu", 1_590_000, "mu")
    gov = {t.id for t in hz.governing_targets()}
    assert {"K-H3", "K-H4-protection", "K-H4-stock"} <= gov


def test_coverage_targets(hz, huz):
    for cfg, prefix in ((hz, "C-H1"), (huz, "C-Z2")):
        five, thirty = cfg.target(f"{prefix}-5min"), cfg.target(f"{prefix}-30min")
        assert (five.threshold, five.threshold_unit, five.area) == (5, "min", "urban")
        assert (thirty.threshold, thirty.threshold_unit, thirty.area) == (30, "min", "all")
    piles = {t.area: t.value for t in huz.targets_for("public_piles_count", 2025)}
    assert piles == {"urban": 4200, "rural": 5000}
    t_z1 = huz.target("T-Z1")
    assert (t_z1.value, t_z1.threshold, t_z1.threshold_unit) == (60, 300, "m")
    parks = {(t.threshold, t.metric) for t in hz.targets if t.id.startswith("K-H8")}
    assert parks == {(300, "green_space_coverage_pct"), (500, "park_coverage_pct")}
    b_h4 = hz.target("B-H4")
    assert (b_h4.value, b_h4.threshold, b_h4.threshold_unit) == (100, 10000, "m2")
    assert huz.target("K-Z1").value == 30_000


def test_green_building_counts(hz, huz):
    gb = {t.status: t.value for t in hz.targets_for("green_building_demo_projects_count")}
    assert gb == {"final": 85, "14th-FYP": 50}
    assert [t.id for t in hz.governing_targets()
            if t.metric == "green_building_demo_projects_count"] == ["B-H1"]
    scopes = {t.scope for t in huz.targets_for("green_building_2star_share_pct")}
    assert scopes == {"city", "330502"}


@pytest.mark.parametrize("name", ["hangzhou", "huzhou"])
def test_governing_targets_one_per_group_and_final_first(name):
    cfg = load_city(name)
    gov = cfg.governing_targets()
    keys = [t.group_key for t in gov]
    assert len(keys) == len(set(keys))
    assert all(t.kind == "target" for t in gov)
    for t in gov:
        rivals = [r for r in cfg.targets if r.group_key == t.group_key]
        order = {"final": 0, "14th-FYP": 1, "draft": 2}
        assert order[t.status] == min(order[r.status] for r in rivals)
    all_groups = {t.group_key for t in cfg.targets if t.kind == "target"}
    assert set(keys) == all_groups


def test_targets_for_filters_and_rejects_unknown(hz):
    assert {t.id for t in hz.targets_for(status="draft")} == {
        "PV-H4-draft", "W-H1-draft", "W-H2-draft", "S-H1-draft", "K-H1-draft", "B-H9-draft",
        "K-H11-draft"}
    assert [t.id for t in hz.targets_for(scope="330112", status="final")] == ["PV-H4"]
    assert {t.id for t in hz.targets_for(kind="actual")} == {"PV-H3", "K-H5-area", "K-H5-carbon"}
    with pytest.raises(ConfigError, match="pv_capacity_mw"):
        hz.targets_for(metric="pv_capacity_kw")
    with pytest.raises(ConfigError, match="final"):
        hz.targets_for(status="approved")


def test_targets_frame(hz):
    df = hz.targets_frame()
    assert len(df) == len(hz.targets)
    assert list(df["id"]) == [t.id for t in hz.targets]
    assert df["is_governing"].sum() == len(hz.governing_targets(kind=None))
    row = df.set_index("id").loc["PV-H1"]
    assert row["value"] == 4800 and row["year"] == 2025 and row["unit"] == "mw"
    assert df.set_index("id")["year"].isna()["S-H1"]
    assert str(df["year"].dtype) == "Int64"
    assert hz.to_frame().equals(df)


def test_config_is_frozen(hz):
    with pytest.raises(dataclasses.FrozenInstanceError):
        hz.id = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        hz.targets[0].value = 1.0


# --- seeds: every citation resolves --------------------------------------------------------------


def _seed_lines() -> dict[str, list[str]]:
    """Every seed's lines; fails in CI and skips elsewhere when the seeds cannot be found."""
    seeds_dir = require_shared("seeds")
    out = {}
    for key in SEEDS:
        paths = sorted(seeds_dir.glob(f"{key}_*.txt"))
        assert len(paths) == 1, f"{seeds_dir}: expected one file {key}_*.txt, found {paths}"
        out[key] = paths[0].read_text(encoding="utf-8").split("\n")
    return out


def _fake_checkout(root: Path, name: str) -> Path:
    repo = root / name
    (repo / "tests").mkdir(parents=True)
    return repo


def test_seeds_found_beside_the_checkout_and_beside_the_main_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("TWIN_SHARED_DIR", raising=False)
    main = _fake_checkout(tmp_path, "main")
    (main / ".git" / "worktrees" / "wt").mkdir(parents=True)
    (main / ".git" / "worktrees" / "wt" / "commondir").write_text("../..\n")
    wt = _fake_checkout(tmp_path / "elsewhere", "wt")
    (wt / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'wt'}\n")
    (tmp_path / "shared" / "seeds").mkdir(parents=True)
    assert main_checkout(wt) == main.resolve()
    assert main_checkout(main) == main
    # the worktree has no ../shared of its own: found beside the main checkout
    assert require_shared("seeds", wt) == (tmp_path / "shared" / "seeds").resolve()
    assert require_shared("seeds", main) == (tmp_path / "shared" / "seeds").resolve()
    # a shared/ inside the checkout comes first
    (wt / "shared" / "seeds").mkdir(parents=True)
    assert require_shared("seeds", wt) == (wt / "shared" / "seeds").resolve()
    monkeypatch.setenv("TWIN_SHARED_DIR", str(tmp_path / "shared"))
    assert shared_candidates(wt)[0] == (tmp_path / "shared").resolve()


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_seeds_fail_in_ci(tmp_path, monkeypatch, ci):
    monkeypatch.delenv("TWIN_SHARED_DIR", raising=False)
    monkeypatch.setenv("CI", ci)
    repo = _fake_checkout(tmp_path, "repo")
    with pytest.raises(pytest.fail.Exception, match="CI: shared folder 'seeds' not found"):
        require_shared("seeds", repo)


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_seeds_skip_with_the_places_looked_in(tmp_path, monkeypatch, ci):
    monkeypatch.delenv("TWIN_SHARED_DIR", raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    repo = _fake_checkout(tmp_path, "repo")
    with pytest.raises(pytest.skip.Exception, match="TWIN_SHARED_DIR") as info:
        require_shared("seeds", repo)
    assert str(tmp_path / "shared" / "seeds") in str(info.value)


def _line(lines: dict[str, list[str]], ref: str) -> str:
    key, n = parse_ref(ref)
    assert n <= len(lines[key]), f"{ref}: seed {key} has only {len(lines[key])} lines"
    return lines[key][n - 1]


@pytest.mark.parametrize("name", ["hangzhou", "huzhou"])
def test_every_source_ref_points_to_an_existing_line(name):
    lines = _seed_lines()
    for t in load_city(name).targets:
        refs = list(t.source) + ([t.baseline_source] if t.baseline_source else [])
        for ref in refs:
            assert _line(lines, ref).strip(), f"{t.id}: {ref} is a blank line"
        # the value as printed is copied verbatim from the governing source line
        assert t.value_as_printed in _line(lines, t.source[0]), t.id


@pytest.mark.parametrize(("city", "target_id", "ref", "needle"), [
    ("hangzhou", "PV-H1", "002:52", "480"),
    ("hangzhou", "PV-H1", "000:54", "480万千瓦"),
    ("hangzhou", "PV-H1", "001:51", "134 万千瓦"),
    ("hangzhou", "W-H1", "002:52", "5萬千瓦"),
    ("hangzhou", "W-H2-draft", "004:3", "200,000 kilowatts"),
    ("hangzhou", "S-H1", "002:60", "集中式風電"),
    ("hangzhou", "K-H1", "002:96", "65.33%"),
    ("hangzhou", "K-H1", "001:75", "66.85%"),
    ("hangzhou", "K-H1-draft", "004:119", "651 TP3T"),
    ("hangzhou", "K-H2", "001:75", "6790 万立方米"),
    ("hangzhou", "K-H4-stock", "001:141", "湿地保有量"),
    ("hangzhou", "PV-H4", "002:108", "臨安"),
    ("hangzhou", "B-H1-14fyp", "001:237", "高星级绿色建筑标识示范项目"),
    ("hangzhou", "B-H4", "001:241", "能耗监管平台"),
    ("huzhou", "PV-Z2", "003:96", "500万千瓦以上"),
    ("huzhou", "PV-Z8", "003:96", "天子湖镇115兆瓦"),
    ("huzhou", "PV-Z9", "003:302", "园区分布式光伏"),
    ("huzhou", "S-Z1-2025", "003:104", "440 万千瓦"),
    ("huzhou", "C-Z3-rural", "003:220", "乡村地区"),
    ("huzhou", "T-Z1", "003:212", "公交站点300米"),
    ("huzhou", "K-Z1", "003:232", "生态低碳茶示范基地"),
    # issue 15: draft -> final changes, secondary sources and baselines
    ("hangzhou", "K-H11-draft", "000:98", "建成3个左右低碳生态农业试验区"),
    ("hangzhou", "K-H11", "002:98", "建成2個左右"),
    ("hangzhou", "K-H11-farms", "000:98", "150个以上低碳生态农场"),
    ("hangzhou", "B-H9-draft", "000:159", "城市更新改革事项13项"),
    ("hangzhou", "B-H9", "002:162", "改革事項12項"),
    ("hangzhou", "B-H2", "000:40", "培育至少1个绿色低碳生态城区试点"),
    ("hangzhou", "E-H7-parks", "000:77", "新型供能园区10个以上"),
    ("hangzhou", "P-H3-land", "000:68", "盘活低效用地6万亩"),
    ("hangzhou", "B-H6", "001:67", "31.2%"),
    ("hangzhou", "T-H1", "000:50", "绿色出行比例达到75%以上"),
    ("hangzhou", "T-H2", "001:69", "52.4%"),
    ("hangzhou", "K-H12-straw", "001:63", "95.4%"),
    ("huzhou", "K-Z2", "003:228", "占补平衡"),
    ("huzhou", "T-Z3-2025", "003:284", "75%、80%"),
])
def test_cited_lines_contain_characteristic_text(city, target_id, ref, needle):
    lines = _seed_lines()
    t = load_city(city).target(target_id)
    assert ref in t.source or ref == t.baseline_source
    assert needle in _line(lines, ref)


# --- loader errors -------------------------------------------------------------------------------

VALID = f"""\
schema_version = 1

[city]
id = "testcity"
name_zh = "测试市"
name_en = "Testcity"
adcode = "330100"
metric_crs = "EPSG:4549"
timezone = "Asia/Shanghai"
latitude = 30.23
longitude = 120.17
altitude_m = 41.7
weather_file = "{WEATHER}"
full_scale_buildings = 1000

[[districts]]
adcode = "330102"
name_zh = "上城区"
name_en = "Shangcheng"
kind = "dense_core"

[[districts]]
adcode = "330112"
name_zh = "临安区"
name_en = "Lin'an"
kind = "mountain_county"
aquaculture = false

[[targets]]
id = "T1"
indicator_zh = "光伏装机"
indicator_en = "PV capacity"
metric = "pv_capacity_mw"
value = 4800
unit = "mw"
value_as_printed = "480萬千瓦"
comparator = ">="
year = 2025
scope = "city"
source = ["002:52"]
status = "final"

[[targets]]
id = "T1-draft"
indicator_zh = "光伏装机"
indicator_en = "PV capacity (draft)"
metric = "pv_capacity_mw"
value = 4000
unit = "mw"
value_as_printed = "400万千瓦"
comparator = ">="
year = 2025
scope = "city"
source = ["000:54"]
status = "draft"
"""


def _write(tmp_path: Path, text: str, name: str = "testcity") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str, name: str = "testcity") -> str:
    path = _write(tmp_path, text, name)
    with pytest.raises(ConfigError) as info:
        load_city(path)
    msg = str(info.value)
    assert path.name in msg
    return msg


def test_valid_fixture_loads(tmp_path):
    cfg = load_city(_write(tmp_path, VALID))
    assert cfg.id == "testcity"
    assert cfg.district("330102").is_urban and not cfg.district("330112").is_urban
    assert cfg.district("330102").aquaculture is False
    assert cfg.weather_files == (WEATHER,)
    assert [t.id for t in cfg.governing_targets()] == ["T1"]


def test_governs_true_overrides_precedence(tmp_path):
    text = VALID.replace('status = "draft"', 'status = "draft"\ngoverns = true')
    cfg = load_city(_write(tmp_path, text))
    assert [t.id for t in cfg.governing_targets()] == ["T1-draft"]


def test_governs_false_never_governs(tmp_path):
    text = VALID.replace('status = "final"', 'status = "final"\ngoverns = false')
    cfg = load_city(_write(tmp_path, text))
    assert [t.id for t in cfg.governing_targets()] == ["T1-draft"]


def test_ambiguous_group_is_an_error(tmp_path):
    msg = _error(tmp_path, VALID.replace('status = "draft"', 'status = "final"'))
    assert "T1" in msg and "T1-draft" in msg and "governs = true" in msg


@pytest.mark.parametrize(("old", "new", "needles"), [
    ('value = 4800', 'valeu = 4800', ["'T1'", "unknown key 'valeu'", "did you mean 'value'"]),
    ('kind = "dense_core"', 'knd = "dense_core"', ["330102", "'knd'", "did you mean 'kind'"]),
    ('metric_crs = "EPSG:4549"', 'metric_crs = "EPSG:4549"\nlatitud = 1',
     ["[city]", "'latitud'", "did you mean 'latitude'"]),
    ('comparator = ">="\nyear = 2025\nscope = "city"\nsource = ["002:52"]',
     'year = 2025\nscope = "city"\nsource = ["002:52"]',
     ["'T1'", "missing required key 'comparator'"]),
    ('unit = "mw"\nvalue_as_printed = "480', 'unit = "megawatt"\nvalue_as_printed = "480',
     ["'T1'", "'megawatt'", "not in twin.schema.UNITS", "kwp"]),
    ('unit = "mw"\nvalue_as_printed = "480', 'unit = "kw"\nvalue_as_printed = "480',
     ["'T1'", "wrong unit 'kw'", "pv_capacity_mw"]),
    ('metric = "pv_capacity_mw"\nvalue = 4800', 'metric = "pv_capacty_mw"\nvalue = 4800',
     ["'T1'", "'pv_capacty_mw'", "did you mean 'pv_capacity_mw'"]),
    ('status = "final"', 'status = "approved"', ["'T1'", "bad status 'approved'", "14th-FYP"]),
    ('comparator = ">="\nyear = 2025\nscope = "city"\nsource = ["002:52"]',
     'comparator = "=>"\nyear = 2025\nscope = "city"\nsource = ["002:52"]',
     ["'T1'", "bad comparator '=>'"]),
    ('id = "T1-draft"', 'id = "T1"', ["'T1'", "duplicate target id"]),
    ('adcode = "330112"', 'adcode = "330102"', ["330102", "duplicate district adcode"]),
    ('source = ["002:52"]', 'source = ["002-52"]', ["'T1'", "'source'", "NNN:line"]),
    ('source = ["002:52"]', 'source = ["009:52"]', ["'T1'", "unknown seed '009'"]),
    ('source = ["002:52"]', 'source = ["002:52"]\nbaseline_source = "1:2"',
     ["'T1'", "'baseline_source'", "NNN:line"]),
    ('id = "testcity"', 'id = "othercity"', ["'id'", "'othercity'", "file stem 'testcity'"]),
    (f'weather_file = "{WEATHER}"', 'weather_file = "real/weather/nowhere.epw"',
     ["'weather_file'", "nowhere.epw", "does not exist"]),
    ('metric_crs = "EPSG:4549"', 'metric_crs = "EPSG:not-a-code"',
     ["'metric_crs'", "EPSG:not-a-code", "pyproj can parse"]),
    ('metric_crs = "EPSG:4549"', 'metric_crs = "EPSG:4326"',
     ["'metric_crs'", "EPSG:4326", "metres are needed"]),
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', ["'timezone'", "Mars/Olympus"]),
    ('scope = "city"\nsource = ["002:52"]', 'scope = "330199"\nsource = ["002:52"]',
     ["'T1'", "'scope'", "330199", "330112"]),
    ('year = 2025\nscope = "city"\nsource = ["002:52"]',
     'year = 2025\nscope = "city"\nthreshold = 5\nsource = ["002:52"]',
     ["'T1'", "'threshold_unit'", "both or neither"]),
    ('value = 4800', 'value = "4800"', ["'T1'", "'value' must be a number"]),
    ('adcode = "330112"', 'adcode = "330512"', ["330512", "does not lie in city 330100"]),
    ('kind = "mountain_county"', 'kind = "mountains"', ["330112", "bad kind 'mountains'"]),
    ('schema_version = 1', 'schema_version = 2', ["'schema_version'", "reads 1"]),
])
def test_each_error_names_file_and_key(tmp_path, old, new, needles):
    assert old in VALID
    msg = _error(tmp_path, VALID.replace(old, new, 1))
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_all_problems_are_reported_at_once(tmp_path):
    text = (VALID.replace('status = "final"', 'status = "approved"')
            .replace('unit = "mw"\nvalue_as_printed = "400', 'unit = "kw"\nvalue_as_printed = "400')
            .replace('id = "testcity"', 'id = "other"'))
    msg = _error(tmp_path, text)
    assert "3 problems" in msg
    assert "'approved'" in msg and "wrong unit 'kw'" in msg and "'other'" in msg


def test_invalid_toml_names_the_line(tmp_path):
    text = VALID.replace('value = 4800', 'value = = 4800')
    lineno = text.splitlines().index('value = = 4800') + 1
    msg = _error(tmp_path, text)
    assert "not valid TOML" in msg and f"line {lineno}," in msg


def test_non_utf8_file_is_a_source_error(tmp_path):
    path = tmp_path / "testcity.toml"
    path.write_bytes(VALID.replace("测试市", "X").encode("utf-8") + "# 杭州\n".encode("gbk"))
    with pytest.raises(SourceError, match="not UTF-8") as info:
        load_city(path)
    assert "testcity.toml" in str(info.value)
    assert isinstance(info.value, TwinError)


def test_missing_file_and_unknown_preset(tmp_path):
    with pytest.raises(SourceError, match="nothere.toml"):
        load_city(tmp_path / "nothere.toml")
    with pytest.raises(ConfigError, match="hangzhou"):
        load_city("shanghai")


@given(key=st.sampled_from(sorted(SEEDS)), line=st.integers(min_value=1, max_value=10**6))
def test_parse_ref_roundtrip(key, line):
    assert parse_ref(f"{key}:{line}") == (key, line)


@pytest.mark.parametrize("bad", ["2:52", "002:0", "002:", "002:5a", " 002:52", "999:1"])
def test_parse_ref_rejects(bad):
    with pytest.raises(ConfigError):
        parse_ref(bad)


# --- value as printed -> stored value ------------------------------------------------------------


@pytest.mark.parametrize("name", ["hangzhou", "huzhou"])
def test_every_value_as_printed_converts_to_the_stored_value(name):
    cfg = load_city(name)
    problems = [p for p in map(check_value_as_printed, cfg.targets) if p is not None]
    assert problems == []
    # every entry was read, none skipped: each printed text holds a quantity or a value word
    assert all(printed_quantities(t.value_as_printed) for t in cfg.targets)


@pytest.mark.parametrize(("text", "expected"), [
    ("480萬千瓦", [(4_800_000.0, "kw")]),
    ("134 万千瓦", [(1_340_000.0, "kw")]),
    ("1.5万千瓦", [(15_000.0, "kw")]),
    ("115兆瓦", [(115.0, "mw")]),
    ("50 兆瓦 / 100 兆瓦时", [(50.0, "mw"), (100.0, "mwh")]),
    ("7900萬立方米以上", [(79_000_000.0, "m3")]),
    ("6萬畝", [(60_000.0, "mu")]),
    ("千萬畝森林質量精準提升", [(10_000_000.0, "mu")]),
    ("5087 万吨", [(50_870_000.0, "t")]),
    ("3 亿吨", [(300_000_000.0, "t")]),
    ("新建4座500千伏变电站", [(4.0, "count"), (500.0, "kv")]),
    ("兩個“百分百”", [(2.0, "count"), (100.0, "pct")]),
    ("面积约 280 平方公里", [(280.0, "km2")]),
    ("320 万平方米", [(3_200_000.0, "m2")]),
    ("省级绿道规模分别达到315公里", [(315.0, "km")]),
    ("300米见绿", [(300.0, "m")]),
    ("65.33%以上", [(65.33, "pct")]),
    ("城市五分鐘", [(5.0, "min")]),
    ("城鄉(xiāng)半小時充電圈", [(0.5, "h")]),
    ("人人一千瓦", [(1.0, "kw_per_person")]),
    ("不少于85項", [(85.0, "count")]),
    ("累計淘汰600臺(套)以上", [(600.0, "count")]),
    ("到2025年、2030年,比例分别达到36%", [(36.0, "pct")]),
    ("高速公路服務區(qū)充電設施全覆蓋", [(100.0, "pct")]),
    ("严格按照“占补平衡”原则", [(0.0, "m2")]),
    ("新建“一村万树”示范村", []),
])
def test_printed_quantities(text, expected):
    assert printed_quantities(text) == expected


@pytest.mark.parametrize(("value", "unit", "to", "expected"), [
    (6e4, "mu", "ha", 4000.0),
    (6e4, "mu", "km2", 40.0),
    (4.8e6, "kw", "mw", 4800.0),
    (4.8e6, "kw", "gw", 4.8),
    (315.0, "km", "m", 315_000.0),
    (0.5, "h", "min", 30.0),
    (280.0, "km2", "m2", 2.8e8),
    (5.087e7, "t", "t_c", 5.087e7),
])
def test_convert_unit(value, unit, to, expected):
    assert convert_unit(value, unit, to) == pytest.approx(expected)


def test_convert_unit_refuses_other_dimensions():
    assert convert_unit(1.0, "mw", "mwh") is None
    assert convert_unit(1.0, "mu", "m3") is None
    assert convert_unit(1.0, "pct", "count") is None
    assert convert_unit(1.0, "kw", "kw_per_person") is None


@given(n=st.integers(min_value=1, max_value=99_999),
       mult=st.sampled_from([("", 1.0), ("万", 1e4), ("萬", 1e4), ("亿", 1e8)]),
       unit=st.sampled_from([("千瓦", "kw"), ("亩", "mu"), ("平方米", "m2"), ("吨", "t")]),
       space=st.sampled_from(["", " "]))
def test_printed_arabic_numbers_with_multipliers(n, mult, unit, space):
    ((value, key),) = printed_quantities(f"达到{n}{space}{mult[0]}{unit[0]}以上")
    assert key == unit[1]
    assert value == pytest.approx(n * mult[1])


def _target(**kw) -> Target:
    base: dict = {"id": "X", "indicator_zh": "x", "indicator_en": "x", "metric": "pv_capacity_mw",
                  "value": 4800.0, "unit": "mw", "value_as_printed": "480万千瓦", "comparator": ">=",
                  "scope": "city", "source": ("002:52",), "status": "final"}
    return Target(**{**base, **kw})


@pytest.mark.parametrize(("kw", "needle"), [
    ({"value": 480.0}, "reads 4800 mw, the config stores 480 mw"),
    ({"value_as_printed": "480万千瓦、650万千瓦"}, "holds 2 quantities"),
    ({"value_as_printed": "光伏装机"}, "holds 0 quantities"),
    ({"value_as_printed": "480万亩"}, "holds 0 quantities"),
    ({"metric": "charging_circle_coverage_pct", "unit": "pct", "value": 100.0,
      "value_as_printed": "城市五分钟", "threshold": 30.0, "threshold_unit": "min"},
     "threshold 30 min is not printed"),
    ({"metric": "bus_stop_coverage_pct", "unit": "pct", "value": 50.0,
      "value_as_printed": "300米半径覆盖率达到60%", "threshold": 300.0, "threshold_unit": "m"},
     "reads 60 pct"),
])
def test_check_value_as_printed_names_the_mismatch(kw, needle):
    problem = check_value_as_printed(_target(**kw))
    assert problem is not None and needle in problem and problem.startswith("X: ")


def test_check_value_as_printed_accepts_conversions_and_circles():
    assert check_value_as_printed(_target()) is None
    assert check_value_as_printed(_target(value_as_printed="4.8 GW")) is None
    circle = _target(metric="charging_circle_coverage_pct", unit="pct", value=100.0,
                     value_as_printed="城乡半小时充电圈", threshold=30.0, threshold_unit="min")
    assert check_value_as_printed(circle) is None
    # a circle that prints no share is read as 100 %, never as another share
    assert check_value_as_printed(dataclasses.replace(circle, value=90.0)) is not None


# --- tracked / untracked ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["hangzhou", "huzhou"])
def test_every_target_is_tracked_by_an_engine_or_says_why_not(name):
    for t in load_city(name).targets:
        engines = METRICS[t.metric].engines
        if t.tracked:
            assert engines and t.tracked_by == engines, t.id
            assert t.scope == "city" or t.scope.isdigit(), t.id
            assert t.untracked_reason == "", t.id
        else:
            assert t.tracked_by == () and len(t.untracked_reason) > 20, t.id


def test_tracked_targets_and_engines(hz, huz):
    assert hz.target("K-H1").tracked_by == ("sinks",)
    assert hz.target("PV-H1").tracked_by == ("pv", "pv_sites")
    assert hz.target("C-H1-5min").tracked_by == ("coverage",)
    assert hz.target("S-H1").tracked_by == ("pv_sites",)
    assert not huz.target("PV-Z8").tracked  # a tracked metric, at a place with no boundary
    wet = huz.target("K-Z2")
    assert (wet.metric, wet.value, wet.unit, wet.comparator) == ("wetland_area_change_mu", 0, "mu", ">=")
    assert wet.tracked_by == ("sinks",) and wet.year is None
    df = huz.targets_frame().set_index("id")
    assert df.loc["K-Z2", "tracked_by"] == "sinks" and bool(df.loc["K-Z2", "tracked"])
    assert not df.loc["T-Z2", "tracked"] and "trip" in df.loc["T-Z2", "untracked_reason"]
    assert df["tracked"].dtype == bool


@pytest.mark.parametrize(("old", "new", "needles"), [
    ('status = "draft"\n', 'status = "draft"\ntracked = false\n',
     ["'T1-draft'", "'tracked' is false without 'untracked_reason'"]),
    ('status = "draft"\n', 'status = "draft"\nuntracked_reason = "no data"\n',
     ["'T1-draft'", "'tracked' is not false"]),
    ('metric = "pv_capacity_mw"\nvalue = 4000\nunit = "mw"',
     'metric = "storage_capacity_mw"\nvalue = 4000\nunit = "mw"',
     ["'T1-draft'", "no engine computes metric 'storage_capacity_mw'", "tracked = false"]),
    ('scope = "city"\nsource = ["000:54"]', 'scope = "Nantaihu New Area"\nsource = ["000:54"]',
     ["'T1-draft'", "'Nantaihu New Area' is a place the twin has no boundary of"]),
    ('status = "draft"\n', 'status = "draft"\ntracked = "no"\n',
     ["'T1-draft'", "'tracked' must be a boolean"]),
])
def test_tracked_rules(tmp_path, old, new, needles):
    assert old in VALID
    msg = _error(tmp_path, VALID.replace(old, new, 1))
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_untracked_with_a_reason_loads(tmp_path):
    text = VALID.replace('status = "draft"\n', 'status = "draft"\ntracked = false\n'
                         'untracked_reason = "a draft nobody tracks"\n', 1)
    t = load_city(_write(tmp_path, text)).target("T1-draft")
    assert (t.tracked, t.tracked_by, t.untracked_reason) == (False, (), "a draft nobody tracks")


# --- the targets of issue 15 ----------------------------------------------------------------------


def test_draft_final_changes_are_separate_records(hz):
    reform = {t.status: (t.value, t.source[0]) for t in
              hz.targets_for("urban_renewal_reform_items_count", year=2025)}
    assert reform == {"final": (12, "002:162"), "draft": (13, "000:159")}
    zones = {t.status: (t.value, t.comparator, t.source[0]) for t in
             hz.targets_for("low_carbon_agriculture_zones_count", year=2025)}
    assert zones == {"final": (2, "~", "002:98"), "draft": (3, "~", "000:98")}
    gov = {t.id for t in hz.governing_targets()}
    assert {"B-H9", "K-H11"} <= gov and not {"B-H9-draft", "K-H11-draft"} & gov


@pytest.mark.parametrize(("city", "target_id", "value", "unit", "year", "ref"), [
    ("hangzhou", "K-H9", 105, "count", 2025, "001:361"),
    ("hangzhou", "B-H5", 3_200_000, "m2", 2025, "001:241"),
    ("hangzhou", "B-H2", 1, "count", 2025, "002:38"),
    ("hangzhou", "B-H6", 35, "pct", 2025, "001:243"),
    ("hangzhou", "PV-H5", 50, "pct", 2025, "001:205"),
    ("hangzhou", "PV-H6", 30_000_000, "m2", 2025, "001:247"),
    ("hangzhou", "PV-H7", 8, "pct", 2025, "001:247"),
    ("hangzhou", "E-H7-parks", 10, "count", 2030, "002:76"),
    ("hangzhou", "E-H7-share", 50, "pct", 2030, "002:76"),
    ("hangzhou", "P-H3-land", 60_000, "mu", 2025, "002:66"),
    ("hangzhou", "P-H3-firms", 3000, "count", 2025, "002:66"),
    ("hangzhou", "S-H8", 280, "km2", 2021, "001:215"),
    ("hangzhou", "B-H10", 1040, "count", 2027, "002:162"),
    ("hangzhou", "K-H11-farms", 150, "count", 2025, "002:98"),
    ("huzhou", "B-Z2-2025", 36, "pct", 2025, "003:184"),
    ("huzhou", "B-Z2-2030", 41, "pct", 2030, "003:184"),
    ("huzhou", "B-Z2-wuxing", 40, "pct", 2025, "003:298"),
    ("huzhou", "B-Z3-2025", 75, "pct", 2025, "003:130"),
    ("huzhou", "B-Z3-2030", 78, "pct", 2030, "003:130"),
    ("huzhou", "B-Z5-count", 135, "count", 2025, "003:174"),
    ("huzhou", "T-Z2", 40, "pct", 2025, "003:212"),
    ("huzhou", "T-Z2-wuxing", 37, "pct", 2025, "003:298"),
    ("huzhou", "T-Z3-2025", 75, "pct", 2025, "003:212"),
    ("huzhou", "T-Z3-2030", 80, "pct", 2030, "003:284"),
    ("huzhou", "C-Z11-2025", 315, "km", 2025, "003:216"),
    ("huzhou", "C-Z11-2030", 380, "km", 2030, "003:216"),
    ("huzhou", "E-Z1-2025", 25, "pct", 2025, "003:112"),
    ("huzhou", "E-Z1-2030", 40, "pct", 2030, "003:112"),
])
def test_issue_15_targets(city, target_id, value, unit, year, ref):
    t = load_city(city).target(target_id)
    assert (t.value, t.unit, t.year, t.source[0]) == (value, unit, year, ref)


def test_heat_radius_rules(hz, huz):
    for t in (hz.target("E-H8"), huz.target("E-Z4")):
        assert (t.value, t.threshold, t.threshold_unit) == (100, 15, "km")
        assert not t.tracked


@pytest.mark.parametrize(("text", "expected"), [
    ("一千瓦", (1.0, "kw")), ("五分钟", (5.0, "min")), ("十五分钟", (15.0, "min")),
    ("二十分钟", (20.0, "min")), ("一百个", (100.0, "count")), ("三千个", (3000.0, "count")),
    ("万亩", (1e4, "mu")), ("千万亩", (1e7, "mu")), ("两万个", (2e4, "count")),
    ("一亿吨", (1e8, "t")),
])
def test_chinese_numerals(text, expected):
    assert printed_quantities(text) == [pytest.approx(expected)]
