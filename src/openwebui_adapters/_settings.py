"""Settings from arguments or the environment, checked and normalised before anything is sent."""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypedDict
from urllib.parse import urlsplit, urlunsplit

import httpx

from ._pasted import (
    frontend_route_start,
    key_problem,
    mask_for_display,
    split_userinfo,
    strip_pasted,
)
from ._tls import CERT_ENV, VERIFY_ENV, Verify, check_verify
from .errors import API_KEY, API_KEY_HEADER, SERVER_URL, ConfigurationError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "LIBRARIES",
    "PROVIDER",
    "SETTINGS",
    "ConnectionOptions",
    "Setting",
    "Settings",
    "auth_headers",
    "check_api_key",
    "check_api_key_header",
    "normalize_server_url",
    "proxy_credentials",
    "resolve_verify",
    "setting_names",
]

PROVIDER: Final = "openwebui"
"""The name every library knows Open WebUI by (LiteLLM's prefix, LangChain's `model_provider`)."""
DEFAULT_TIMEOUT = 600.0  # a long answer from a slow model is normal; OpenAI's SDK uses the same
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# API paths people paste after the server root; each is removed from the end of the URL path.
_API_TAILS: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(path.split("/"))
            for path in (
                "api/v1/chat/completions",
                "api/chat/completions",
                "api/v1/models",
                "api/models",
                "api/v1/embeddings",
                "api/embeddings",
                "api/v1",
                "api",
                "ollama/v1/chat/completions",
                "ollama/v1/chat",
                "ollama/v1/models",
                "ollama/v1/embeddings",
                "ollama/v1",
                "ollama/api/chat",
                "ollama/api/generate",
                "ollama/api/tags",
                "ollama/api/embed",
                "ollama/api",
                "ollama",
                "openai/chat/completions",
                "openai/models",
                "openai/v1",
                "openai",
                "v1/chat/completions",
                "v1/models",
                "v1",
                "chat/completions",
                "models",
            )
        ),
        key=len,
        reverse=True,
    )
)


def _default_scheme(host: str) -> str:
    """http for loopback and IP literals (usually a LAN server), https for names."""
    if host in ("localhost",) or host.endswith(".localhost"):
        return "http"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "https"
    return "http"


def normalize_server_url(raw: str, names: Mapping[str, str] | None = None) -> str:
    """Reduce what a person pasted to the server root, keeping a deployment's sub-path.

    `chat.example.com/api/v1/` -> `https://chat.example.com`;
    `http://host:3000/ollama/v1/chat` -> `http://host:3000`; `https://host/webui/` -> `https://host/webui`;
    the browser's address on a page (`https://host/webui/c/<chat id>`) -> `https://host/webui`.
    Credentials before the host are dropped here (`Settings.resolve` takes them apart first) and
    never quoted in a message.
    """
    text, _ = split_userinfo(strip_pasted(raw))
    shown = mask_for_display(text)
    if not text:
        raise ConfigurationError(
            "The server URL is empty",
            setting="server_url",
            hint="set {server_url} to the address you open in the browser",
            names=names,
        )
    if any(ch.isspace() for ch in text) or not text.isprintable():
        raise ConfigurationError(
            f"The server URL {shown!r} contains whitespace or control characters",
            setting="server_url",
            hint="set {server_url} to one URL such as https://chat.example.com",
            names=names,
        )
    if "@" in text:
        raise ConfigurationError(
            f"The server URL {shown!r} has an @ after the host",
            setting="server_url",
            hint="if it holds user:password@ with a / ? or # in the password, percent-encode "
            "those (%2F %3F %23)",
            names=names,
        )
    if "://" not in text:
        host = (
            re.split(r"[/:?#]", text, maxsplit=1)[0]
            if not text.startswith("[")
            else text[: text.find("]") + 1]
        )
        text = f"{_default_scheme(host)}://{text}"
    malformed = ConfigurationError(
        f"The server URL {shown!r} is malformed",
        setting="server_url",
        hint="write it as https://host[:port][/sub-path]",
        names=names,
    )
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as exc:
        raise malformed from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigurationError(
            f"The server URL {shown!r} has scheme {parts.scheme!r}",
            setting="server_url",
            hint="use an http:// or https:// URL in {server_url}",
            names=names,
        )
    if not host:
        raise ConfigurationError(
            f"The server URL {shown!r} has no host",
            setting="server_url",
            hint="write it as https://host[:port][/sub-path]",
            names=names,
        )
    segments = [s for s in parts.path.split("/") if s]
    stripped = True
    while stripped and segments:
        stripped = False
        page = frontend_route_start(segments)
        if page is not None:
            segments, stripped = segments[:page], True
            continue
        lowered = tuple(s.lower() for s in segments)
        for tail in _API_TAILS:
            if len(tail) <= len(lowered) and lowered[-len(tail) :] == tail:
                segments = segments[: -len(tail)]
                stripped = True
                break
    path = "/" + "/".join(segments) if segments else ""
    url = urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))
    try:
        httpx.URL(url)  # what httpx cannot send (a bad IDNA host...) is a setting error now
    except (httpx.InvalidURL, ValueError) as exc:
        raise malformed from exc
    return url


def check_api_key(key: str, names: Mapping[str, str] | None = None) -> str:
    """The key without what a copy picked up around it (quotes, spaces, zero-width characters,
    a `Bearer ` prefix); a ConfigurationError that never quotes it if it still cannot be a key."""
    stripped = strip_pasted(key)
    if stripped[:6].lower() == "bearer" and strip_pasted(stripped[6:]) != stripped[6:]:
        stripped = strip_pasted(stripped[6:])
    if not stripped:
        raise ConfigurationError(
            "The API key is empty",
            setting="api_key",
            hint="set {api_key} to a key from Settings > Account > API keys",
            names=names,
        )
    problem = key_problem(stripped)
    if problem is not None:
        raise ConfigurationError(
            f"The API key in {{api_key}} {problem}",
            setting="api_key",
            hint="copy the key again (Settings > Account > API keys) into {api_key}",
            names=names,
        )
    return stripped


def check_api_key_header(name: str | None, names: Mapping[str, str] | None = None) -> str | None:
    """The header to carry the key in instead of `Authorization` (Open WebUI reads `x-api-key`,
    or what its CUSTOM_API_KEY_HEADER names), or None for `Authorization: Bearer`."""
    if name is None or not name.strip() or name.strip().lower() == "authorization":
        return None
    if not _HEADER_NAME.fullmatch(name.strip()):
        raise ConfigurationError(
            f"{{api_key_header}} {name.strip()!r} is not an HTTP header name",
            setting="api_key_header",
            hint="use the header Open WebUI's CUSTOM_API_KEY_HEADER names (default x-api-key)",
            names=names,
        )
    return name.strip()


def proxy_credentials(
    url: str, api_key_header: str | None, names: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """`user:password@` in the server URL, for a proxy's Basic auth; it needs the key elsewhere."""
    _, credentials = split_userinfo(strip_pasted(url))
    if credentials is not None and api_key_header is None:
        raise ConfigurationError(
            "The server URL carries a user name and password (shown here as ***@), which would "
            "be sent as the Authorization header in place of the Open WebUI API key",
            setting="server_url",
            hint=f"for a proxy's Basic auth, also set {API_KEY_HEADER}=x-api-key (or pass "
            "{api_key_header}='x-api-key') so the key travels in that header, and have the proxy "
            "drop Authorization before Open WebUI; otherwise remove user:password@ from the URL",
            names=names,
        )
    return credentials


def auth_headers(settings: Settings) -> dict[str, str]:
    """The headers that carry the key (and a proxy's Basic credentials, if any)."""
    if settings.api_key_header is None:
        return {"Authorization": f"Bearer {settings.api_key}"}
    headers = {settings.api_key_header: settings.api_key}
    if settings.proxy_auth is not None:
        user, password = settings.proxy_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers


def resolve_verify(
    verify: Verify | None, env: Mapping[str, str], names: Mapping[str, str] | None = None
) -> tuple[Verify, tuple[tuple[str, str], ...]]:
    """`verify` (else `OPENWEBUI_VERIFY`, else True), checked, and the `SSL_CERT_*` values it uses."""
    setting = (names or {}).get("verify") or "verify"
    if verify is None:
        verify, setting = (env.get(VERIFY_ENV) or "").strip() or True, VERIFY_ENV
    check_verify(verify, setting)
    if verify is not True:
        return verify, ()
    cert_env = tuple((name, env[name]) for name in CERT_ENV if env.get(name))
    for name, value in cert_env:
        check_verify(value, name)
    return verify, cert_env


class ConnectionOptions(TypedDict, total=False):
    """The optional connection settings every entry point takes (see `SETTINGS`)."""

    timeout: float | None
    connect_timeout: float | None
    max_retries: int | None
    verify: Verify | None
    headers: Mapping[str, str] | None
    api_key_header: str | None


@dataclass(frozen=True)
class Setting:
    """One connection setting: the core's keyword, its environment variable, each library's name."""

    key: str
    env: str | None
    litellm: str
    langchain: str
    smolagents: str

    def name_in(self, library: str) -> str:
        """What `library` calls it ("core": the core's own keyword)."""
        return self.key if library == "core" else str(getattr(self, library))


LIBRARIES: Final = ("core", "litellm", "langchain", "smolagents")
SETTINGS: Final = (
    Setting("server_url", SERVER_URL, "api_base", "base_url", "api_base"),
    Setting("api_key", API_KEY, "api_key", "api_key", "api_key"),
    Setting("timeout", None, "timeout", "timeout", "timeout"),
    Setting("connect_timeout", None, "timeout", "connect_timeout", "connect_timeout"),
    Setting("max_retries", None, "max_retries", "max_retries", "max_retries"),
    Setting("verify", VERIFY_ENV, "ssl_verify", "verify", "verify"),
    Setting("headers", None, "extra_headers", "default_headers", "headers"),
    Setting("api_key_header", API_KEY_HEADER, "api_key_header", "api_key_header", "api_key_header"),
)
"""Every connection setting once: each library keeps its own names, mapped here (LiteLLM's
`timeout` may be an `httpx.Timeout` whose `connect` is the connect timeout)."""

_REQUIRED: Final = frozenset({"server_url", "api_key"})
# A call's own parameters that messages name, where a library calls them otherwise.
_CALL_NAMES: Final[Mapping[str, Mapping[str, str]]] = {"smolagents": {"model": "model_id"}}


def _argument(key: str, library: str) -> str:
    """The keyword argument that gives setting `key` in `library`."""
    return f"{next(spec for spec in SETTINGS if spec.key == key).name_in(library)}="


def setting_names(
    library: str, given: Mapping[str, object], environ: Mapping[str, str]
) -> dict[str, str]:
    """How the user gave each setting, so an error names what to change where it is set: the
    library's name when passed, the environment variable when read from it (and, when not set
    at all, the variable for the URL and the key, which are always set, else the library's
    name)."""
    names = dict(_CALL_NAMES.get(library, {}))
    for spec in SETTINGS:
        passed = given.get(spec.key) is not None
        read = spec.env is not None and (bool(environ.get(spec.env)) or spec.key in _REQUIRED)
        names[spec.key] = spec.env if spec.env and read and not passed else spec.name_in(library)
    return names


@dataclass(frozen=True)
class Settings:
    """Where and how to reach one Open WebUI server.

    Only `pool_key` (server, credentials, TLS) chooses the shared connection pool; headers,
    timeouts and retries travel with each request, so they may differ on every call. `names`
    records how each setting was given, for messages.
    """

    server_url: str
    api_key: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    verify: Verify = True
    headers: tuple[tuple[str, str], ...] = ()
    api_key_header: str | None = None  # None: `Authorization: Bearer <key>`
    proxy_auth: tuple[str, str] | None = field(default=None, repr=False)
    cert_env: tuple[tuple[str, str], ...] = ()  # SSL_CERT_FILE / SSL_CERT_DIR when verify is True
    names: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def pool_key(self) -> tuple[object, ...]:
        """What a pool depends on: the server, the credentials (the catalog is per user), TLS."""
        return (
            self.server_url,
            self.api_key,
            self.api_key_header,
            self.proxy_auth,
            self.verify,
            self.cert_env,
        )

    def __repr__(self) -> str:
        return (
            f"Settings(server_url={self.server_url!r}, api_key='***', timeout={self.timeout}, "
            f"connect_timeout={self.connect_timeout}, max_retries={self.max_retries}, "
            f"verify={self.verify!r})"
        )

    @classmethod
    def resolve(
        cls,
        server_url: str | None = None,
        api_key: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        library: str = "core",
        **options: Unpack[ConnectionOptions],
    ) -> Settings:
        """Settings from the arguments, else the environment (`OPENWEBUI_SERVER_URL`,
        `OPENWEBUI_API_KEY`, `OPENWEBUI_API_KEY_HEADER`, `OPENWEBUI_VERIFY`); `library` says
        whose names the arguments were given by (for messages)."""
        env = os.environ if environ is None else environ
        names = setting_names(
            library, {"server_url": server_url, "api_key": api_key, **options}, env
        )
        url = server_url if server_url is not None else env.get(SERVER_URL)
        if url is None or not url.strip():
            raise ConfigurationError(
                "No Open WebUI server URL was given",
                setting="server_url",
                hint=f"set {SERVER_URL} to the address you open in the browser, or pass "
                f"{_argument('server_url', library)}",
                names=names,
            )
        key = api_key if api_key is not None else env.get(API_KEY)
        if key is None or not key.strip():
            # Example programs read API_KEY; never send an unrelated variable, but say how to use it.
            hint = (
                f"set {API_KEY} to a key from Settings > Account > API keys, or pass "
                f"{_argument('api_key', library)}"
            )
            if env.get("API_KEY"):
                hint = (
                    "API_KEY is set but is not read: if it holds your Open WebUI key, "
                    f'export {API_KEY}="$API_KEY" or pass {_argument("api_key", library)}'
                )
            raise ConfigurationError(
                "No Open WebUI API key was given", setting="api_key", hint=hint, names=names
            )
        timeout, connect_timeout = options.get("timeout"), options.get("connect_timeout")
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if value is not None and not value > 0:
                raise ConfigurationError(
                    f"{name} must be a positive number of seconds, not {value!r}",
                    setting=name,
                    hint=f"pass {{{name}}} as seconds > 0",
                    names=names,
                )
        max_retries = options.get("max_retries")
        if max_retries is not None and max_retries < 0:
            raise ConfigurationError(
                f"max_retries must be 0 or more, not {max_retries!r}",
                setting="max_retries",
                hint="pass {max_retries}=0 to disable retries",
                names=names,
            )
        read_timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if connect_timeout is None:
            # A caller who set only `timeout` (all most adapters expose) expects it to bound
            # connecting too: a 0.5 s timeout must not wait 10 s for a host that never answers.
            connect_timeout = min(DEFAULT_CONNECT_TIMEOUT, read_timeout)
        header = options.get("api_key_header")
        key_header = check_api_key_header(
            header if header is not None else env.get(API_KEY_HEADER), names
        )
        verify, cert_env = resolve_verify(options.get("verify"), env, names)
        return cls(
            server_url=normalize_server_url(url, names),
            api_key=check_api_key(key, names),
            timeout=read_timeout,
            # Connecting is part of the call: it never waits longer than the call may.
            connect_timeout=min(float(connect_timeout), read_timeout),
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries),
            verify=verify,
            headers=tuple(sorted((options.get("headers") or {}).items())),
            api_key_header=key_header,
            proxy_auth=proxy_credentials(url, key_header, names),
            cert_env=cert_env,
            names=names,
        )
