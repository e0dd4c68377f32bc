"""`twin validate`: checks as data, verdicts at the edges of their bands, the command on a demo twin."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engines import validation as v
from twin.config import load_city
from twin.errors import ConfigError


def _inputs(city="huzhou", **layers):
    checks = [c for c in v.read_checks() if city in c.cities]
    return v.ValidationInputs(load_city(city), checks, {}, layers)


def test_shipped_checks_are_valid_and_cite_a_source():
    checks = v.read_checks()
    assert len(checks) >= 10
    for c in checks:
        assert c.source and c.kind in v.CHECK_KINDS and set(c.cities) <= {"hangzhou", "huzhou"}
    kinds = {c.kind for c in checks}
    assert {"config_baseline", "sink_indicator", "roof_specific_yield", "water_capacity_density",
            "wind_full_load_hours"} <= kinds


def test_bad_check_files_are_named(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[[checks]]\nid = "a"\ncities = ["huzhou"]\nquantity = "q"\nkind = "guess"\nunit = "h"\n'
                 'source = "s"\nreference_value = 1.0\ntolerance_pct = 5.0\n')
    with pytest.raises(ConfigError, match="kind 'guess' is not one of"):
        v.read_checks(f)
    f.write_text('[[checks]]\nid = "a"\ncities = ["huzhou"]\nquantity = "q"\nkind = "wind_full_load_hours"\n'
                 'unit = "h"\nsource = "s"\nreference_value = 1.0\n')
    with pytest.raises(ConfigError, match="reference_value with tolerance_pct"):
        v.read_checks(f)
    one = ('[[checks]]\nid = "a"\ncities = ["huzhou"]\nquantity = "q"\nkind = "wind_full_load_hours"\n'
           'unit = "h"\nsource = "s"\nreference_low = 1.0\nreference_high = 2.0\n')
    f.write_text(one + one)
    with pytest.raises(ConfigError, match="duplicate check ids"):
        v.read_checks(f)


def test_nothing_computed_is_never_a_pass():
    table = v.compute(_inputs()).tables["validation"]
    assert list(table.columns) == v.COLUMNS
    engine_rows = table.loc[~table["id"].str.endswith("baseline")]
    assert (engine_rows["verdict"] == "not_computed").all()
    assert engine_rows["note"].str.contains("run `twin ").all()


@pytest.mark.parametrize("flh,verdict", [(1299.0, "fail"), (1300.0, "pass"), (2000.0, "pass"),
                                         (2000.5, "fail"), (507.0, "fail")])
def test_wind_full_load_hours_band_edges(flh, verdict):
    sites = pd.DataFrame({"capacity_factor": [flh / 8760.0] * 3, "capacity_mw": [2.5, 2.5, 5.0],
                          "candidate_area": ["", "", ""], "is_synthetic": [True, True, False]})
    table = v.compute(_inputs(wind_sites=sites)).tables["validation"].set_index("id")
    row = table.loc["V-wind-full-load-hours"]
    assert row["verdict"] == verdict
    assert row["twin_value"] == pytest.approx(flh)
    assert row["synthetic_share"] == pytest.approx(2 / 3)


def test_draft_only_candidate_areas_do_not_count_for_wind():
    sites = pd.DataFrame({"capacity_factor": [0.2, 0.9], "capacity_mw": [2.5, 2.5],
                          "candidate_area": ["", "qiantang_mudflats"], "is_synthetic": [True, True]})
    table = v.compute(_inputs(wind_sites=sites)).tables["validation"].set_index("id")
    row = table.loc["V-wind-full-load-hours"]
    assert row["twin_value"] == pytest.approx(0.2 * 8760)


def test_roof_yield_uses_only_well_oriented_unshaded_facets():
    f = pd.DataFrame({"surface_tilt": [20.0, 20.0, 60.0, 20.0],
                      "surface_azimuth": [180.0, 90.0, 180.0, 180.0],
                      "shading_loss_fraction": [0.0, 0.0, 0.0, 0.3],
                      "specific_yield_kwh_per_kwp": [1100.0, 900.0, 800.0, 700.0], "pdc0_kw": [1.0] * 4,
                      "roof_area_m2": [10.0] * 4, "is_viable": [True] * 4, "is_synthetic": [False] * 4})
    row = v.compute(_inputs(pv_facets=f)).tables["validation"].set_index("id").loc["V-roof-specific-yield"]
    assert row["twin_value"] == 1100.0 and row["verdict"] == "pass" and row["synthetic_share"] == 0.0
    dens = v.compute(_inputs(pv_facets=f)).tables["validation"].set_index("id").loc["V-roof-capacity-density"]
    assert dens["twin_value"] == pytest.approx(100.0)  # 4 kW on 40 m2


def test_twin_validate_on_the_demo_twin(twin_copy, capsys):
    from shell.cli import main
    from shell.runners import run_engine
    from twin.store import TwinStore

    for city in ("hangzhou", "huzhou"):
        status = main(["validate", "--city", city, "--json"])
        doc = json.loads(capsys.readouterr().out)
        assert doc["city"] == city and status == 0  # nothing computed yet: no fail
        ids = {r["id"] for r in doc["checks"]}
        assert "V-wind-full-load-hours" in ids
        assert {r["verdict"] for r in doc["checks"]} <= {"pass", "not_computed"}
    run_engine("sinks", "hangzhou", home=twin_copy)
    status = main(["validate", "--city", "hangzhou", "--json"])
    doc = json.loads(capsys.readouterr().out)
    rows = {r["id"]: r for r in doc["checks"]}
    carbon = rows["V-forest-carbon-raster"]
    assert carbon["verdict"] in ("pass", "fail") and np.isfinite(carbon["twin_value"])
    assert carbon["synthetic_share"] == 0.0  # MODIS is real
    assert rows["V-forest-carbon-polygons"]["synthetic_share"] == 1.0  # demo land cover is generated
    assert status == (1 if any(r["verdict"] == "fail" for r in doc["checks"]) else 0)
    stored = TwinStore("hangzhou", twin_copy).table("validation")
    assert set(stored["id"]) == set(rows)
