"""The offline suite refuses to look up public hosts, so a hidden download cannot pass unseen."""

from __future__ import annotations

import socket

import pytest

from offline_guard import OFFLINE_GUARD


def test_a_public_host_fails_as_dns_would_and_is_recorded(request: pytest.FixtureRequest) -> None:
    guard = request.config.stash.get(OFFLINE_GUARD, None)
    if guard is None:
        pytest.skip("the guard runs in replay mode only (this run is live or record)")
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("openaipublic.blob.core.windows.net", 443)
    assert guard.attempts[-1] == "openaipublic.blob.core.windows.net"
    guard.attempts.pop()  # this test's own attempt is the point, not a failure


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "openwebui.test", "x.invalid"])
def test_loopback_and_reserved_names_pass(request: pytest.FixtureRequest, host: str) -> None:
    guard = request.config.stash.get(OFFLINE_GUARD, None)
    if guard is None:
        pytest.skip("the guard runs in replay mode only (this run is live or record)")
    assert guard.allowed(host)
