"""Settings from arguments or the environment, checked and normalised before anything is sent."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from .errors import API_KEY, SERVER_URL, ConfigurationError

DEFAULT_TIMEOUT = 600.0  # a long answer from a slow model is normal; OpenAI's SDK uses the same
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2

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


def normalize_server_url(raw: str) -> str:
    """Reduce what a person pasted to the server root, keeping a deployment's sub-path.

    `chat.example.com/api/v1/` -> `https://chat.example.com`;
    `http://host:3000/ollama/v1/chat` -> `http://host:3000`; `https://host/webui/` -> `https://host/webui`.
    """
    text = raw.strip()
    if not text:
        raise ConfigurationError(
            "The server URL is empty",
            setting=SERVER_URL,
            hint="set OPENWEBUI_SERVER_URL to the address you open in the browser",
        )
    if any(ch.isspace() for ch in text):
        raise ConfigurationError(
            f"The server URL {text!r} contains whitespace",
            setting=SERVER_URL,
            hint="set OPENWEBUI_SERVER_URL to one URL such as https://chat.example.com",
        )
    if "://" not in text:
        host = (
            re.split(r"[/:?#]", text, maxsplit=1)[0]
            if not text.startswith("[")
            else text[: text.find("]") + 1]
        )
        text = f"{_default_scheme(host)}://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigurationError(
            f"The server URL {raw.strip()!r} has scheme {parts.scheme!r}",
            setting=SERVER_URL,
            hint="use an http:// or https:// URL in OPENWEBUI_SERVER_URL",
        )
    try:
        host = parts.hostname
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ConfigurationError(
            f"The server URL {raw.strip()!r} is malformed: {exc}",
            setting=SERVER_URL,
            hint="write it as https://host[:port][/sub-path]",
        ) from exc
    if not host:
        raise ConfigurationError(
            f"The server URL {raw.strip()!r} has no host",
            setting=SERVER_URL,
            hint="write it as https://host[:port][/sub-path]",
        )
    segments = [s for s in parts.path.split("/") if s]
    stripped = True
    while stripped and segments:
        stripped = False
        lowered = tuple(s.lower() for s in segments)
        for tail in _API_TAILS:
            if len(tail) <= len(lowered) and lowered[-len(tail) :] == tail:
                segments = segments[: -len(tail)]
                stripped = True
                break
    path = "/" + "/".join(segments) if segments else ""
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def check_api_key(key: str) -> str:
    """Strip a pasted key's surrounding whitespace; refuse one with whitespace inside."""
    stripped = key.strip()
    if stripped.lower().startswith("bearer "):
        stripped = stripped[7:].strip()
    if not stripped:
        raise ConfigurationError(
            "The API key is empty",
            setting=API_KEY,
            hint="set OPENWEBUI_API_KEY to a key from Settings > Account > API keys",
        )
    if any(ch.isspace() for ch in stripped) or not stripped.isprintable():
        raise ConfigurationError(
            "The API key contains whitespace or control characters",
            setting=API_KEY,
            hint="copy the key again (Settings > Account > API keys) into OPENWEBUI_API_KEY",
        )
    return stripped


@dataclass(frozen=True)
class Settings:
    """Where and how to reach one Open WebUI server. Equal settings share one connection pool."""

    server_url: str
    api_key: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    verify: bool | str = True
    headers: tuple[tuple[str, str], ...] = ()

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
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
        headers: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Settings from the arguments, falling back to `OPENWEBUI_SERVER_URL` / `OPENWEBUI_API_KEY`."""
        env = os.environ if environ is None else environ
        url = server_url if server_url is not None else env.get(SERVER_URL)
        if url is None or not url.strip():
            raise ConfigurationError(
                "No Open WebUI server URL was given",
                setting=SERVER_URL,
                hint="set OPENWEBUI_SERVER_URL (the address you open in the browser) or pass it",
            )
        key = api_key if api_key is not None else env.get(API_KEY)
        if key is None or not key.strip():
            # Example programs read API_KEY; never send an unrelated variable, but say how to use it.
            hint = "set OPENWEBUI_API_KEY to a key from Settings > Account > API keys, or pass it"
            if env.get("API_KEY"):
                hint = (
                    "API_KEY is set but is not read: if it holds your Open WebUI key, "
                    'export OPENWEBUI_API_KEY="$API_KEY" or pass api_key='
                )
            raise ConfigurationError("No Open WebUI API key was given", setting=API_KEY, hint=hint)
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if value is not None and not value > 0:
                raise ConfigurationError(
                    f"{name} must be a positive number of seconds, not {value!r}",
                    setting=name,
                    hint=f"pass {name}= as seconds > 0",
                )
        if max_retries is not None and max_retries < 0:
            raise ConfigurationError(
                f"max_retries must be 0 or more, not {max_retries!r}",
                setting="max_retries",
                hint="pass max_retries=0 to disable retries",
            )
        read_timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if connect_timeout is None:
            # A caller who set only `timeout` (all most adapters expose) expects it to bound
            # connecting too: a 0.5 s timeout must not wait 10 s for a host that never answers.
            connect_timeout = min(DEFAULT_CONNECT_TIMEOUT, read_timeout)
        return cls(
            server_url=normalize_server_url(url),
            api_key=check_api_key(key),
            timeout=read_timeout,
            connect_timeout=float(connect_timeout),
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries),
            verify=True if verify is None else verify,
            headers=tuple(sorted((headers or {}).items())),
        )
