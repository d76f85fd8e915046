"""Fixtures for the fault matrix: the fault server, a canary key, recorded backoff, loopback only."""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import socket
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from server import FaultServer

# LiteLLM fetches its model price map from the internet at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No packet leaves 127.0.0.0/8: connects elsewhere fail the test, `.invalid` never resolves.

    A `.invalid` name is answered here with the resolver's own "Name or service not known"
    (RFC 6761 says resolvers must fail it), so the DNS row sends no query to the network.
    """
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address: Any) -> None:
        if isinstance(address, tuple):
            ip = ipaddress.ip_address(address[0])
            if not ip.is_loopback:
                raise AssertionError(f"the fault suite tried to reach {address[0]}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def _no_settings_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts: no server or key from the developer's environment."""
    for name in ("OPENWEBUI_SERVER_URL", "OPENWEBUI_API_KEY", "API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def canary() -> str:
    """A key that must never show up in a message, a log, a repr or a cassette."""
    return f"sk-canary{secrets.token_hex(12)}"


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@dataclass
class Backoff:
    """Every call of `sending.backoff_delay`: (attempt, retry_after, the delay it chose)."""

    calls: list[tuple[int, float | None, float]] = field(default_factory=list)
    scale: float = 0.0

    @property
    def delays(self) -> list[float]:
        return [delay for _, _, delay in self.calls]


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> Backoff:
    """Records the backoff the core chooses and sleeps `scale` times as long (0 by default)."""
    from openwebui_adapters import _sending as sending

    record = Backoff()
    real = sending.backoff_delay

    def recorded(attempt: int, retry_after: float | None = None) -> float:
        delay = real(attempt, retry_after)
        record.calls.append((attempt, retry_after, delay))
        return delay * record.scale

    monkeypatch.setattr(sending, "backoff_delay", recorded)
    return record


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that nobody signed (it is its own CA bundle), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="session")
def self_signed(self_signed_cert: tuple[Path, Path]) -> ssl.SSLContext:
    """A server TLS context with a certificate for 127.0.0.1 that nobody signed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed_cert)
    return context
