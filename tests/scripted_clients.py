"""Core clients built by an adapter, routed to a scripted transport (for the adapters' tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient, Settings


def route_litellm_clients(
    monkeypatch: pytest.MonkeyPatch,
    transport: Callable[[], httpx.BaseTransport | httpx.AsyncBaseTransport],
    built: list[OpenWebUIClient] | None = None,
) -> None:
    """Every client the LiteLLM handler builds sends through `transport()` (its settings kept)."""
    import openwebui_adapters.litellm._calls as calls

    class Scripted:
        @staticmethod
        def from_settings(settings: Settings, **_: Any) -> OpenWebUIClient:
            client = OpenWebUIClient.from_settings(settings, transport=transport())
            if built is not None:
                built.append(client)
            return client

    monkeypatch.setattr(calls, "OpenWebUIClient", Scripted)
