"""The replay suite's guard against reaching the internet (see `OfflineGuard`)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

# Reserved names (RFC 2606/6761) the tests use for hosts that must not resolve.
_RESERVED_SUFFIXES = (".invalid", ".test", ".example", ".localhost")
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", ""})


class OfflineGuard:
    """In replay mode, a lookup of any public host name fails as DNS would, and is remembered.

    Some LiteLLM releases download a tokenizer during a call and swallow the failure; the guard
    makes such a download fail every test that caused it, wherever the suite runs.
    """

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._getaddrinfo = socket.getaddrinfo

    def allowed(self, host: Any) -> bool:
        name = (host.decode() if isinstance(host, bytes) else str(host or "")).lower().rstrip(".")
        if name in _LOOPBACK_NAMES or name.endswith(_RESERVED_SUFFIXES):
            return True
        try:
            return ipaddress.ip_address(name.strip("[]")).is_loopback
        except ValueError:
            return False

    def getaddrinfo(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.allowed(host):
            self.attempts.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"offline test suite: no lookup of {host}")
        return self._getaddrinfo(host, *args, **kwargs)


OFFLINE_GUARD = pytest.StashKey[OfflineGuard]()
