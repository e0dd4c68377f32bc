"""Land-cover change between two epochs that plan targets track: wetland no net loss.

Huzhou's plan manages the total wetland area by 占补平衡 (every wetland lost is made
good: seed 003, line 228), so the net change of the wetland area between two epochs
must not be negative (target K-Z2, metric ``wetland_area_change_mu``). The change is
taken from the same ledgers as the wetland rate and stock, so it uses the same
definition of wetland (:data:`engines.sinks.indicators.WETLAND_CLASSES`).
"""

from __future__ import annotations

import pandas as pd

from engines.sinks.indicators import WETLAND_CLASSES, ExtraRows
from engines.sinks.stocks import M2_PER_MU

__all__ = ["merge_extra", "wetland_change_rows"]

_NOTE = ("net change of the wetland area (wetland + water classes) between two land-cover "
         "epochs; 占补平衡 (no net loss) = >= 0")


def wetland_change_rows(now: pd.DataFrame, before: pd.DataFrame, city_code: str) -> ExtraRows:
    """Net change of the wetland area per city, district and township [mu].

    Parameters
    ----------
    now, before : DataFrame
        Ledgers of the later and the earlier epoch
        (:func:`engines.sinks.indicators.ledger_from_class_areas` or ``ledger_from_patches``):
        ``district_adcode``, ``township_code``, ``lc_class``, ``area_m2`` [m²].
    city_code : str
        The city's adcode (the key of the city row).

    Returns
    -------
    dict
        ``{(level, code): {"wetland_area_change_mu": (change, nan, nan, note, "epoch_difference")}}``;
        positive = wetland gained. A zone present in one epoch only counts as 0 in the other.
    """
    def wet(ledger: pd.DataFrame) -> pd.DataFrame:
        rows = ledger.loc[ledger["lc_class"].isin(WETLAND_CLASSES)]
        return rows[["district_adcode", "township_code", "area_m2"]]

    a, b = wet(now), wet(before)
    extra: ExtraRows = {}
    nan = float("nan")
    total = (float(a["area_m2"].sum()) - float(b["area_m2"].sum())) / M2_PER_MU
    extra[("city", city_code)] = {
        "wetland_area_change_mu": (total, nan, nan, _NOTE, "epoch_difference")}
    for level, key in (("district", "district_adcode"), ("township", "township_code")):
        ga, gb = a.groupby(key)["area_m2"].sum(), b.groupby(key)["area_m2"].sum()
        ga, gb = ga.align(gb, fill_value=0.0)
        for code, change in ((ga - gb) / M2_PER_MU).items():
            if code:
                extra.setdefault((level, str(code)), {})["wetland_area_change_mu"] = (
                    float(change), nan, nan, _NOTE, "epoch_difference")
    return extra


def merge_extra(*parts: ExtraRows | None) -> ExtraRows:
    """Extra indicator rows of several sources, merged per (level, code)."""
    out: ExtraRows = {}
    for part in parts:
        for key, rows in (part or {}).items():
            out.setdefault(key, {}).update(rows)
    return out
