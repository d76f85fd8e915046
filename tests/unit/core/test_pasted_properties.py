"""Property tests of URL and key normalisation: for any string, a normalised value or a
ConfigurationError; never another exception, never a dropped sub-path, never a shown secret."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import httpx
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from openwebui_adapters._pasted import strip_pasted
from openwebui_adapters._settings import Settings, check_api_key, normalize_server_url
from openwebui_adapters.errors import ConfigurationError

# Random on a developer's machine (to find new cases), the same examples on every CI run.
PROPERTY = settings(max_examples=400, deadline=None, derandomize=bool(os.environ.get("CI")))
T = TypeVar("T")


def attempt(call: Callable[[], T]) -> T | ConfigurationError:
    """What `call` returns, or the ConfigurationError it raises (any other exception fails)."""
    try:
        return call()
    except ConfigurationError as error:
        return error


# Words that are an API path or a web UI page at the end of a URL (stripped on purpose).
RESERVED = {
    "api", "v1", "ollama", "openai", "chat", "completions", "models", "embeddings", "generate",
    "tags", "embed", "c", "s", "workspace", "admin", "auth", "notes", "channels", "playground",
    "home", "docs", "error", "watch",
}  # fmt: skip

segment = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=12).filter(
    lambda s: s.lower() not in RESERVED and s not in (".", "..")
)
host = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9]{1,8}){0,2}", fullmatch=True)
port = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
scheme = st.sampled_from(["http://", "https://", "HTTPS://"])
pasted_tail = st.sampled_from(
    [
        "",
        "/",
        "/api",
        "/api/v1/",
        "/api/chat/completions",
        "/ollama/v1",
        "/c/6f1d2c9e",
        "/s/abc",
        "/workspace/models",
        "/admin/settings",
        "/auth",
        "/notes/n1",
        "/channels/x",
        "/docs",
        "/c/abc/api/v1",
        "?tab=1",
        "#frag",
    ]
)
secret = st.text(
    st.characters(blacklist_characters="@\\", blacklist_categories=("Cs",)),
    min_size=10,
    max_size=30,
).filter(lambda s: len(strip_pasted(s)) >= 10 and ":" not in s)
# Hypothesis also tries the string constants of the code under test ("server_url"...), which the
# output holds anyway; a prefix no message contains keeps the check about the secret alone.
secret = secret.map(lambda s: "pw~" + s)
user = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-_", min_size=1, max_size=10)


@PROPERTY
@given(st.text())
@example("http://[::1")
@example("https://host:99999")
@example("https://\u2100/")
@example("https://xn--/")
@example("\u201chttps://host/c/1\u201d")
def test_any_string_is_a_url_or_a_configuration_error(text: str) -> None:
    url = attempt(lambda: normalize_server_url(text))
    if isinstance(url, ConfigurationError):
        return
    parsed = httpx.URL(url)  # what came back, httpx can send
    assert parsed.scheme in ("http", "https")
    assert not parsed.query
    assert not parsed.fragment


@PROPERTY
@given(scheme, host, port, st.lists(segment, max_size=4), pasted_tail)
def test_a_sub_path_is_never_dropped(
    scheme: str, host: str, port: str, sub_path: list[str], tail: str
) -> None:
    origin = f"{scheme.lower()}{host}{port}"
    base = origin + "".join("/" + s for s in sub_path)
    assert normalize_server_url(base + tail) == base
    assert normalize_server_url(f"\u201c{base}{tail}\u201d\u00a0") == base


@PROPERTY
@given(st.one_of(scheme, st.just("")), user, secret, st.text(max_size=40))
@example("https://", "alice", "pr0xy-s3cret-pass", "owui.test/c/abc")
@example("https://", "alice", "123/s3cret-pass", "owui.test")
@example("https://", "alice", "12?s3cret-pass", "owui.test")
def test_credentials_in_a_url_are_never_shown(
    scheme: str, name: str, password: str, rest: str
) -> None:
    shown_secret = strip_pasted(password)
    assume(shown_secret not in rest)
    text = f"{scheme}{name}:{password}@{rest}"
    for header in (None, "x-api-key"):
        result = attempt(
            partial(Settings.resolve, text, "sk-key", api_key_header=header, environ={})
        )
        if isinstance(result, ConfigurationError):
            assert shown_secret not in str(result)
            assert shown_secret not in repr(result)
        else:
            assert shown_secret not in result.server_url
            assert shown_secret not in repr(result)


@PROPERTY
@given(st.text())
@example("\u201csk-abc\u201d")
@example("Bearer ")
@example("\u200b")
def test_any_string_is_a_key_or_a_configuration_error(text: str) -> None:
    key = attempt(lambda: check_api_key(text))
    if isinstance(key, ConfigurationError):
        assert key.setting == "OPENWEBUI_API_KEY"
        return
    assert key
    assert all("!" <= ch <= "~" for ch in key)  # safe in an HTTP header
    key.encode("ascii")


hex_part = st.text("0123456789abcdef", min_size=8, max_size=24)
bad_char = st.characters(
    blacklist_categories=("Cs",),
).filter(lambda ch: not ("!" <= ch <= "~"))


@PROPERTY
@given(hex_part, bad_char, hex_part, st.sampled_from(["", "\u201c", " ", "\u00a0", '"']))
def test_a_refused_key_is_never_quoted(head: str, bad: str, tail: str, wrap: str) -> None:
    closing = {"\u201c": "\u201d"}.get(wrap, wrap)
    with pytest.raises(ConfigurationError) as caught:
        check_api_key(f"{wrap}sk-{head}{bad}{tail}{closing}")
    message = str(caught.value) + repr(caught.value)
    assert head not in message
    assert tail not in message
    assert "OPENWEBUI_API_KEY" in message


@PROPERTY
@given(st.text(max_size=60), st.text(max_size=60))
def test_settings_from_any_strings_never_raise_anything_else(url: str, key: str) -> None:
    attempt(lambda: Settings.resolve(url, key, environ={}))
