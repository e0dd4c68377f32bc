"""Parameters as data: one validator for every engine, round trips, clear errors, CLI options from fields."""

from __future__ import annotations

import dataclasses
import re

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.coverage.params import CoverageParams
from engines.pv.params import PVSitesParams, RooftopParams, default_site_screen
from engines.registry import ENGINES
from engines.sinks.params import SinksParams
from engines.wind.screen import WindParams
from twin.config import load_city
from twin.errors import ConfigError, SourceError
from twin.params import from_mapping, load_toml, to_dict, with_changes


@pytest.mark.parametrize("cls", [e.params for e in ENGINES.values()])
def test_defaults_round_trip_through_the_recorded_dict(cls):
    p = cls()
    d = to_dict(p)
    assert from_mapping(cls, d) == p
    import json

    assert json.loads(json.dumps(d)) == d  # recorded as-is in the catalog's _meta


@settings(max_examples=40, deadline=None)
@given(hub=st.floats(110.0, 139.0), cell=st.floats(10.0, 1000.0), hours=st.floats(0.5, 12.0),
       ratio=st.floats(0.0, 1.0))
def test_any_valid_wind_parameters_round_trip(hub, cell, hours, ratio):
    p = WindParams(hub_height_m=hub, cell_m=cell, storage_duration_h=hours, storage_ratio=ratio)
    assert from_mapping(WindParams, to_dict(p)) == p


@settings(max_examples=40, deadline=None)
@given(k=st.integers(0, 500), spacing=st.floats(1.0, 1e5), share=st.floats(0.0, 1.0))
def test_any_valid_coverage_and_sink_parameters_round_trip(k, spacing, share):
    c = CoverageParams(k_sites=k, candidate_spacing_m=spacing)
    s = SinksParams(special_shrubland_share=share)
    assert from_mapping(CoverageParams, to_dict(c)) == c
    assert from_mapping(SinksParams, to_dict(s)) == s


def test_unknown_keys_and_bad_values_are_all_named_at_once():
    with pytest.raises(ConfigError) as exc:
        from_mapping(WindParams, {"hub_hieght_m": 120, "wake_loss": 1.5, "cell_m": "big",
                                  "profile": "cubic"})
    msg = str(exc.value)
    assert "unknown parameter(s) hub_hieght_m" in msg and "known:" in msg and "hub_height_m" in msg
    assert "cell_m: must be a number" in msg
    with pytest.raises(ConfigError, match=r"wake_loss: 1.5 must be <= 1"):
        from_mapping(WindParams, {"wake_loss": 1.5})
    with pytest.raises(ConfigError, match=r"profile: 'cubic' is not one of 'log', 'power'"):
        from_mapping(WindParams, {"profile": "cubic"})


def test_direct_construction_is_checked_too():
    with pytest.raises(ConfigError, match="k_sites: -1 must be >= 0"):
        CoverageParams(k_sites=-1)
    with pytest.raises(ConfigError, match=r"transposition_model: 'hay' is not one of"):
        RooftopParams().model.__class__(transposition_model="hay")
    with pytest.raises(ConfigError, match="previous_raster needs years"):
        SinksParams(previous_raster="old.tif")
    with pytest.raises(ConfigError, match="must be finite"):
        CoverageParams(cell_m=float("nan"))


def test_nested_site_parameters_are_validated_by_the_same_validator():
    site = default_site_screen()
    assert site.storage.ratio == pytest.approx(0.10)
    assert set(site.water.types) == {"pond", "pit_pond", "reservoir"}
    p = with_changes(PVSitesParams(), {"site": {"storage": {"duration_h": 4.0}}})
    assert p.site.storage.duration_h == 4.0 and p.site.storage.ratio == pytest.approx(0.10)
    with pytest.raises(ConfigError, match=r"site.water.types.pond.array_coverage_ratio: 1.5 must be <= 1"):
        with_changes(PVSitesParams(), {"site": {"water": {"types": {"pond": {"array_coverage_ratio": 1.5}}}}})
    with pytest.raises(ConfigError, match="not one of"):
        with_changes(PVSitesParams(), {"site": {"ground": {"categories": {"x": {"mounting": "kite"}}}}})


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        WindParams().hub_height_m = 120.0  # type: ignore[misc]


def test_parameter_files_bad_and_missing(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        load_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[wind\nhub = 1\n")
    with pytest.raises(SourceError, match="not valid TOML"):
        load_toml(bad)


# --- the plans' access thresholds: written once, in the city config ------------------------------

def test_access_thresholds_come_from_the_city_config():
    for city in ("hangzhou", "huzhou"):
        a = load_city(city).access
        assert (a.charging_urban_min, a.charging_rural_min) == (5.0, 30.0)
        assert a.bus_stop_m == 300.0 and a.green_space_m == 300.0 and a.park_m == 500.0
        assert set(a.sources) == {"charging_urban_min", "charging_rural_min", "bus_stop_m",
                                  "green_space_m", "park_m", "urban_districts"}
    assert "urban_threshold_min" not in {f.name for f in dataclasses.fields(CoverageParams)}


def test_a_target_threshold_that_disagrees_with_access_is_refused(tmp_path):
    from twin.config import cities_dir

    text = (cities_dir() / "huzhou.toml").read_text("utf-8")
    changed = re.sub(r"(\[access\]\ncharging_urban_min = )5\.0", r"\g<1>10.0", text)
    assert changed != text
    path = tmp_path / "huzhou.toml"
    path.write_text(changed, "utf-8")
    want = r"C-Z2-5min.*threshold 5 differs from \[access\] charging_urban_min = 10"
    with pytest.raises(ConfigError, match=want):
        load_city(path)


# --- the command line: options made from the fields ----------------------------------------------

def _option_names(cmd) -> set[str]:
    return {o for p in cmd.params for o in getattr(p, "opts", [])}


def test_twin_build_accepts_every_option_of_every_engine_command():
    from shell.cli import cli

    build = _option_names(cli.commands["build"])
    for name in ("pv", "sites", "sinks", "coverage"):
        own = _option_names(cli.commands[name]) - {"--city", "--only", "--help", "-h"}
        assert own <= build, (name, own - build)
    help_ = CliRunner().invoke(cli, ["build", "--help"]).output
    pv_help = CliRunner().invoke(cli, ["pv", "--help"]).output
    for flag in re.findall(r"(--[a-z][a-z-]+)", pv_help):
        assert flag in help_, flag


def test_build_parameters_from_a_file_and_flags(tmp_path):
    from shell.options import params_from_options

    f = tmp_path / "p.toml"
    f.write_text('[pv]\nscenario = "huzhou_2030"\n[wind]\nhub_height_m = 120.0\n'
                 '[pv_sites.site.storage]\nduration_h = 4.0\n')
    engines = list(ENGINES.values())
    p = params_from_options(engines, {"transposition": "haydavies", "storage_hours": 3.0,
                                      "no_shading": True}, f)
    assert p["pv"].scenario == "huzhou_2030" and p["pv"].shading is False
    assert p["pv"].model.transposition_model == "haydavies"
    assert p["pv_sites"].model.transposition_model == "haydavies"  # a shared flag sets every engine
    assert p["pv_sites"].site.storage.duration_h == 3.0 and p["wind"].storage_duration_h == 3.0
    assert p["wind"].hub_height_m == 120.0
    f.write_text("[solar]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"unknown table\(s\) 'solar'"):
        params_from_options(engines, {}, f)
