"""The command line as a Unix tool: a default model, a closed pipe, each note once, JSON output.

Where a real pipe or the interpreter's own stderr matters, the command runs in a subprocess
against the Open WebUI-like server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from openwebui_like import KEY, SESSION_TOKEN, serve_openwebui_like

from openwebui_adapters import ModelInfo
from openwebui_adapters.cli import CLOSED_PIPE_STATUS, main
from openwebui_adapters.doctor import Doctor, default_model

NOTE = "holds a session token (JWT) from the browser"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with serve_openwebui_like() as url:
        yield url


@pytest.fixture
def env(server_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", server_url)
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    monkeypatch.delenv("OPENWEBUI_MODEL", raising=False)
    return dict(os.environ)


def command(
    env: dict[str, str], *args: str, stdout: int | None = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openwebui_adapters", *args],
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )


def test_chat_without_a_model_uses_the_model_the_doctor_picks(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    doctor = {r.name: r.detail for r in Doctor(connect_timeout=2).run()}
    assert main(["chat", "hello"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "Echo: hello world"
    assert err.strip() == f"note: {doctor['model']}"
    assert "using 'stub-gpt'" in err


def test_the_default_model_is_the_first_that_is_not_for_embeddings() -> None:
    listed = [
        ModelInfo("nomic-embed-text:latest", "nomic-embed-text:latest", "ollama"),
        ModelInfo("text-embedding-3-small", "text-embedding-3-small", "openai"),
        ModelInfo("llama3.2:latest", "llama3.2:latest", "ollama"),
        ModelInfo("gpt-4o", "gpt-4o", "openai"),
    ]
    assert default_model(listed).id == "llama3.2:latest"
    assert default_model(listed[:2]).id == "nomic-embed-text:latest"  # better than nothing


def test_output_into_a_closed_pipe_ends_quietly_with_the_status_of_sigpipe(
    env: dict[str, str],
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line, as `| head -0` does
    try:
        for args in (
            ["models", "--json"],
            ["models"],
            ["doctor"],
            ["chat", "hi", "--model", "stub-gpt", "--stream"],
        ):
            done = command(env, *args, stdout=write_end)
            assert (done.returncode, done.stderr) == (CLOSED_PIPE_STATUS, ""), args
    finally:
        os.close(write_end)
    assert CLOSED_PIPE_STATUS == 141


@pytest.mark.parametrize("args", [["doctor"], ["doctor", "--json"], ["chat", "hi"], ["models"]])
def test_a_session_token_note_is_printed_once(env: dict[str, str], args: list[str]) -> None:
    done = command({**env, "OPENWEBUI_API_KEY": SESSION_TOKEN}, *args)
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).count(NOTE) == 1
    assert SESSION_TOKEN not in done.stdout + done.stderr


def test_json_for_scripts(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]][-2:] == ["chat", "stream"]
    assert main(["models", "--json"]) == 0
    assert [m["id"] for m in json.loads(capsys.readouterr().out)] == [
        "stub-gpt",
        "stub-llama:latest",
    ]
    assert main(["chat", "hello", "--model", "stub-llama", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["choices"][0]["message"]["content"] == "Echo: hello world"
    assert main(["chat", "hello", "--model", "stub-gpt", "--stream", "--json"]) == 0
    chunks = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.strip() == "Echo: hello world"


def test_a_failed_doctor_in_json_exits_1(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-wrong")
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failed = [c for c in report["checks"] if c["ok"] is False]
    assert [(c["name"], c["setting"]) for c in failed] == [("api key", "OPENWEBUI_API_KEY")]
