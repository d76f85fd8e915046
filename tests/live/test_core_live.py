"""The core and the doctor against a real Open WebUI (`nox -s live`): no cassettes.

These need a server because they exercise what a recording cannot: DNS, closed ports and the
command line in its own process (resolving names and chatting by them are the recorded flows of
tests/replay/test_core.py, which run live too in this mode).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.live

WRONG_KEY = "sk-0000wrong0000key0000"


def doctor(model: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m openwebui_adapters doctor --model <model>` with the given settings."""
    return subprocess.run(
        [sys.executable, "-m", "openwebui_adapters", "doctor", "--model", model],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def failed_check(output: str) -> str:
    """The FAIL line and the fix line under it."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("FAIL"):
            return line + "\n" + (lines[index + 1] if index + 1 < len(lines) else "")
    raise AssertionError(f"no FAIL line in:\n{output}")


@pytest.mark.parametrize("model", ["stub-gpt", "stub-llama:latest", "Team Assistant"])
def test_doctor_passes_on_a_good_setup(owui_settings: Any, model: str) -> None:
    result = doctor(model)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
    assert "FAIL" not in result.stdout


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns


@pytest.mark.parametrize(
    ("case", "check", "setting"),
    [
        ("wrong-host", "dns", "OPENWEBUI_SERVER_URL"),
        ("closed-port", "tcp", "OPENWEBUI_SERVER_URL"),
        ("wrong-path", "open webui", "OPENWEBUI_SERVER_URL"),
        ("wrong-key", "api key", "OPENWEBUI_API_KEY"),
        ("misspelled-model", "model", "(setting: model)"),
    ],
)
def test_doctor_names_the_setting_to_fix(
    owui_settings: Any, case: str, check: str, setting: str
) -> None:
    url = owui_settings.server_url
    model, env = "stub-gpt", {}
    if case == "wrong-host":
        env["OPENWEBUI_SERVER_URL"] = "http://nonexistent-host.invalid"
    elif case == "closed-port":
        env["OPENWEBUI_SERVER_URL"] = f"http://127.0.0.1:{closed_port()}"
    elif case == "wrong-path":
        env["OPENWEBUI_SERVER_URL"] = f"{url}/typo/"
    elif case == "wrong-key":
        env["OPENWEBUI_API_KEY"] = WRONG_KEY
    else:
        model = "stub-gtp"

    result = doctor(model, **env)

    assert result.returncode == 1, result.stdout + result.stderr
    failure = failed_check(result.stdout)
    assert re.match(rf"FAIL\s+{re.escape(check)}\s", failure), failure
    assert setting in failure, failure
    if case == "misspelled-model":
        assert "stub-gpt" in failure
    assert owui_settings.api_key not in result.stdout + result.stderr
