"""Settings: where the URL and key come from, how a pasted URL is reduced to the server root."""

from __future__ import annotations

import pytest

from openwebui_adapters._settings import Settings, check_api_key, normalize_server_url
from openwebui_adapters.errors import ConfigurationError


@pytest.mark.parametrize(
    ("pasted", "root"),
    [
        ("https://chat.example.com", "https://chat.example.com"),
        ("https://chat.example.com/", "https://chat.example.com"),
        ("  https://chat.example.com/  ", "https://chat.example.com"),
        ("chat.example.com", "https://chat.example.com"),
        ("localhost:3000", "http://localhost:3000"),
        ("192.168.1.20:8080/", "http://192.168.1.20:8080"),
        ("HTTP://Host:8080/API/", "http://Host:8080"),
        ("https://h.example/api", "https://h.example"),
        ("https://h.example/api/v1/", "https://h.example"),
        ("https://h.example/api/chat/completions", "https://h.example"),
        ("https://h.example/api/v1/chat/completions", "https://h.example"),
        ("https://h.example/api/models", "https://h.example"),
        ("https://h.example/ollama", "https://h.example"),
        ("https://h.example/ollama/v1", "https://h.example"),
        ("https://h.example/ollama/v1/", "https://h.example"),
        ("https://h.example/ollama/v1/chat", "https://h.example"),
        ("https://h.example/ollama/api/chat", "https://h.example"),
        ("https://h.example/openai", "https://h.example"),
        ("https://h.example/openai/chat/completions", "https://h.example"),
        ("https://h.example/chat/completions", "https://h.example"),
        ("https://h.example/v1/models", "https://h.example"),
        ("https://h.example/webui/", "https://h.example/webui"),
        ("https://h.example/webui/api/v1", "https://h.example/webui"),
        ("https://h.example/webui/ollama/v1/chat", "https://h.example/webui"),
        ("https://h.example/?tab=chat#top", "https://h.example"),
        ("http://[::1]:8080/api", "http://[::1]:8080"),
    ],
)
def test_normalize_reduces_pasted_url_to_server_root(pasted: str, root: str) -> None:
    assert normalize_server_url(pasted) == root


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "ftp://h.example", "https://", "http://h.example:notaport", "https://h .example"],
)
def test_malformed_url_names_the_server_url_setting(bad: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        normalize_server_url(bad)
    assert info.value.setting == "OPENWEBUI_SERVER_URL"
    assert info.value.layer == "settings"


def test_settings_read_environment_when_no_arguments() -> None:
    env = {"OPENWEBUI_SERVER_URL": "https://h.example/api", "OPENWEBUI_API_KEY": " sk-abc \n"}
    settings = Settings.resolve(environ=env)
    assert settings.server_url == "https://h.example"
    assert settings.api_key == "sk-abc"


def test_arguments_win_over_environment() -> None:
    env = {"OPENWEBUI_SERVER_URL": "https://env.example", "OPENWEBUI_API_KEY": "sk-env"}
    settings = Settings.resolve("https://arg.example", "sk-arg", environ=env)
    assert (settings.server_url, settings.api_key) == ("https://arg.example", "sk-arg")


def test_missing_url_names_the_variable() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.resolve(environ={"OPENWEBUI_API_KEY": "sk-x"})
    assert info.value.setting == "OPENWEBUI_SERVER_URL"
    assert "OPENWEBUI_SERVER_URL" in str(info.value)


def test_missing_key_with_api_key_set_says_how_to_use_it_and_does_not_send_it() -> None:
    env = {"OPENWEBUI_SERVER_URL": "https://h.example", "API_KEY": "sk-unrelated"}
    with pytest.raises(ConfigurationError) as info:
        Settings.resolve(environ=env)
    assert info.value.setting == "OPENWEBUI_API_KEY"
    assert "API_KEY is set but is not read" in info.value.hint
    assert "sk-unrelated" not in str(info.value)


def test_missing_key_without_api_key_points_to_the_key_page() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.resolve(environ={"OPENWEBUI_SERVER_URL": "https://h.example"})
    assert "Settings > Account > API keys" in info.value.hint


@pytest.mark.parametrize("key", ["sk-a b", "sk-a\tb", "sk-\x00x"])
def test_key_with_inner_whitespace_or_control_characters_is_refused(key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        check_api_key(key)
    assert info.value.setting == "OPENWEBUI_API_KEY"
    assert key not in str(info.value)


def test_pasted_bearer_prefix_is_removed() -> None:
    assert check_api_key("Bearer sk-abc") == "sk-abc"


@pytest.mark.parametrize(
    ("option", "value"), [("timeout", 0), ("connect_timeout", -1), ("max_retries", -1)]
)
def test_bad_numbers_name_their_option(option: str, value: float) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.resolve("https://h.example", "sk-x", **{option: value})
    assert info.value.setting == option


def test_repr_hides_the_key() -> None:
    settings = Settings.resolve("https://h.example", "sk-canary-1234567890")
    assert "sk-canary" not in repr(settings)
    assert "sk-canary" not in str(settings)


def test_equal_settings_are_equal_and_hashable() -> None:
    a = Settings.resolve("https://h.example/api", "sk-x", headers={"X-A": "1"})
    b = Settings.resolve("https://h.example", "sk-x", headers={"X-A": "1"})
    assert a == b
    assert hash(a) == hash(b)


@pytest.mark.parametrize(
    ("timeout", "connect_timeout", "expected"),
    [(5.0, 20.0, 5.0), (5.0, 2.0, 2.0), (None, 30.0, 30.0), (0.5, None, 0.5), (None, None, 10.0)],
)
def test_connecting_never_waits_longer_than_the_call(
    timeout: float | None, connect_timeout: float | None, expected: float
) -> None:
    settings = Settings.resolve(
        "http://owui.test", "sk-test", timeout=timeout, connect_timeout=connect_timeout
    )
    assert settings.connect_timeout == expected


@pytest.mark.parametrize(
    ("library", "server_url", "api_key"),
    [("litellm", "api_base=", "api_key="), ("langchain", "base_url=", "api_key=")],
)
def test_a_missing_setting_is_told_by_the_argument_its_library_takes(
    library: str, server_url: str, api_key: str
) -> None:
    with pytest.raises(ConfigurationError) as no_url:
        Settings.resolve(environ={}, library=library)
    assert f"pass {server_url}" in no_url.value.hint
    with pytest.raises(ConfigurationError) as no_key:
        Settings.resolve("https://h.example", environ={}, library=library)
    assert f"pass {api_key}" in no_key.value.hint
