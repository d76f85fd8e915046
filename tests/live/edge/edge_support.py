"""What the `edge` fixture yields: stack/edge.py's proxies, their URLs and the sign-in recorder.

`edge.url(proxy, shape)` (skips with the true reason when that proxy cannot run here), the CA file
for `verify=`, the basic-auth pair, the service-token headers, the key, and `edge.recorder`, which
reads what the sign-in page on 127.0.0.2 and the https->http target received.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stack_scripts import load_stack_script

ROOT = Path(__file__).resolve().parents[3]
PROXIES = ("nginx", "caddy")


def load_edge() -> ModuleType:
    """stack/edge.py as a module (it shares stack/run.py with the suite's conftest)."""
    return load_stack_script("edge")


@dataclass(frozen=True)
class Recorder:
    """The requests the sign-in page (127.0.0.2) and the https->http target (127.0.0.1) received."""

    path: str

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Each as {listener, host, method, path, headers: [[name, value]], body}, oldest first."""
        return list(load_edge().read_recorded(self.path))[since:]

    def mark(self) -> int:
        """How many so far: pass it to requests()/secrets_seen() to see only what came after."""
        return len(self.requests())

    def secrets_seen(self, secrets: Sequence[str], since: int = 0) -> list[str]:
        """Where any of `secrets` arrived since `since` (path, a header, the body); empty if nowhere."""
        found = []
        for request in self.requests(since):
            places = [("path", request["path"]), ("body", request["body"])]
            places += [(f"header {name}", value) for name, value in request["headers"]]
            for place, text in places:
                found += [
                    f"{request['listener']} {request['host']} {request['method']}: {place}"
                    for secret in secrets
                    if secret and secret in text
                ]
        return found


@dataclass(frozen=True)
class Edge:
    """The proxies' URLs by shape, and what a client needs to pass each of them."""

    state: Any  # stack/edge.py's EdgeState
    api_key: str
    openwebui_version: tuple[int, ...]  # of the server behind the proxies, e.g. (0, 12, 4)
    unavailable: dict[str, str] = field(default_factory=dict)  # proxy -> why it is not running

    def url(self, proxy: str, shape: str) -> str:
        if proxy in self.unavailable:
            pytest.skip(f"{proxy} cannot run here: {self.unavailable[proxy]}")
        return str(self.state.urls[proxy][shape])

    def version(self, proxy: str) -> str:
        return str(self.state.versions[proxy])

    @property
    def server_url(self) -> str:
        return str(self.state.server_url)

    @property
    def ca_file(self) -> str:
        return str(self.state.ca_file)

    def tls(self) -> ssl.SSLContext:
        """A client context trusting the private CA (httpx deprecates `verify=<path>`)."""
        return ssl.create_default_context(cafile=self.ca_file)

    @property
    def basic_auth(self) -> tuple[str, str]:
        user, password = self.state.basic_auth
        return str(user), str(password)

    @property
    def service_token(self) -> dict[str, str]:
        """The headers (CF-Access-Client-Id/-Secret) that pass the SSO gate."""
        return dict(self.state.service_token)

    @property
    def signin_url(self) -> str:
        return str(self.state.signin_url)

    @property
    def downgrade_url(self) -> str:
        return str(self.state.downgrade_url)

    @property
    def recorder(self) -> Recorder:
        return Recorder(str(self.state.recorded_file))
