"""Core bugs the fault matrix found, each pinned by the smallest test that showed it."""

from __future__ import annotations

from openwebui_adapters.settings import DEFAULT_CONNECT_TIMEOUT, Settings


def test_a_short_timeout_also_bounds_connecting() -> None:
    """`timeout=0.5` alone must not leave a 10 s connect timeout (adapters only expose `timeout`)."""
    settings = Settings.resolve("http://127.0.0.1:9", "sk-x", timeout=0.5, environ={})
    assert settings.connect_timeout == 0.5


def test_an_explicit_connect_timeout_is_kept() -> None:
    settings = Settings.resolve(
        "http://127.0.0.1:9", "sk-x", timeout=0.5, connect_timeout=3, environ={}
    )
    assert settings.connect_timeout == 3
    assert Settings.resolve("http://127.0.0.1:9", "sk-x", environ={}).connect_timeout == (
        DEFAULT_CONNECT_TIMEOUT
    )
