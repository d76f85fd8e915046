"""Who sent an HTTP answer: Open WebUI itself, or something in front of it (a first cut; the
real-sample version replaces it)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Responder", "front_of", "identify"]

_SIGN_IN_PATH = re.compile(r"/oauth2/|/sign_?in|/login|/realms/|/cdn-cgi/access/|/authorize", re.I)
_SERVERS = (
    ("nginx", "nginx"),
    ("caddy", "Caddy"),
    ("apache", "Apache"),
    ("cloudflare", "Cloudflare"),
    ("awselb", "AWS load balancer"),
    ("envoy", "Envoy"),
)


@dataclass(frozen=True)
class Responder:
    """Who sent an answer, and what gave it away."""

    kind: str
    name: str | None
    evidence: str
    sign_in_url: str | None = None
    realm: str | None = None


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _product(headers: Mapping[str, str]) -> str | None:
    server = _header(headers, "server").lower()
    return next((name for marker, name in _SERVERS if marker in server), None)


def identify(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    request_url: str,
    location: str | None = None,
) -> Responder:
    """Who sent this answer (see `Responder.kind`)."""
    product = _product(headers)
    if location:
        target = urlsplit(location)
        sent = urlsplit(request_url)
        if (_SIGN_IN_PATH.search(target.path) and target.netloc != sent.netloc) or (
            _SIGN_IN_PATH.search(target.path) and not sent.path.startswith(target.path)
        ):
            where = f"{target.scheme}://{target.netloc}{target.path}" if target.netloc else location
            return Responder("sso", None, f"Location: {where}", sign_in_url=where)
    challenge = _header(headers, "www-authenticate") or _header(headers, "proxy-authenticate")
    if status in (401, 407) and challenge.lower().startswith(("basic", "digest")):
        realm = re.search(r'realm="([^"]*)"', challenge)
        return Responder(
            "proxy", product, f"WWW-Authenticate: {challenge}", realm=realm[1] if realm else None
        )
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and "detail" in data:
        return Responder("open_webui", None, "a JSON detail")
    if "<title>Open WebUI</title>" in body or "Open WebUI" in body[:2000]:
        return Responder("open_webui_page", None, "the web UI's page")
    if product is not None:
        return Responder("proxy", product, f"Server: {_header(headers, 'server')}")
    return Responder("unknown", None, "")


def front_of(headers: Mapping[str, str]) -> str | None:
    """What the headers of Open WebUI's own answer say stands in front of it (`Server` other than
    uvicorn's, `Via`), or None when nothing shows."""
    server = _header(headers, "server")
    via = _header(headers, "via")
    seen = [f"Server: {server}"] if server and "uvicorn" not in server.lower() else []
    if via:
        seen.append(f"Via: {via}")
    return ", ".join(seen) or None
