import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from engines.pv.facets import roof_facets
from engines.pv.scenarios import DEFAULT_SCENARIOS_PATH, Rule, Scenario, apply_scenario, load_scenarios
from twin.errors import ConfigError, SchemaError, SourceError

USE = ["government", "education", "industrial", "rural_residential", "residential",
       "industrial", "office", "office"]
NEW = [False, False, True, False, False, False, True, False]
PUB = [True, False, False, False, False, False, True, True]


@pytest.fixture
def buildings():
    n = len(USE)
    return gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(n)], "height_m": [12.0] * n,
         "roof_type": ["flat"] * n, "use_class": USE, "is_new_build": NEW,
         "is_public_institution": PUB},
        geometry=[box(100 * i, 0, 100 * i + 30, 20) for i in range(n)], crs=4549)


@pytest.fixture
def facets(buildings):
    f = roof_facets(buildings, latitude_deg=30.0)
    f.index = pd.RangeIndex(10, 10 + len(f))  # results must follow the facets' index
    return f


def test_shipped_file_has_the_three_scenarios():
    s = load_scenarios()
    assert list(s) == ["technical", "whole_county_2021", "huzhou_2030"]
    assert s["technical"].default_ratio == 1.0 and s["technical"].rules == ()
    assert [r.ratio for r in s["whole_county_2021"].rules] == [0.5, 0.4, 0.3, 0.2]
    assert s["whole_county_2021"].basis == "roof_area"
    assert [r.ratio for r in s["huzhou_2030"].rules] == [1.0, 1.0, 0.6]
    assert load_scenarios(DEFAULT_SCENARIOS_PATH) == s


def test_technical_adopts_everything(facets, buildings):
    r = apply_scenario(facets, buildings, load_scenarios()["technical"])
    assert r.name == "adopted_ratio" and r.index.equals(facets.index)
    assert (r == 1.0).all()


def test_whole_county_ratios_are_shares_of_roof_area(facets, buildings):
    r = apply_scenario(facets, buildings, load_scenarios()["whole_county_2021"])
    share = facets["roof_area_m2"] / facets["installable_area_m2"]  # 600 / (28*18*0.85)
    expected = np.array([0.5, 0.4, 0.3, 0.2, 0.0, 0.3, 0.3, 0.3]) * share.to_numpy()
    np.testing.assert_allclose(r.to_numpy(), expected)
    adopted_roof = (r * facets["installable_area_m2"]).iloc[0]
    assert adopted_roof == pytest.approx(0.5 * 600.0)  # half the government roof


def test_roof_area_basis_is_capped_at_installable():
    f = pd.DataFrame({"building_id": ["a"], "roof_area_m2": [100.0],
                      "installable_area_m2": [20.0]})
    b = pd.DataFrame({"building_id": ["a"], "use_class": ["government"]})
    r = apply_scenario(f, b, load_scenarios()["whole_county_2021"])
    assert r.iloc[0] == 1.0


def test_huzhou_first_matching_rule_wins(facets, buildings):
    r = apply_scenario(facets, buildings, load_scenarios()["huzhou_2030"])
    # b0 old gov public institution 0.6; b1 old school 0; b2 new factory 1.0; b3, b4 0;
    # b5 old factory 0; b6 new office that is also a public institution: 1.0 (rule 2 first);
    # b7 old office, public institution: 0.6
    np.testing.assert_allclose(r.to_numpy(), [0.6, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.6])


def test_rule_order_matters():
    f = pd.DataFrame({"building_id": ["a"], "roof_area_m2": [1.0], "installable_area_m2": [1.0]})
    b = pd.DataFrame({"building_id": ["a"], "use_class": ["office"], "is_new_build": [True]})
    first = Rule(0.2, use_class=("office",))
    second = Rule(0.9, is_new_build=True)
    s = Scenario("t", "", "", 0, "installable_area", 0.0, (first, second))
    assert apply_scenario(f, b, s).iloc[0] == 0.2
    s2 = Scenario("t", "", "", 0, "installable_area", 0.0, (second, first))
    assert apply_scenario(f, b, s2).iloc[0] == 0.9


def test_missing_columns_and_unknown_buildings(facets, buildings):
    s = load_scenarios()["huzhou_2030"]
    with pytest.raises(SchemaError, match="is_new_build"):
        apply_scenario(facets, buildings.drop(columns="is_new_build"), s)
    with pytest.raises(SchemaError, match="not given"):
        apply_scenario(facets, buildings.iloc[1:], s)
    # the technical scenario needs no attributes
    apply_scenario(facets, buildings[["building_id"]], load_scenarios()["technical"])


GOOD = """
[scenarios.x]
description = "d"
default_ratio = 0.1
[[scenarios.x.rules]]
use_class = ["industrial"]
ratio = 0.5
"""


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD.replace("ratio = 0.5", "ratio = 1.5"), r"rules\[0\]\.ratio"),
        (GOOD.replace('"industrial"', '"factory"'), r"rules\[0\]\.use_class.*factory"),
        (GOOD.replace("ratio = 0.5", "ratio = 0.5\ncolour = 1"), r"rules\[0\].*colour"),
        (GOOD.replace('description = "d"', 'descripton = "d"'), r"\[scenarios\.x\].*descripton"),
        (GOOD.replace("default_ratio = 0.1", 'basis = "walls"'), r"basis"),
        (GOOD.replace("ratio = 0.5", "ratio = 0.5\nis_new_build = 1"), r"is_new_build"),
        (GOOD + "\n[other]\na = 1\n", r"top-level.*other"),
        ("scenarios = 3", r"no \[scenarios"),
        ("[scenarios.x\n", r"not valid TOML"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path, text, match):
    p = tmp_path / "sc.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as err:
        load_scenarios(p)
    assert "sc.toml" in str(err.value)


def test_good_custom_file_and_missing_file(tmp_path):
    p = tmp_path / "sc.toml"
    p.write_text(GOOD, encoding="utf-8")
    s = load_scenarios(p)["x"]
    assert s.rules == (Rule(0.5, ("industrial",)),) and s.default_ratio == 0.1
    with pytest.raises(SourceError, match="not found"):
        load_scenarios(tmp_path / "none.toml")
