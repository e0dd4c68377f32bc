"""Tests of engines.pv.weather: EPW/TMY3 readers, time labels and validation/repair."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest

from engines.pv.weather import (
    MAX_INTERPOLATED_GAP_H,
    TYPICAL_YEAR,
    interval_middle,
    location_from_meta,
    read_epw,
    read_tmy3_csv,
    validate_weather,
)
from twin.errors import DataWarning, SchemaError, SourceError

WEATHER_DIR = Path(__file__).resolve().parents[3] / "data" / "real" / "weather"
CSWD = WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_CSWD.epw"
SWERA = WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_SWERA.epw"
TMY3 = Path(os.path.dirname(pvlib.__file__)) / "data" / "723170TYA.CSV"


@pytest.fixture(scope="module")
def cswd():
    return read_epw(CSWD)


def _good(cswd):
    return cswd[0].copy()


@pytest.mark.parametrize("path", [CSWD, SWERA], ids=["CSWD", "SWERA"])
def test_read_epw_columns_units_and_labels(path):
    df, meta = read_epw(path)
    assert list(df.columns) == ["ghi", "dni", "dhi", "temp_air", "wind_speed", "pressure"]
    assert len(df) == 8760
    assert str(df.index.tz) == "UTC+08:00"
    assert df.index.is_monotonic_increasing and df.index.is_unique
    # interval-start labels: the first row is EPW hour 1 (ending 01:00), labelled 00:00
    assert df.index[0].hour == 0 and df.index[0].month == 1 and df.index[0].day == 1
    assert df.index[-1].hour == 23 and df.index[-1].month == 12 and df.index[-1].day == 31
    assert 90_000 < df["pressure"].median() < 110_000  # Pa
    assert meta["latitude"] == pytest.approx(30.23) and meta["TZ"] == 8.0
    validate_weather(df)


def test_read_epw_first_record_is_epw_hour_1(cswd):
    df, _ = cswd
    # EPW line 9 of the CSWD file: 2005,1,1,1,0,... dry bulb 4.8 C, pressure 102060 Pa
    assert df["temp_air"].iloc[0] == pytest.approx(4.8)
    assert df["pressure"].iloc[0] == pytest.approx(102060.0)


def test_typical_year_is_put_on_one_calendar_year():
    df, _ = read_epw(SWERA)  # months come from nine different years in the file
    assert set(df.index.year) == {TYPICAL_YEAR}
    raw, _ = pvlib.iotools.read_epw(SWERA)
    # same records, same order within each month
    jan = raw[raw.index.month == 1]["ghi"].to_numpy()
    np.testing.assert_array_equal(df[df.index.month == 1]["ghi"].to_numpy(), jan)


def test_invalid_epw_albedo_is_dropped(cswd):
    # CSWD carries the missing code 999, SWERA 0.0: neither is a usable albedo
    assert "albedo" not in cswd[0].columns
    assert "albedo" not in read_epw(SWERA)[0].columns


def test_epw_missing_codes_become_nan_and_fail_validation(tmp_path):
    lines = CSWD.read_text().splitlines()
    fields = lines[8 + 100].split(",")
    fields[13] = "9999"  # global horizontal radiation: missing
    lines[8 + 100] = ",".join(fields)
    bad = tmp_path / "missing.epw"
    bad.write_text("\n".join(lines) + "\n")
    df, _ = read_epw(bad)
    assert np.isnan(df["ghi"].iloc[100])
    with pytest.raises(SchemaError, match=r"NaN in column\(s\) \['ghi'\].*2005-01-05 04:00"):
        validate_weather(df)


def test_interval_middle_is_half_a_step_later(cswd):
    idx = cswd[0].index
    mid = interval_middle(idx)
    assert (mid - idx == pd.Timedelta("30min")).all()
    assert mid.tz == idx.tz


def test_read_tmy3_labels_interval_start_and_pa():
    df, meta = read_tmy3_csv(TMY3)
    raw, _ = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    assert len(df) == 8760
    assert df.index[0] == pd.Timestamp(f"{TYPICAL_YEAR}-01-01 00:00", tz="UTC-05:00")
    # pvlib labels the first record 01:00 (interval end); ours 00:00 (interval start)
    assert raw.index[0].hour == 1
    np.testing.assert_array_equal(df["ghi"].to_numpy(), raw["ghi"].to_numpy())
    assert df["pressure"].iloc[0] == pytest.approx(raw["pressure"].iloc[0] * 100.0)
    validate_weather(df)
    loc = location_from_meta(meta)
    assert loc.latitude == pytest.approx(36.1) and loc.longitude == pytest.approx(-79.95)


def test_location_from_meta(cswd):
    loc = location_from_meta(cswd[1])
    assert (loc.latitude, loc.longitude, loc.altitude) == (30.23, 120.17, 41.7)
    with pytest.raises(SchemaError, match="latitude/longitude/TZ"):
        location_from_meta({"city": "x"})


def test_unreadable_files_raise_source_error(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        read_epw(tmp_path / "nope.epw")
    junk = tmp_path / "junk.epw"
    junk.write_text("this is not a weather file\n")
    with pytest.raises(SourceError, match="not a readable EPW"):
        read_epw(junk)
    with pytest.raises(SourceError, match="not a readable TMY3"):
        read_tmy3_csv(junk)


# --- validation ---------------------------------------------------------------------------

def test_valid_weather_passes_unchanged(cswd):
    df = _good(cswd)
    out, repairs = validate_weather(df)
    assert out is df and repairs.empty


def test_wrong_length(cswd):
    with pytest.raises(SchemaError, match="8759 rows.*8760 or 8784"):
        validate_weather(_good(cswd).iloc[:-1])


def test_gap_in_index_names_timestamps(cswd):
    df = _good(cswd)
    idx = df.index.delete(10).append(pd.DatetimeIndex([df.index[-1] + pd.Timedelta("1h")]))
    df.index = idx
    with pytest.raises(SchemaError, match=r"not a regular hourly.*2005-01-01 09:00:00\+08:00 -> "
                       r"2005-01-01 11:00"):
        validate_weather(df)


def test_tz_naive_index(cswd):
    df = _good(cswd).tz_localize(None)
    with pytest.raises(SchemaError, match="timezone-naive.*tz_localize"):
        validate_weather(df)


def test_missing_column_and_not_datetime(cswd):
    with pytest.raises(SchemaError, match=r"weather: missing required column\(s\) dhi"):
        validate_weather(_good(cswd).drop(columns="dhi"))
    with pytest.raises(SchemaError, match="not a DatetimeIndex"):
        validate_weather(_good(cswd).reset_index(drop=True))


def test_negative_irradiance_and_dhi_above_ghi(cswd):
    df = _good(cswd)
    df.iloc[5, df.columns.get_loc("dni")] = -3.0
    with pytest.raises(SchemaError, match=r"'dni' is negative at 1 hour.*2005-01-01 05:00"):
        validate_weather(df)
    df = _good(cswd)
    noon = df.index[12]
    df.loc[noon, "dhi"] = df.loc[noon, "ghi"] + 5.0
    with pytest.raises(SchemaError, match=r"'dhi' exceeds 'ghi' at 1 hour.*2005-01-01 12:00"):
        validate_weather(df)


def test_repair_fixes_and_reports(cswd, caplog):
    df = _good(cswd)
    t_neg, t_dhi = df.index[3], df.index[12]
    df.loc[t_neg, "ghi"] = -2.0
    df.loc[t_dhi, "dhi"] = df.loc[t_dhi, "ghi"] + 7.0
    df.iloc[200:202, df.columns.get_loc("temp_air")] = np.nan  # 2-hour gap
    with pytest.warns(DataWarning, match="weather repaired"):
        out, repairs = validate_weather(df, repair=True)
    assert out.loc[t_neg, "ghi"] == 0.0
    assert out.loc[t_dhi, "dhi"] == out.loc[t_dhi, "ghi"]
    expect = np.linspace(df["temp_air"].iloc[199], df["temp_air"].iloc[202], 4)[1:3]
    np.testing.assert_allclose(out["temp_air"].iloc[200:202], expect)
    assert sorted(repairs["repair"].unique()) == ["cap_dhi_at_ghi", "clip_negative_to_0",
                                                  "interpolate_nan"]
    assert len(repairs) == 4
    row = repairs[repairs["repair"] == "clip_negative_to_0"].iloc[0]
    assert (row["time"], row["column"], row["value_before"], row["value_after"]) == (
        t_neg, "ghi", -2.0, 0.0)
    assert "weather repaired" in caplog.text
    assert df.loc[t_neg, "ghi"] == -2.0  # the input is not modified
    validate_weather(out)


def test_repair_leaves_long_gaps_and_large_negatives_as_errors(cswd):
    df = _good(cswd)
    df.iloc[300:300 + MAX_INTERPOLATED_GAP_H + 1, df.columns.get_loc("wind_speed")] = np.nan
    with pytest.raises(SchemaError, match=r"NaN in column\(s\) \['wind_speed'\] at 4 hour"):
        validate_weather(df, repair=True)
    df = _good(cswd)
    df.iloc[2, df.columns.get_loc("dhi")] = -50.0
    with pytest.raises(SchemaError, match="'dhi' is negative"):
        validate_weather(df, repair=True)


def test_a_tmy3_year_as_pvlib_reads_it_runs_through_the_public_api():
    """A TMY's months come from different years; the engine puts them onto one year (as
    pvlib's coerce_year does) instead of refusing the file."""
    from engines.pv.yield_ import simulate_facets

    raw, meta = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    assert len(set(raw.index.year)) > 1 and not raw.index.is_monotonic_increasing
    with pytest.raises(SchemaError, match="'pressure' is outside its physical range.*units"):
        validate_weather(raw)  # TMY3 pressure is in mbar; the engine takes pvlib's Pa
    raw["pressure"] = raw["pressure"] * 100.0
    checked, _ = validate_weather(raw)
    assert set(checked.index.year) == {TYPICAL_YEAR} and checked.index.is_monotonic_increasing
    loc = location_from_meta(meta)
    facets = pd.DataFrame({"surface_tilt": [20.0, 35.0], "surface_azimuth": [180.0, 135.0],
                           "pdc0_kw": [1.0, 2.0]})
    assert len(simulate_facets(facets, raw, loc)) == 2  # accepted as read
    checked.index = checked.index - pd.Timedelta(hours=1)  # TMY3 labels interval ends; the engine starts
    got = simulate_facets(facets, checked, loc)
    ours, _ = read_tmy3_csv(TMY3)
    want = simulate_facets(facets, ours, loc)
    # within 3 %: pvlib's raw frame keeps the file's albedo and pressure as they are, our reader
    # keeps albedo only where every value is valid and converts pressure to Pa
    np.testing.assert_allclose(got["specific_yield_kwh_per_kwp"], want["specific_yield_kwh_per_kwp"],
                               rtol=0.03)


@pytest.mark.parametrize("col,value,match", [
    ("ghi", 5000.0, r"'ghi' is outside its physical range 0 to 1500 W/m²"),
    ("wind_speed", 500.0, r"'wind_speed' is outside its physical range 0 to 75 m/s"),
    ("temp_air", 150.0, r"'temp_air' is outside its physical range -90 to 60 °C"),
])
def test_values_outside_their_physical_range_are_refused(cswd, col, value, match):
    w = _good(cswd)
    w.iloc[4000, w.columns.get_loc(col)] = value
    with pytest.raises(SchemaError, match=match):
        validate_weather(w)
    with pytest.raises(SchemaError, match=match):  # repairs never hide them
        validate_weather(w, repair=True)


def test_a_non_numeric_cell_names_its_row(cswd):
    w = _good(cswd)
    w["ghi"] = w["ghi"].astype(object)
    w.iloc[100, w.columns.get_loc("ghi")] = "n/a"
    want = r"'ghi' holds 1 value\(s\) that are not numbers, first: row 100 .*'n/a'"
    with pytest.raises(SchemaError, match=want):
        validate_weather(w)


def test_no_hint_names_an_option_the_cli_lacks(cswd):
    w = _good(cswd)
    w.iloc[10:20, w.columns.get_loc("ghi")] = np.nan
    with pytest.raises(SchemaError) as exc:
        validate_weather(w)
    assert "engines.pv.weather.validate_weather(weather, repair=True)" in str(exc.value)
