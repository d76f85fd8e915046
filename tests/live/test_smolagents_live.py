"""smolagents against a real Open WebUI (`nox -s live`): what a cassette cannot show.

The example script in its own process, and agents whose server cannot be reached at all (a name
that does not resolve, a closed port), where the error must name the URL setting as it was given
(`api_base`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from smolagents import CodeAgent, ToolCallingAgent
from smolagents.agents import AgentGenerationError

from openwebui_adapters import errors
from openwebui_adapters.smolagents import OpenWebUIModel

pytestmark = pytest.mark.live

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "smolagents_agent.py"
WRONG_KEY = "sk-0000wrong0000key0000"


def run_example(owui_settings: Any, model: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "OPENWEBUI_SERVER_URL": owui_settings.server_url,
        "OPENWEBUI_API_KEY": owui_settings.api_key,
        "OPENWEBUI_MODEL": model,
        **env,
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_example_runs_both_agents_to_an_answer(owui_settings: Any, backend: str) -> None:
    result = run_example(owui_settings, owui_settings.models[backend])
    assert result.returncode == 0, result.stderr[-2000:]
    answers = [line for line in result.stdout.splitlines() if line.startswith("   answer:")]
    assert len(answers) == 2, result.stdout[-2000:]


def test_example_with_a_wrong_key_exits_naming_the_key_setting(owui_settings: Any) -> None:
    result = run_example(owui_settings, owui_settings.models["openai"], OPENWEBUI_API_KEY=WRONG_KEY)
    assert result.returncode != 0
    assert "AuthenticationError" in result.stderr
    assert "OPENWEBUI_API_KEY" in result.stderr
    assert WRONG_KEY not in result.stdout + result.stderr


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("api_base", "error_class"),
    [
        ("http://openwebui-adapters-test.invalid", errors.DNSError),
        (None, errors.ServerUnreachableError),
    ],
    ids=["dns", "closed-port"],
)
@pytest.mark.parametrize("agent_class", [CodeAgent, ToolCallingAgent])
def test_unreachable_server_stops_the_agent_naming_the_url_setting(
    owui_settings: Any, api_base: str | None, error_class: type[Exception], agent_class: type
) -> None:
    model = OpenWebUIModel(
        owui_settings.models["openai"], api_base=api_base or closed_port_url(), max_retries=0
    )
    agent = agent_class(tools=[], model=model, max_steps=2, verbosity_level=0)
    with pytest.raises(AgentGenerationError) as caught:
        agent.run("Say hello.")
    assert isinstance(caught.value.__cause__, error_class)
    assert "setting: api_base" in str(caught.value)
