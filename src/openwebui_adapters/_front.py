"""Who sent an HTTP answer: Open WebUI itself, or what stands in front of it (proxy, sign-in, CDN).

`identify` is pure: it reads the status, headers, body and URL of one answer and never does I/O.
The real answers it was written against are in tests/data/front/ (README.md there says where each
comes from).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Literal
from urllib.parse import SplitResult, parse_qs, urljoin, urlsplit

__all__ = ["Kind", "Responder", "identify"]

Kind = Literal["open_webui", "open_webui_page", "proxy", "sso", "cdn", "unknown"]


@dataclass(frozen=True)
class Responder:
    """Who answered, how we know (`evidence`, short enough for a message), and what it asks for."""

    kind: Kind
    name: str | None
    evidence: str
    sign_in_url: str | None = None  # scheme, host and path of a sign-in page: never its query
    realm: str | None = None  # of a WWW-Authenticate / Proxy-Authenticate challenge
    front: tuple[str, ...] = ()  # products the headers name, also on Open WebUI's own answers
    wants_https: bool = False  # the server speaks HTTPS on that port, or sends http:// to https://

    @property
    def in_front(self) -> str:
        """How a message names it: "Caddy in front of Open WebUI", or a proxy when unnamed."""
        return f"{self.name or 'A proxy'} in front of Open WebUI"


# Server / Via product tokens, lower-case prefix -> display name. uvicorn is Open WebUI's own server.
_PRODUCTS = {
    "caddy": "Caddy",
    "apache": "Apache",
    "envoy": "Envoy",
    "istio-envoy": "Envoy",
    "cloudflare": "Cloudflare",
    "awselb": "AWS load balancer",
    "squid": "Squid",
}
# A header whose presence alone names what relayed the answer.
_VENDOR_HEADERS = {
    "cf-ray": "Cloudflare",
    "x-envoy-upstream-service-time": "Envoy",
}
_CDNS = {"Cloudflare"}
# Sign-in hosts of identity providers (Cloudflare Access is known by its /cdn-cgi/access/ path).
_IDENTITY_HOSTS = {
    "login.microsoftonline.com": "Microsoft sign-in",  # work and school accounts (Entra ID)
    "login.live.com": "Microsoft sign-in",  # personal accounts
    "accounts.google.com": "Google sign-in",
}
_SIGN_IN_WORDS = ("login", "signin", "sign_in", "sign-in", "auth", "sso")  # auth: oauth2, authorize
# Body markers, each list in the order it is tried.
_PLAIN_HTTP_TO_TLS = (
    ("The plain HTTP request was sent to HTTPS port", "nginx"),
    ("speaking plain HTTP to an SSL-enabled server port", "Apache"),
    ("Client sent an HTTP request to an HTTPS server.", None),  # Go's: Caddy, Traefik, ...
)
_SIGN_IN_PAGES = (
    ('id="kc-form-login"', "Keycloak"),
    ("github.com/oauth2-proxy/oauth2-proxy", "oauth2-proxy"),
)
_ACCESS_DENIED = "You don't have permission to view this. Please contact your system"
_ERROR_PAGES = (  # when no header names the product (Server removed or overwritten)
    ("upstream connect error or disconnect/reset before headers", "Envoy"),
    ("<center>nginx", "nginx"),
    ("<address>Apache", "Apache"),
)
_OPEN_WEBUI_PAGE_MARKERS = ("<title>Open WebUI</title>", "/static/splash.png")
_HAPROXY_PAGE = re.compile(r"<html><body><h1>\d{3} ")
_TITLE = re.compile(r"<title>\s*([^<]{1,120}?)\s*</title>", re.IGNORECASE)
_REALM = re.compile(r'realm="?([^",]*)"?', re.IGNORECASE)


def identify(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    request_url: str,
    server_url: str | None = None,
) -> Responder:
    """Who sent this answer to `request_url` (the URL that answered, after any redirect followed).

    `server_url` is the configured Open WebUI: a page from another host is then known as foreign.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    front = _front(lowered)
    own = _open_webui(status, lowered, body, front)
    if own is not None:
        return own
    return replace(_foreign(status, lowered, body, request_url, server_url, front), front=front)


def _open_webui(
    status: int, headers: dict[str, str], body: str, front: tuple[str, ...]
) -> Responder | None:
    """Open WebUI's own answers: its web page, FastAPI's `{"detail": ...}`, its headers."""
    content_type = headers.get("content-type", "")
    if "html" in content_type and any(mark in body for mark in _OPEN_WEBUI_PAGE_MARKERS):
        return Responder(
            "open_webui_page", "Open WebUI", _title(body) or "its web page", front=front
        )
    detail = _json_detail(body)
    if detail is not None:
        return Responder("open_webui", "Open WebUI", detail, front=front)
    if "x-process-time" in headers:  # set by Open WebUI's middleware, passed on by every proxy
        return Responder("open_webui", "Open WebUI", "X-Process-Time header", front=front)
    if status == 500 and body == "Internal Server Error" and content_type.startswith("text/plain"):
        # Starlette's reply to an unhandled exception: no X-Process-Time, the middleware broke
        return Responder("open_webui", "Open WebUI", "plain 'Internal Server Error'", front=front)
    return None


def _foreign(
    status: int,
    headers: dict[str, str],
    body: str,
    request_url: str,
    server_url: str | None,
    front: tuple[str, ...],
) -> Responder:
    """An answer that is not Open WebUI's: which product, from the strongest sign to the weakest."""
    location = headers.get("location")
    if location and (300 <= status < 400 or status == 401):  # Authelia sends 401 + Location
        return _redirect(urljoin(request_url, location), request_url, front)
    for marker, product in _PLAIN_HTTP_TO_TLS:
        if marker in body:
            return Responder("proxy", product, marker, wants_https=True)
    for marker, product in _SIGN_IN_PAGES:
        if marker in body:
            return Responder("sso", product, marker, sign_in_url=_where(urlsplit(request_url)))
    if _ACCESS_DENIED in body:
        return Responder("sso", "Cloudflare Access", _quote(_ACCESS_DENIED + "..."))
    page = _sign_in_page(request_url, server_url)
    if page is not None:
        return page
    challenge = headers.get("proxy-authenticate") or headers.get("www-authenticate")
    if challenge:
        realm = _realm(challenge)
        named = front[0] if front else _error_page(body)[0]
        if named is None and realm == "traefik":  # Traefik's default realm; it sends no Server
            named = "Traefik"
        header = "Proxy-Authenticate" if "proxy-authenticate" in headers else "WWW-Authenticate"
        return Responder("proxy", named, f"{header}: {challenge}", realm=realm)
    if status in (401, 403) and body.strip() == "{}":
        return Responder(
            "sso", "oauth2-proxy", f"{status} with body {{}} (oauth2-proxy's API reply)"
        )
    if front:
        kind: Kind = "cdn" if front[0] in _CDNS else "proxy"
        return Responder(kind, front[0], _named_by(headers, front[0]))
    product, line = _error_page(body)
    if product is not None:
        return Responder("proxy", product, line)
    if _bare_status_text(status, body):
        return Responder("proxy", "Traefik", f"plain {body.strip()!r} and no Server header")
    if status >= 400 and body.strip() in ("", *(f"{status} {p}" for p in _phrases(status))):
        return Responder("proxy", None, f"{status} with body {body.strip()!r}")
    return Responder("unknown", None, f"{status} {headers.get('content-type', 'no content type')}")


def _error_page(body: str) -> tuple[str | None, str]:
    """The product whose error page this is, and the line that says so."""
    for marker, product in _ERROR_PAGES:
        if marker in body:
            return product, _quote(
                next(line for line in body.splitlines() if marker in line).strip()
            )
    if _HAPROXY_PAGE.match(body):
        return "HAProxy", body.splitlines()[0]
    return None, ""


def _redirect(target: str, request_url: str, front: tuple[str, ...]) -> Responder:
    """A redirect: to a sign-in page, to https://, or elsewhere."""
    to, source = urlsplit(target), urlsplit(request_url)
    where = _where(to)
    evidence = f"Location: {where}"
    if source.scheme == "http" and to.scheme == "https" and to.hostname == source.hostname:
        name = front[0] if front else None
        return Responder("proxy", name, evidence, wants_https=True)
    name = _sign_in_name(to.hostname or "", to.path, to.query)
    signing_in = any(word in to.path.lower() for word in _SIGN_IN_WORDS)
    moved = to.path == source.path  # the same route on another host: the server moved
    if name is not None or signing_in or (to.hostname != source.hostname and not moved):
        return Responder("sso", name, evidence, sign_in_url=where)
    return Responder("unknown", front[0] if front else None, evidence)


def _sign_in_name(host: str, path: str, query: str) -> str | None:
    """The sign-in product a URL belongs to, by host or path."""
    if host in _IDENTITY_HOSTS:
        return _IDENTITY_HOSTS[host]
    if path.startswith("/cdn-cgi/access/"):
        return "Cloudflare Access"
    if "/realms/" in path and ("/protocol/openid-connect/" in path or "/login-actions/" in path):
        return "Keycloak"
    if path.startswith("/oauth2/"):
        return "oauth2-proxy"
    arguments = parse_qs(query)
    if "rd" in arguments and "rm" in arguments:  # Authelia's portal: return URL and method
        return "Authelia"
    return None


def _sign_in_page(request_url: str, server_url: str | None) -> Responder | None:
    """A page reached by following a redirect: an identity provider's host, or another host."""
    url = urlsplit(request_url)
    where = _where(url)
    name = _sign_in_name(url.hostname or "", url.path, url.query)
    if name is not None:
        return Responder("sso", name, f"page at {where}", sign_in_url=where)
    if server_url is not None and urlsplit(server_url).hostname != url.hostname:
        return Responder("sso", None, f"page at {where}: not the server's host", sign_in_url=where)
    return None


def _front(headers: dict[str, str]) -> tuple[str, ...]:
    """Products named by Server, Via and vendor headers, in that order, without Open WebUI's own."""
    names: list[str] = []
    tokens = _tokens(headers.get("server", "")) + _via_products(headers.get("via", ""))
    for product in tokens:
        if product != "uvicorn":
            names.append(_product(product))
    names += [name for header, name in _VENDOR_HEADERS.items() if header in headers]
    return tuple(dict.fromkeys(names))


def _tokens(value: str) -> list[str]:
    """Product names of a Server header, lower-case, without versions (`nginx/1.22.1` -> `nginx`)."""
    return [
        part.strip().split("/")[0].split(" ")[0].lower()
        for part in value.split(",")
        if part.strip()
    ]


def _via_products(value: str) -> list[str]:
    """`1.1 vm (squid/5.7)` -> `squid`; `1.1 varnish` -> `varnish`."""
    products = []
    for hop in value.split(","):
        comment = re.search(r"\(([^)/ ]+)", hop)
        words = hop.split()
        if comment:
            products.append(comment.group(1).lower())
        elif len(words) >= 2:
            products.append(words[1].lower())
    return products


def _product(token: str) -> str:
    for prefix, name in _PRODUCTS.items():
        if token.startswith(prefix):
            return name
    return token


def _named_by(headers: dict[str, str], name: str) -> str:
    """The header that named `name`, for the evidence."""
    if any(_product(token) == name for token in _tokens(headers.get("server", ""))):
        return f"Server: {headers['server']}"
    for header, vendor in _VENDOR_HEADERS.items():
        if vendor == name and header in headers:
            return f"{header}: {headers[header]}"
    return f"Via: {headers.get('via', '')}"


def _json_detail(body: str) -> str | None:
    """`{"detail": ...}` as FastAPI sends it, shortened for a message; None for anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or "detail" not in data:
        return None
    return _quote(json.dumps({"detail": data["detail"]})[:100])


def _bare_status_text(status: int, body: str) -> bool:
    """Traefik's own replies: the reason phrase alone (`Bad Gateway`) or Go's `404 page not found`."""
    return body.strip() in (*_phrases(status), "404 page not found")


# The phrases RFC 7231 gave and RFC 9110 renamed (Python 3.13 has the new ones; servers and
# Go still send the old).
_OLD_PHRASES = {
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
}


def _phrases(status: int) -> tuple[str, ...]:
    """The reason phrases a server may send with `status`, old and new."""
    try:
        phrases = {HTTPStatus(status).phrase}
    except ValueError:
        phrases = set()
    if status in _OLD_PHRASES:
        phrases.add(_OLD_PHRASES[status])
    return tuple(sorted(phrases))


def _where(url: SplitResult) -> str:
    """Scheme, host and path: a URL without its query (state, tokens) and fragment."""
    return f"{url.scheme}://{url.netloc}{url.path}"


def _realm(challenge: str) -> str | None:
    found = _REALM.search(challenge)
    return found.group(1) if found else None


def _title(body: str) -> str | None:
    found = _TITLE.search(body)
    return f"<title>{found.group(1)}</title>" if found else None


def _quote(text: str) -> str:
    return text if len(text) <= 100 else text[:97] + "..."
