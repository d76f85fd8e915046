"""The tested Open WebUI range is one fact: the stack, CI and the package say the same."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from openwebui_adapters._server_versions import NEWEST_TESTED, OLDEST_TESTED

ROOT = Path(__file__).resolve().parents[3]


def test_the_stack_starts_the_newest_tested_release_by_default() -> None:
    spec = importlib.util.spec_from_file_location("stack_run_for_range", ROOT / "stack" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        assert module.DEFAULT_VERSION == NEWEST_TESTED
    finally:
        del sys.modules[spec.name]


def test_ci_runs_the_live_suite_on_the_oldest_tested_release() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"OPENWEBUI_STACK_VERSION={OLDEST_TESTED} python3 -m nox -s live" in ci


def test_the_compatibility_page_states_the_range() -> None:
    page = (ROOT / "docs" / "compatibility.md").read_text()
    assert f"{OLDEST_TESTED} to {NEWEST_TESTED}" in page
