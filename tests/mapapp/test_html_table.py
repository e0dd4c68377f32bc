"""Light HTML tables of the overview (``mapapp.pages._common.html_table``): escaped, translated, folded."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from mapapp.i18n import column
from mapapp.pages._common import html_table


def _cells(markup: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", markup, flags=re.DOTALL)


def test_headers_are_translated_and_numbers_formatted():
    df = pd.DataFrame({"year": [2020, 2021], "buildings": [1234567, 0], "gap": [12.5, np.nan]})
    out = html_table(df, "zh")
    assert all(f"<th>{html.escape(column(c, 'zh'))}</th>" in out for c in df.columns)
    assert _cells(out) == ["2020", "1,234,567", "12.5", "2021", "0", ""]  # years unseparated, NaN empty
    assert out.count('class="n"') == 5  # numbers right-aligned, the empty cell not
    assert "<details>" not in out


def test_a_summary_folds_the_table_closed():
    out = html_table(pd.DataFrame({"district": ["A"]}), "en", summary="By <district>")
    assert "<details><summary>By &lt;district&gt;</summary><table>" in out
    assert "<details open" not in out


@given(st.lists(st.text(max_size=12), min_size=1, max_size=5))
def test_every_text_cell_is_escaped(values):
    out = html_table(pd.DataFrame({"source": values}), "en")
    assert _cells(out) == [html.escape(v) for v in values]
