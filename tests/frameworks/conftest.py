"""Agent frameworks that call LiteLLM, against a real Open WebUI (`nox -s frameworks`).

Each test starts as a new process would: LiteLLM knows nothing of `openwebui/` models (what
earlier tests taught it is forgotten), nobody calls `register_models()`, and the framework is
used as its documentation shows. `provider_calls` records what reached the `openwebui/`
provider and what LiteLLM's table said about the model when each call began, so a test can
tell facts known before the first call from facts learned by it. Only this machine's names
resolve: a framework's telemetry or download fails the test that caused it (`nox -s frameworks`
turns each framework's telemetry and tracing off in the environment).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

from frameworks_support import FILE_TEXT, TOOL_CODE, TOOL_ID, ProviderCall, known

import openwebui_adapters.litellm as adapter
from offline_guard import OFFLINE_GUARD, OfflineGuard
from openwebui_adapters import OpenWebUIClient, UploadedFile


@pytest.fixture(scope="session", autouse=True)
def _loopback_only(request: pytest.FixtureRequest) -> Iterator[None]:
    """Name lookups beyond this machine fail and fail the test (the root `_no_internet` checks)."""
    if request.config.stash.get(OFFLINE_GUARD, None) is not None:
        yield  # replay mode installed it already
        return
    guard = OfflineGuard()
    request.config.stash[OFFLINE_GUARD] = guard
    socket.getaddrinfo = guard.getaddrinfo  # type: ignore[assignment]
    yield
    socket.getaddrinfo = guard._getaddrinfo  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _nothing_known_yet(litellm_knows_no_openwebui_model: None) -> None:
    """Each test starts as a new process would, LiteLLM knowing no `openwebui/` model."""


@pytest.fixture
def provider_calls(monkeypatch: pytest.MonkeyPatch) -> list[ProviderCall]:
    """Every call the provider's handler receives, in order."""
    calls: list[ProviderCall] = []

    def recording(original: Callable[..., Any]) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            model = kwargs["model"]
            calls.append(ProviderCall(model, dict(kwargs["optional_params"]), known(model)))
            return original(*args, **kwargs)

        return method

    for name in ("completion", "acompletion", "streaming", "astreaming"):
        monkeypatch.setattr(adapter.handler, name, recording(getattr(adapter.handler, name)))
    return calls


@pytest.fixture
def model(owui_settings: Any) -> str:
    """The Ollama model, whose `/api/show` says it calls tools (stack/upstream.py)."""
    return f"openwebui/{owui_settings.models['ollama']}"


@pytest.fixture
def weather_calls() -> list[str]:
    """The cities the tests' weather tool was asked about."""
    return []


@pytest.fixture
def get_weather(weather_calls: list[str]) -> Callable[[str], str]:
    """A plain function tool that records its calls (each framework wraps it its own way)."""

    def get_weather(city: str) -> str:
        """The weather in a city."""
        weather_calls.append(city)
        return f"sunny in {city}"

    return get_weather


@pytest.fixture(scope="session")
def server_tool(owui_target: Any) -> Iterator[str]:
    """A tool installed on the server (Open WebUI's own, reached with `tool_ids=`)."""
    headers = {"Authorization": f"Bearer {owui_target.api_key}"}
    with httpx.Client(base_url=owui_target.server_url, headers=headers, timeout=60) as raw:
        raw.delete(f"/api/v1/tools/id/{TOOL_ID}/delete")
        made = raw.post(
            "/api/v1/tools/create",
            json={"id": TOOL_ID, "name": "Office clock", "content": TOOL_CODE, "meta": {}},
        )
        made.raise_for_status()
        yield TOOL_ID
        raw.delete(f"/api/v1/tools/id/{TOOL_ID}/delete")


@pytest.fixture
def uploaded_file(owui_settings: Any) -> Iterator[UploadedFile]:
    """A processed file on the server whose only sentence is FILE_TEXT."""
    client = OpenWebUIClient()
    uploaded = client.upload_file(FILE_TEXT.encode(), filename=f"lyon-{uuid.uuid4().hex[:6]}.txt")
    yield uploaded
    client.delete_file(uploaded)
