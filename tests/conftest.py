"""Test modes, the server under test, and cassette settings shared by every suite.

One suite, three modes (see tests/README.md):
- replay (default): offline; `@pytest.mark.vcr` tests answer from cassettes/<suite>/.
- live: against a real Open WebUI (OPENWEBUI_SERVER_URL/OPENWEBUI_API_KEY, else the local stack);
  VCR is disabled and tests marked `live` run too.
- record: like live, but every vcr test rewrites its cassette (scrubbed on the way to disk).

The mode comes from `--owui-mode` or OPENWEBUI_TEST_MODE; without either, `--record-mode=<not none>`
means record and `--disable-recording` means live.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import vcr_support
from stack_scripts import load_stack_script

# LiteLLM fetches its price list at import unless told to use the copy it ships with; the suite
# is offline (nox sets this too, plain `pytest` needs it here).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# LiteLLM's own log handler prints every record at DEBUG and up (its LITELLM_LOG default) whenever
# a test lowers the root level to DEBUG (the fault matrix does, to check no record holds the key);
# its threads then print between the dots. The records still reach caplog.
os.environ.setdefault("LITELLM_LOG", "WARNING")
from offline_guard import OFFLINE_GUARD, OfflineGuard

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
MODES = ("replay", "live", "record")
MODE_ENV = "OPENWEBUI_TEST_MODE"
MODELS_ENV = "OPENWEBUI_TEST_MODELS"
MODE_KEY = pytest.StashKey[str]()

DEFAULT_MODELS = {
    "openai": "stub-gpt",
    "ollama": "stub-llama:latest",
    "custom": "team-assistant",
    "custom_name": "Team Assistant",
    "embed_openai": "stub-embed",
    "embed_ollama": "stub-embed-ollama:latest",
}


@dataclass(frozen=True)
class OWUISettings:
    """The server a test talks to, and the model names it has."""

    server_url: str
    api_key: str
    mode: str
    models: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))

    def __repr__(self) -> str:  # never print the key in a failure report
        return f"OWUISettings(server_url={self.server_url!r}, mode={self.mode!r})"


def load_stack() -> ModuleType:
    """stack/run.py as a module (it is a script beside the package, not part of it)."""
    return load_stack_script("run")


# --- mode --------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--owui-mode",
        choices=MODES,
        default=None,
        help=f"replay (default, cassettes), live (a real server), record (rewrite cassettes); "
        f"also from ${MODE_ENV}",
    )


def _choose_mode(config: pytest.Config) -> str:
    explicit = config.getoption("--owui-mode") or os.environ.get(MODE_ENV, "").strip()
    if explicit:
        if explicit not in MODES:
            raise pytest.UsageError(f"{MODE_ENV}={explicit!r}: choose one of {', '.join(MODES)}")
        return str(explicit)
    if config.getoption("--record-mode") not in (None, "none"):
        return "record"
    if config.getoption("--disable-recording"):
        return "live"
    return "replay"


def pytest_configure(config: pytest.Config) -> None:
    mode = _choose_mode(config)
    config.stash[MODE_KEY] = mode
    record_mode = config.getoption("--record-mode")
    if mode == "live":
        config.option.disable_recording = True
    elif mode == "record":
        if record_mode in (None, "none"):
            config.option.record_mode = "rewrite"
    elif record_mode not in (None, "none"):
        raise pytest.UsageError(f"--record-mode={record_mode} needs --owui-mode=record")
    if mode == "replay":
        guard = OfflineGuard()
        config.stash[OFFLINE_GUARD] = guard
        socket.getaddrinfo = guard.getaddrinfo  # type: ignore[assignment]


# --- offline means offline ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_internet(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a replay-mode test that tried to reach a host outside this machine."""
    guard = request.config.stash.get(OFFLINE_GUARD, None)
    if guard is None:
        yield
        return
    before = len(guard.attempts)
    yield
    reached = guard.attempts[before:]
    if reached:
        pytest.fail(f"the offline suite tried to reach {sorted(set(reached))}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"openwebui-adapters test mode: {config.stash[MODE_KEY]}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[MODE_KEY] == "live":
        return
    skip = pytest.mark.skip(
        reason="needs a real Open WebUI: run `nox -s live` (or pytest --owui-mode=live)"
    )
    for item in items:
        if item.get_closest_marker("live"):
            item.add_marker(skip)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("json_body", vcr_support.json_body_matcher)


# --- the server under test ---------------------------------------------------------------------


def _models() -> dict[str, str]:
    """Model names the suite uses; OPENWEBUI_TEST_MODELS (JSON) overrides them for another server."""
    override = os.environ.get(MODELS_ENV)
    return {**DEFAULT_MODELS, **(json.loads(override) if override else {})}


@pytest.fixture(scope="session")
def owui_mode(pytestconfig: pytest.Config) -> str:
    return pytestconfig.stash[MODE_KEY]


@pytest.fixture(scope="session")
def owui_target(owui_mode: str) -> Iterator[OWUISettings]:
    """Where the session's tests go: the placeholder in replay, else a real server.

    In live and record mode: OPENWEBUI_SERVER_URL/OPENWEBUI_API_KEY when set, else the stack in
    .stack/state.json, else a local stack started now and stopped when the session ends.
    """
    if owui_mode == "replay":
        yield OWUISettings(
            vcr_support.PLACEHOLDER_URL, vcr_support.PLACEHOLDER_KEY, owui_mode, _models()
        )
        return
    url, key = os.environ.get("OPENWEBUI_SERVER_URL"), os.environ.get("OPENWEBUI_API_KEY")
    if url and key:
        yield OWUISettings(url, key, owui_mode, _models())
        return
    with load_stack().running_stack() as state:
        yield OWUISettings(state.server_url, state.api_key, owui_mode, _models())


@pytest.fixture
def owui_settings(owui_target: OWUISettings, monkeypatch: pytest.MonkeyPatch) -> OWUISettings:
    """The server for this test, also exported as OPENWEBUI_SERVER_URL/OPENWEBUI_API_KEY."""
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", owui_target.server_url)
    monkeypatch.setenv("OPENWEBUI_API_KEY", owui_target.api_key)
    return owui_target


@pytest.fixture(autouse=True)
def _fresh_connections() -> None:
    """Forget pooled connections and model catalogs, so no test sees another's cache."""
    try:
        from openwebui_adapters._connection import reset_connections
    except ImportError:
        return
    reset_connections()


@pytest.fixture
def litellm_knows_no_openwebui_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """LiteLLM as in a new process: no `openwebui/` entry in its table, nothing asked of a server
    yet (`openwebui_adapters.litellm.lookup_facts`), so a test sees when facts are learned."""
    import litellm
    import litellm.utils

    from openwebui_adapters.litellm import _models, lookup_facts

    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    for key in [k for k in litellm.model_cost if k.lower().startswith("openwebui/")]:
        del litellm.model_cost[key]
    litellm.utils._invalidate_model_cost_lowercase_map()  # empties LiteLLM's lookup caches too
    monkeypatch.setattr(_models, "_registered", set())
    lookup_facts()
    yield
    lookup_facts()  # a test's own wait, or `wait=None`, ends with it


# --- cassettes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """cassettes/<suite>/: tests/replay/test_core.py -> cassettes/core/.

    A module may name its suite with `CASSETTE_SUITE = "..."` (to share one across files).
    """
    module = request.module
    suite = getattr(module, "CASSETTE_SUITE", None) or Path(module.__file__).stem.removeprefix(
        "test_"
    )
    return str(CASSETTES / suite)


@pytest.fixture
def vcr_config(owui_target: OWUISettings) -> dict[str, Any]:
    """Scrub what is recorded (keys, tokens, emails, cookies, the host) and match on JSON bodies."""
    return vcr_support.vcr_config(owui_target.server_url)
