"""Weather that tells the right time: offsets found against the sun, corrected only when unambiguous,
and the physics that follows (east and west roofs alike, a yield in the band real plants report)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest

from engines.pv.solar_time import OFFSET_OK_H, check_weather, correct_time_shift, shift_weather
from engines.pv.weather import read_epw
from engines.pv.yield_ import simulate_facets
from twin.errors import SchemaError

WEATHER_DIR = Path(__file__).resolve().parents[3] / "data" / "real" / "weather"
CSWD = WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_CSWD.epw"
SWERA = WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_SWERA.epw"
#: Hangzhou station 584570 (both files' header).
LOC = pvlib.location.Location(30.23, 120.17, tz="Asia/Shanghai", altitude=41.7)


@pytest.fixture(scope="module")
def swera():
    return read_epw(SWERA)[0]


@pytest.fixture(scope="module")
def cswd():
    return read_epw(CSWD)[0]


def _shifted_epw_copy(src: Path, dst: Path, hours: int) -> Path:
    """The EPW with every data row's values moved ``hours`` rows later (the year wraps)."""
    lines = src.read_text("latin-1").splitlines()
    head, rows = lines[:8], lines[8:]
    stamps = [r.split(",")[:6] for r in rows]
    values = [r.split(",")[6:] for r in rows]
    values = values[-hours:] + values[:-hours]
    dst.write_text("\n".join(head + [",".join(s + v) for s, v in zip(stamps, values, strict=True)]) + "\n",
                   "latin-1")
    return dst


def test_the_swera_file_tells_the_right_time(swera):
    chk = check_weather(swera, LOC)
    assert abs(chk.offset_h) < 0.1 and chk.status == "ok" and chk.night_hours == 0
    assert chk.morning_clearness == pytest.approx(chk.afternoon_clearness, abs=0.03)
    assert chk.closure_ratio == pytest.approx(1.0, abs=0.01)
    out, chk2 = correct_time_shift(swera, LOC)
    assert out is swera and chk2.shift_h == 0.0


def test_the_cswd_file_is_an_hour_late_and_is_corrected(cswd):
    chk = check_weather(cswd, LOC)
    assert 0.9 < chk.offset_h < 1.2 and chk.status == "offset"
    assert chk.morning_clearness < 0.6 * chk.afternoon_clearness
    assert chk.night_hours > 100 and chk.closure_afternoon < 0.93
    fixed, after = correct_time_shift(cswd, LOC, name="CSWD")
    assert after.shift_h == -1.0 and after.status == "corrected"
    assert abs(after.offset_h) <= OFFSET_OK_H and after.night_hours < 10
    assert abs(after.morning_clearness - after.afternoon_clearness) < 0.05
    assert "corrected by -1 h" in after.notes[0]
    assert fixed["ghi"].sum() == pytest.approx(cswd["ghi"].sum())  # nothing lost, only moved


def test_a_shifted_epw_copy_is_detected_and_corrected_back(tmp_path, swera):
    late = read_epw(_shifted_epw_copy(SWERA, tmp_path / "late.epw", 1))[0]
    chk = check_weather(late, LOC)
    assert chk.offset_h == pytest.approx(1.0, abs=0.15)
    fixed, after = correct_time_shift(late, LOC, name="late.epw")
    assert after.shift_h == -1.0
    for col in ("ghi", "dni", "dhi", "temp_air"):
        np.testing.assert_allclose(fixed[col].to_numpy(), swera[col].to_numpy())


def test_half_hour_offsets_are_corrected_and_odd_ones_refused(swera):
    half = shift_weather(swera, 0.5)
    chk = check_weather(half, LOC)
    assert chk.offset_h == pytest.approx(0.5, abs=0.1)
    _, after = correct_time_shift(half, LOC)
    assert after.shift_h == -0.5 and abs(after.offset_h) < 0.1
    odd = 0.15 * shift_weather(swera, 1.0) + 0.85 * swera  # about 0.15 h: small, kept
    assert correct_time_shift(odd, LOC)[1].shift_h == 0.0
    three_quarters = 0.5 * shift_weather(swera, 0.5) + 0.5 * shift_weather(swera, 1.0)
    with pytest.raises(SchemaError, match="neither small nor close to a whole or half hour"):
        correct_time_shift(three_quarters, LOC, name="odd.epw")
    with pytest.raises(SchemaError, match="does not bring the irradiance closer"):
        correct_time_shift(swera, LOC, shift_h=2.0)
    with pytest.raises(SchemaError, match="multiple of half an hour"):
        shift_weather(swera, 0.3)


def _yield(weather, azimuth, tilt=20.0):
    f = pd.DataFrame({"surface_tilt": [tilt], "surface_azimuth": [azimuth], "pdc0_kw": [1.0]})
    return float(simulate_facets(f, weather, LOC)["specific_yield_kwh_per_kwp"].iloc[0])


@pytest.mark.parametrize("name", ["swera", "cswd"])
def test_east_and_west_roofs_alike_on_a_consistent_weather_file(name, request):
    weather = request.getfixturevalue(name)
    weather, _ = correct_time_shift(weather, LOC, name=name)
    east, west = _yield(weather, 90.0), _yield(weather, 270.0)
    assert east == pytest.approx(west, rel=0.05), (east, west)


def test_the_uncorrected_cswd_file_breaks_the_symmetry(cswd):
    east, west = _yield(cswd, 90.0), _yield(cswd, 270.0)
    assert west > 1.1 * east  # what a one-hour labelling error does to east and west roofs


def test_a_south_roof_yields_what_zhejiang_plants_report(swera):
    # 20 deg south, PVWatts losses, on the time-consistent SWERA year: Zhejiang plants report
    # 1,100-1,200 kWh/kWp (data/validation/checks.toml, V-roof-specific-yield band 1,050-1,250)
    assert 1050.0 <= _yield(swera, 180.0) <= 1250.0


def test_every_pv_run_records_its_weather_checks_and_twin_info_shows_them(twin_copy):
    from shell.info import describe_twins
    from shell.runners import run_engine

    doc = describe_twins(["hangzhou"], home=twin_copy)
    weather = {w["file"]: w for w in doc["cities"]["hangzhou"]["weather"]}
    assert weather[SWERA.name]["default"] and weather[SWERA.name]["shift_h"] == 0.0
    assert weather[CSWD.name]["shift_h"] == -1.0 and weather[CSWD.name]["status"] == "corrected"
    res = run_engine("pv_sites", "hangzhou", home=twin_copy, commit=False,
                     params={"weather_file": CSWD.name})
    check = res.meta["pv_sites"]["weather_check"]
    assert check["shift_h"] == -1.0 and "corrected by -1 h" in check["notes"][0]
    kept = run_engine("pv_sites", "hangzhou", home=twin_copy, commit=False,
                      params={"weather_file": CSWD.name, "weather_shift_h": 0.0})
    assert kept.meta["pv_sites"]["weather_check"]["shift_h"] == 0.0
