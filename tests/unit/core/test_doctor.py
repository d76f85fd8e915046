"""The doctor against a small real HTTP server on 127.0.0.1 that answers like Open WebUI."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from openwebui_like import KEY, KeyRestrictedToChat, serve_openwebui_like

from openwebui_adapters.cli import main
from openwebui_adapters.doctor import Doctor


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with serve_openwebui_like() as url:
        yield url


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(
    url: str | None, key: str | None, model: str | None = None
) -> dict[str, tuple[bool | None, str | None]]:
    """The doctor's verdicts for settings read from the environment, as the command reads them."""
    given = {"OPENWEBUI_SERVER_URL": url, "OPENWEBUI_API_KEY": key}
    environ = {name: value for name, value in given.items() if value is not None}
    doctor = Doctor(model=model, connect_timeout=2, environ=environ)
    return {r.name: (r.ok, r.setting) for r in doctor.run()}


def first_failure(results: dict[str, tuple[bool | None, str | None]]) -> tuple[str, str | None]:
    return next((name, setting) for name, (ok, setting) in results.items() if ok is False)


def test_good_setup_passes_every_check(server_url: str) -> None:
    results = run(server_url, KEY, "STUB-llama")
    assert all(ok for ok, _ in results.values()), results
    assert list(results) == [
        "settings",
        "dns",
        "tcp",
        "tls",
        "open webui",
        "in front",
        "api key",
        "models",
        "model",
        "chat",
        "stream",
    ]


def test_a_key_restricted_to_the_chat_passes_every_check_with_notes() -> None:
    """0.6's restriction of API keys covers /api/version and the model list: the doctor goes on
    to the chat, which works with the model's exact id."""
    with serve_openwebui_like(KeyRestrictedToChat) as url:
        results = list(Doctor(url, KEY, model="stub-llama:latest", connect_timeout=2).run())
    assert [(r.name, r.ok) for r in results if not r.ok] == []
    notes = {r.name: r.hint or "" for r in results}
    assert "its release is unknown" in notes["open webui"]
    assert "restricts API keys to some endpoints" in notes["api key"]


@pytest.mark.parametrize(
    ("case", "failed_check", "setting"),
    [
        ("no url", "settings", "OPENWEBUI_SERVER_URL"),
        ("no key", "settings", "OPENWEBUI_API_KEY"),
        ("wrong host", "dns", "OPENWEBUI_SERVER_URL"),
        ("closed port", "tcp", "OPENWEBUI_SERVER_URL"),
        ("wrong path", "open webui", "OPENWEBUI_SERVER_URL"),
        ("wrong key", "api key", "OPENWEBUI_API_KEY"),
        ("misspelt model", "model", "model"),
    ],
)
def test_each_broken_layer_is_named_with_its_setting(
    server_url: str, case: str, failed_check: str, setting: str
) -> None:
    url, key, model = {
        "no url": (None, KEY, None),
        "no key": (server_url, None, None),
        "wrong host": ("http://nonexistent-host.invalid", KEY, None),
        "closed port": (f"http://127.0.0.1:{closed_port()}", KEY, None),
        "wrong path": (server_url + "/typo/", KEY, None),
        "wrong key": (server_url, "sk-wrong", None),
        "misspelt model": (server_url, KEY, "stub-lama"),
    }[case]
    results = run(url, key, model)
    assert first_failure(results) == (failed_check, setting)
    after = list(results)[list(results).index(failed_check) + 1 :]
    assert all(results[name][0] is None for name in after)


def test_cli_doctor_exit_code_and_output(
    server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", server_url)
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-wrong")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  api key" in out
    assert "OPENWEBUI_API_KEY" in out
    assert "sk-wrong" not in out
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    assert main(["doctor", "--model", "stub-gpt"]) == 0
    assert "all checks passed" in capsys.readouterr().out


def test_cli_models_and_chat(
    server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", server_url + "/api/v1")
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "stub-llama:latest  ollama" in out
    assert main(["chat", "hello", "--model", "stub-llama"]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello world"
    assert main(["chat", "hello", "--model", "stub-gpt", "--stream"]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello world"
    assert main(["chat", "hello", "--model", "nope-model"]) == 1
    assert "model" in capsys.readouterr().err
