"""The indicator catalogue: units, and the engines each metric names really compute it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engines.registry import ENGINES
from twin.metrics import ENGINE_NAMES, METRICS, Metric, _metric


def test_engine_names_are_the_registry():
    assert set(ENGINE_NAMES) == set(ENGINES)


def _engine_sources(name: str) -> str:
    folder = Path(sys.modules[ENGINES[name].compute.__module__].__file__).parent
    return "\n".join(p.read_text("utf-8") for p in sorted(folder.glob("*.py")))


@pytest.mark.parametrize("metric", [m for m in METRICS.values() if m.engines],
                         ids=lambda m: m.name)
def test_each_named_engine_handles_the_metric(metric: Metric):
    for engine in metric.engines:
        assert f'"{metric.name}"' in _engine_sources(engine), (metric.name, engine)


def test_a_metric_no_engine_mentions_names_no_engine():
    # a metric no engine mentions cannot claim one; a metric every engine ignores has ()
    for m in METRICS.values():
        if not any(f'"{m.name}"' in _engine_sources(e) for e in ENGINES):
            assert m.engines == (), m.name


def test_bad_metric_declarations():
    with pytest.raises(ValueError, match="unknown engines"):
        _metric("x_pct", "pct", "x", "solar")
    with pytest.raises(ValueError, match="must end in"):
        _metric("x_count", "pct", "x")
    assert _metric("x_pct", "pct", "x", "sinks").engines == ("sinks",)
