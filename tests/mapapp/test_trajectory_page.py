"""The overview's progress over time on the demo twin: both languages, the synthetic flag, the numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mapapp.i18n import t
from mapapp.pages._trajectory import ledger_baseline, metric_trajectory
from tests.conftest import REPO
from twin.config import load_city
from twin.store import TwinStore

APP = str(REPO / "app.py")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_shows_the_trajectory_with_the_synthetic_flag(twin_env, lang):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(page="overview", city="hangzhou", lang=lang)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert t("traj.title", lang) in [s.value for s in at.subheader]
    flags = [w.value for w in at.warning if w.value.startswith(t("traj.synthetic", lang).split("：")[0][:4])]
    assert len(flags) == 2, [w.value for w in at.warning]  # PV/wind/storage and charging ledgers
    labels: dict[str, str] = {}
    for m in at.metric:  # the first section is PV capacity (the ledger metrics' order)
        labels.setdefault(m.label, m.value)
    installed = t("traj.synthetic_label", lang, label=t("traj.installed_in", lang, year=2025))
    assert installed in labels, labels
    vs = labels[t("traj.vs_path", lang, year=2025)]
    word = t("traj.ahead", lang, value="", unit="", pct="").split()[0]
    word_b = t("traj.behind", lang, value="", unit="", pct="").split()[0]
    assert vs.startswith((word, word_b)), vs


def test_the_page_figure_is_baseline_plus_ledger(twin_home):
    store = TwinStore("hangzhou", twin_home)
    pv = store.table("pv_installations")
    rows = pv.loc[pv["install_kind"].isin(["rooftop", "water", "ground"])]
    tg = load_city("hangzhou").targets_frame()
    tg = tg.loc[(tg["metric"] == "pv_capacity_mw") & tg["is_governing"] & tg["year"].notna()]
    assert ledger_baseline(tg, rows, "capacity_mw", 2020) == (2020, 1340.0, "reported")
    traj, origin = metric_trajectory(tg, rows, "capacity_mw", 2020)
    assert origin == "reported"
    by = traj.set_index("year")
    assert by.loc[2025, "installed"] == pytest.approx(1340.0 + rows["capacity_mw"].sum())
    assert by.loc[2025, "path"] == pytest.approx(4800.0)
    assert by.loc[2030, "path"] == pytest.approx(6500.0)
    assert pd.isna(by.loc[2030, "installed"])  # nothing is known after the ledger's last year


def test_without_baseline_the_ledger_total_to_the_base_year_is_used():
    tg = pd.DataFrame({"baseline_value": [pd.NA], "baseline_year": [pd.NA], "year": [2025], "value": [100.0]})
    rows = pd.DataFrame({"in_service_year": [2019, 2020, 2022], "capacity_mw": [10.0, 5.0, 30.0]})
    assert ledger_baseline(tg, rows, "capacity_mw", 2020) == (2020, 15.0, "ledger")
    traj, _ = metric_trajectory(tg, rows.iloc[2:], "capacity_mw", 2020)
    assert traj["path"].isna().all()  # no baseline at all: no path, no ahead/behind
