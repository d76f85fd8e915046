"""A real nginx and a real Caddy in front of the live Open WebUI (stack/edge.py), for one session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from edge_support import PROXIES, Edge, load_edge


@pytest.fixture(scope="session")
def edge(owui_target: Any) -> Iterator[Edge]:
    """nginx and Caddy in front of the session's Open WebUI; stopped when the session ends.

    Installs them first where apt-get works as root; skips (saying why) when neither can run.
    """
    module = load_edge()
    unavailable = module.install(log=print)
    proxies = tuple(proxy for proxy in PROXIES if proxy not in unavailable)
    if not proxies:
        pytest.skip("; ".join(f"{proxy}: {why}" for proxy, why in unavailable.items()))
    version = httpx.get(f"{owui_target.server_url}/api/version").json()["version"]
    with module.running_edge(owui_target.server_url, proxies, log=print) as state:
        yield Edge(
            state=state,
            api_key=owui_target.api_key,
            openwebui_version=tuple(int(part) for part in version.split(".")[:3]),
            unavailable=unavailable,
        )
