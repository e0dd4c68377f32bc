"""Trajectory arithmetic: installed = baseline + ledger cumulative; straight-line path; ahead/behind."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.trajectory import installed_by_year, planned_path, trajectory

_amounts = st.lists(st.tuples(st.integers(2015, 2030), st.floats(0, 1e4, allow_nan=False)), max_size=40)


def test_hangzhou_example_by_hand():
    # 1,340 MW in 2020 (seed 001:51) -> 4,800 MW in 2025 -> 6,500 MW in 2030: +692 MW/yr, then +340
    tr = trajectory(2020, 1340.0, [(2025, 4800.0), (2030, 6500.0)], [2021, 2021, 2023], [500, 200, 800], 2026)
    assert tr["path"].tolist() == pytest.approx([1340, 2032, 2724, 3416, 4108, 4800, 5140])
    assert tr["installed"].tolist() == pytest.approx([1340, 2040, 2040, 2840, 2840, 2840, 2840])
    assert tr["added"].tolist() == pytest.approx([0, 700, 0, 800, 0, 0, 0])
    assert tr.loc[tr["year"] == 2021, "ahead"].item() == pytest.approx(8.0)    # ahead by 8 MW
    assert tr.loc[tr["year"] == 2025, "ahead"].item() == pytest.approx(-1960.0)  # behind
    assert tr.loc[tr["year"] == 2025, "ahead_pct"].item() == pytest.approx(-1960 / 48)


def test_rows_up_to_the_baseline_year_are_inside_the_baseline():
    got = installed_by_year(2020, 100.0, [2019, 2020, 2021], [5.0, 7.0, 11.0], [2020, 2021])
    assert got.tolist() == [100.0, 111.0]


def test_no_baseline_or_no_target_gives_no_path():
    assert np.isnan(planned_path(2020, float("nan"), [(2025, 10.0)], [2021])).all()
    assert np.isnan(planned_path(2020, 5.0, [], [2021])).all()


@given(base=st.floats(0, 1e5), rows=_amounts, t25=st.floats(0, 1e5), t30=st.floats(0, 1e5))
def test_invariants(base, rows, t25, t30):
    years, values = ([r[0] for r in rows], [r[1] for r in rows])
    tr = trajectory(2020, base, [(2025, t25), (2030, t30)], years, values, 2030)
    inst = tr["installed"].to_numpy()
    # never decreases, starts at the baseline, ends at baseline + every addition after 2020
    assert (np.diff(inst) >= -1e-6 * max(1.0, inst.max())).all()
    assert inst[0] == pytest.approx(base)
    assert inst[-1] == pytest.approx(base + sum(v for y, v in rows if 2020 < y <= 2030), rel=1e-9, abs=1e-6)
    # the path passes through the baseline and each target
    path = tr.set_index("year")["path"]
    assert path[2020] == pytest.approx(base)
    assert path[2025] == pytest.approx(t25)
    assert path[2030] == pytest.approx(t30)
    # ahead = installed - path; a ">=" and a "<=" target see it with opposite signs
    assert np.allclose(tr["ahead"], inst - tr["path"])
    le = trajectory(2020, base, [(2025, t25), (2030, t30)], years, values, 2030, comparator="<=")
    assert np.allclose(le["ahead"], -tr["ahead"])


@given(base=st.floats(0, 1e4), t25=st.floats(0, 1e5), extra=st.floats(0.1, 1e3), year=st.integers(2021, 2030))
def test_building_on_the_path_is_on_track_and_one_more_project_is_ahead_by_its_size(base, t25, extra, year):
    step = (t25 - base) / 5.0
    on_path_years = list(range(2021, 2026))
    if step < 0:  # a falling path cannot be built: skip to the additive property
        on_path_years, step = [], 0.0
    tr = trajectory(2020, base, [(2025, t25)], on_path_years, [step] * len(on_path_years), 2025)
    if on_path_years:
        assert np.allclose(tr["ahead"], 0.0, atol=1e-6 * max(1.0, t25))
    steps = [step] * len(on_path_years)
    more = trajectory(2020, base, [(2025, t25)], [*on_path_years, year], [*steps, extra], 2030)
    less = trajectory(2020, base, [(2025, t25)], on_path_years, steps, 2030)
    diff = (more["ahead"] - less["ahead"]).to_numpy()
    yrs = more["year"].to_numpy()
    assert np.allclose(diff[yrs >= year], extra)
    assert np.allclose(diff[yrs < year], 0.0)
