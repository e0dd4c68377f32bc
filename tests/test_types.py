"""The type check: mypy over the kernel (``twin``) and the engines, as configured in pyproject.toml."""

from __future__ import annotations

import tomllib

import pytest

from tests.conftest import REPO


def _mypy_config() -> dict:
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["tool"]["mypy"]


def test_kernel_and_engines_must_annotate_every_function():
    cfg = _mypy_config()
    assert set(cfg["files"]) >= {"twin", "engines"}
    strict = [o for o in cfg.get("overrides", []) if o.get("disallow_untyped_defs")]
    modules = {m for o in strict for m in ([o["module"]] if isinstance(o["module"], str) else o["module"])}
    assert {"twin.*", "engines.*"} <= modules
    assert all(o.get("disallow_incomplete_defs") for o in strict)


@pytest.mark.slow
def test_mypy_passes(monkeypatch):
    from mypy import api

    monkeypatch.chdir(REPO)
    stdout, stderr, status = api.run(["--config-file", str(REPO / "pyproject.toml")])
    assert status == 0, f"mypy found problems (exit {status}):\n{stdout}{stderr}"
