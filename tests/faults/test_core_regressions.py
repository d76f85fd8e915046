"""Core bugs the fault matrix found, each pinned by the smallest test that showed it."""

from __future__ import annotations

from openwebui_adapters._settings import DEFAULT_CONNECT_TIMEOUT, Settings


def test_a_short_timeout_also_bounds_connecting() -> None:
    """`timeout=0.5` alone must not leave a 10 s connect timeout (adapters only expose `timeout`)."""
    settings = Settings.resolve("http://127.0.0.1:9", "sk-x", timeout=0.5, environ={})
    assert settings.connect_timeout == 0.5


def test_an_explicit_connect_timeout_is_kept_within_the_timeout() -> None:
    settings = Settings.resolve(
        "http://127.0.0.1:9", "sk-x", timeout=5, connect_timeout=3, environ={}
    )
    assert settings.connect_timeout == 3
    capped = Settings.resolve(
        "http://127.0.0.1:9", "sk-x", timeout=0.5, connect_timeout=3, environ={}
    )
    assert (
        capped.connect_timeout == 0.5
    )  # the docs' promise (guarantees.md): never more than `timeout`
    assert Settings.resolve("http://127.0.0.1:9", "sk-x", environ={}).connect_timeout == (
        DEFAULT_CONNECT_TIMEOUT
    )


def test_a_key_the_server_echoes_is_masked_in_the_error() -> None:
    """A proxy quoting the Authorization header back must not put the key into messages."""
    import json

    from openwebui_adapters._sending import without_key
    from openwebui_adapters.errors import AuthenticationError, ResponseError

    key = "sk-echoed-0123456789"
    error = without_key(AuthenticationError(f"Bad key {key}", body=f"Bad key {key}"), key)
    assert key not in str(error)
    assert key not in repr(error.args)
    assert key not in str(error.body)
    assert "Bad key ***" in str(error)

    try:
        try:
            json.loads(f"not json {key}")
        except ValueError as exc:
            raise ResponseError("The body is not JSON") from exc
    except ResponseError as raised:
        error = without_key(raised, key)
    assert error.__cause__ is None
    assert error.__context__ is None
