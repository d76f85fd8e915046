"""Real answers (tests/data): Open WebUI 0.12.4's, copied from the reference, and in data/front/
those of what stands in front of it (proxies, sign-in gates, CDNs). The one loader of both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

DATA = Path(__file__).resolve().parent / "data"
_KEPT_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class Sample:
    """A recorded answer: status, the headers that matter to a client, body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/json")


def load_sample(name: str) -> Sample:
    """Sample `name`: `.body`, with `.status` (else 200) and `.headers` (else by its name)."""
    status_file = DATA / f"{name}.status"
    status = int(status_file.read_text().strip()) if status_file.exists() else 200
    headers: dict[str, str] = {}
    header_file = DATA / f"{name}.headers"
    if header_file.exists():
        for line in header_file.read_text().splitlines():
            key, colon, value = line.partition(":")
            if colon and key.strip().lower() in _KEPT_HEADERS:
                headers[key.strip().lower()] = value.strip()
    if "content-type" not in headers:
        headers["content-type"] = "text/event-stream" if "stream" in name else "application/json"
    return Sample(status, headers, (DATA / f"{name}.body").read_bytes())


def sample_text(name: str) -> str:
    return (DATA / f"{name}.body").read_text()


def sample_response(name: str) -> httpx.Response:
    """Sample `name` as the httpx response a client would have received."""
    sample = load_sample(name)
    return httpx.Response(sample.status, headers=sample.headers, content=sample.body)


FRONT = DATA / "front"


def front_sample(name: str) -> tuple[int, dict[str, str], bytes]:
    """Sample `name` of data/front/: status, every header as sent (repeated ones joined as httpx
    joins them) and the body's bytes."""
    status = int((FRONT / f"{name}.status").read_text().strip())
    headers: dict[str, str] = {}
    for line in (FRONT / f"{name}.headers").read_text().splitlines()[1:]:  # after the status line
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return status, headers, (FRONT / f"{name}.body").read_bytes()


def front_response(name: str) -> httpx.Response:
    """Sample `name` of data/front/ as the httpx response a client would have received (its
    length header dropped: httpx sets its own for the body it is given)."""
    status, headers, body = front_sample(name)
    # The bodies are stored decoded: their length and encoding headers are httpx's to set.
    dropped = ("content-length", "transfer-encoding", "content-encoding")
    kept = {k: v for k, v in headers.items() if k.lower() not in dropped}
    return httpx.Response(status, headers=kept, content=body)
