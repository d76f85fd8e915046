"""The LiteLLM Proxy serving Open WebUI models from a config.yaml (`nox -s live`).

The real `litellm --config config.yaml` process, the way a user runs it: the provider comes in
through `litellm_settings.custom_provider_map` naming `openwebui_adapters.litellm.handler`, the
server and key through `os.environ/...` references, and clients use the `openai` SDK against it.
It runs without a database (no DATABASE_URL): the master key is the only key, and it lives in the
process environment only. Start-up takes 25-35 s, mostly importing the proxy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# What `litellm[proxy]` adds and proxy_server.py imports first; without it the proxy cannot start.
PROXY_MODULES = ("fastapi", "uvicorn", "backoff", "orjson", "yaml", "apscheduler")
_missing = [name for name in PROXY_MODULES if importlib.util.find_spec(name) is None]
if importlib.util.find_spec("litellm") is None:
    pytest.skip("the litellm extra is not installed", allow_module_level=True)
if _missing:
    pytest.skip(
        f"the LiteLLM Proxy needs `litellm[proxy]` ({', '.join(_missing)} not installed)",
        allow_module_level=True,
    )
openai = pytest.importorskip("openai", reason="the openai SDK (the proxy's client) is missing")
httpx = pytest.importorskip("httpx")

pytestmark = pytest.mark.live

HOST = "127.0.0.1"
READY_TIMEOUT = 240.0  # the proxy imports for ~20 s on a quiet machine
STOP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 60.0
# The `model_name`s of the docs' config.yaml (the local stack's models behind them).
OPENAI_MODEL = "gpt"
OLLAMA_MODEL = "llama"
WORKSPACE_MODEL = "assistant"
EMBED_MODEL = "embeddings"
MISSING_MODEL = "openwebui/no-such-model"  # through the docs' `openwebui/*` wildcard entry
# Environment the proxy must not inherit: a database would change how it authenticates.
SCRUBBED = ("DATABASE_URL", "DIRECT_URL", "LITELLM_MASTER_KEY", "LITELLM_CONFIG_PATH")

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "litellm.md"
CONFIG_MARK = "# config.yaml for `litellm --config config.yaml`"


def config_yaml() -> str:
    """The docs' config.yaml, verbatim: what a user copies is what runs here."""
    text = DOCS_PAGE.read_text()
    start = text.index(CONFIG_MARK)
    return text[start : text.index("```", start)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def litellm_command() -> list[str]:
    """The `litellm` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "litellm"
    found = str(beside) if beside.exists() else shutil.which("litellm")
    if found is None:
        pytest.skip("no `litellm` command next to this Python or on PATH")
    return [found]


@dataclass
class Proxy:
    url: str
    master_key: str = field(repr=False)  # never printed in a failure report
    log: Path
    process: subprocess.Popen[bytes]

    def log_tail(self) -> str:
        return f"--- last lines of {self.log} ---\n{tail(self.log)}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the proxy's process group (it is the leader of its own), then SIGKILL."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _wait_ready(proxy: Proxy) -> None:
    """Until the proxy lists its configured models (or exits, or the timeout passes)."""
    deadline = time.monotonic() + READY_TIMEOUT
    headers = {"Authorization": f"Bearer {proxy.master_key}"}
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if proxy.process.poll() is not None:
                pytest.fail(f"the proxy exited with {proxy.process.returncode}\n{proxy.log_tail()}")
            try:
                response = client.get(f"{proxy.url}/v1/models", headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return
            time.sleep(0.5)
    pytest.fail(f"the proxy was not ready within {READY_TIMEOUT:.0f} s\n{proxy.log_tail()}")


@pytest.fixture(scope="module")
def proxy(owui_target: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """`litellm --config config.yaml` on a free 127.0.0.1 port, stopped by PID at the end."""
    directory = tmp_path_factory.mktemp("litellm-proxy")
    config = directory / "config.yaml"
    config.write_text(config_yaml())
    port = free_port()
    master_key = f"sk-{secrets.token_urlsafe(24)}"  # only ever in the proxy's environment
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    env.update(
        {
            "OPENWEBUI_SERVER_URL": owui_target.server_url,
            "OPENWEBUI_API_KEY": owui_target.api_key,
            "LITELLM_MASTER_KEY": master_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the cost map at start-up
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": f"{HOST},localhost",
            "no_proxy": f"{HOST},localhost",
        }
    )
    command = [
        *litellm_command(),
        *("--config", str(config), "--host", HOST, "--port", str(port)),
    ]
    log = directory / "proxy.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
            start_new_session=True,  # its own process group: stopped whole, by its PID
        )
    running = Proxy(f"http://{HOST}:{port}", master_key, log, process)
    try:
        _wait_ready(running)
        yield running
    finally:
        _stop(process)


@pytest.fixture(autouse=True)
def _proxy_log_on_failure(proxy: Proxy) -> Iterator[None]:
    """The proxy's log lines written during a test; pytest shows them only when it fails."""
    start = proxy.log.stat().st_size
    yield
    with proxy.log.open("rb") as handle:
        handle.seek(start)
        print(f"--- proxy log during the test ---\n{handle.read().decode(errors='replace')}")


@pytest.fixture
def client(proxy: Proxy) -> Iterator[Any]:
    """The OpenAI SDK pointed at the proxy, with the master key; no retries hide a failure."""
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT) as http_client:
        yield openai.OpenAI(
            base_url=f"{proxy.url}/v1",
            api_key=proxy.master_key,
            max_retries=0,
            http_client=http_client,
        )


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_the_proxy_lists_the_configured_models(client: Any) -> None:
    ids = {model.id for model in client.models.list()}
    assert {OPENAI_MODEL, OLLAMA_MODEL, WORKSPACE_MODEL, EMBED_MODEL} <= ids


@pytest.mark.parametrize("model", [OPENAI_MODEL, OLLAMA_MODEL, WORKSPACE_MODEL])
def test_chat(client: Any, model: str) -> None:
    response = client.chat.completions.create(model=model, messages=ask("hello proxy"))

    assert response.choices[0].message.content == "Echo: hello proxy"
    assert response.choices[0].finish_reason == "stop"
    # The fake upstream counts words: 2 in the prompt, 3 in the answer.
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (2, 3)
    assert response.usage.total_tokens == 5


@pytest.mark.parametrize("model", [OPENAI_MODEL, OLLAMA_MODEL])
def test_streamed_chat_ends_with_usage(client: Any, model: str) -> None:
    stream = client.chat.completions.create(
        model=model,
        messages=ask("stream through the proxy"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream through the proxy"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert "stop" in [c.choices[0].finish_reason for c in chunks if c.choices]
    usage = [c.usage for c in chunks if c.usage is not None]
    assert usage, "the proxy forwarded no usage chunk"
    # The fake upstream counts words: 4 in the prompt, 5 in the answer.
    assert (usage[-1].prompt_tokens, usage[-1].completion_tokens) == (4, 5)
    assert usage[-1].total_tokens == 9


@pytest.mark.parametrize("model", [OPENAI_MODEL, OLLAMA_MODEL])
def test_tool_call_round_trip(client: Any, model: str) -> None:
    conversation = ask("What is the weather in 'Paris'?")
    first = client.chat.completions.create(model=model, messages=conversation, tools=[WEATHER_TOOL])

    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id

    conversation += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"},
    ]
    second = client.chat.completions.create(
        model=model, messages=conversation, tools=[WEATHER_TOOL]
    )
    assert second.choices[0].message.content == "The tool returned: 18 C and sunny"
    assert not second.choices[0].message.tool_calls


@pytest.mark.parametrize("model", [OPENAI_MODEL, OLLAMA_MODEL])
def test_streamed_tool_call(client: Any, model: str) -> None:
    stream = client.chat.completions.create(
        model=model,
        messages=ask("What is the weather in 'Oslo'?"),
        tools=[WEATHER_TOOL],
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = []
    for chunk in stream:
        for choice in chunk.choices:
            finish.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"name": "", "arguments": ""})
                entry["name"] += (delta.function and delta.function.name) or ""
                entry["arguments"] += (delta.function and delta.function.arguments) or ""

    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Oslo"}
    assert "tool_calls" in finish


def test_embeddings(client: Any) -> None:
    response = client.embeddings.create(model=EMBED_MODEL, input=["one", "two words"])

    vectors = [item.embedding for item in response.data]
    assert len(vectors) == 2
    assert all(len(vector) == 64 for vector in vectors)  # the fake upstream's dimension
    assert vectors[0] != vectors[1]


def test_the_wildcard_entry_reaches_any_model(client: Any) -> None:
    response = client.chat.completions.create(
        model="openwebui/stub-llama", messages=ask("hello wildcard")
    )
    assert response.choices[0].message.content == "Echo: hello wildcard"


def test_a_model_the_server_lacks_is_a_404(client: Any) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=MISSING_MODEL, messages=ask("anyone?"))
    assert MISSING_MODEL in str(caught.value)


def test_a_wrong_master_key_is_refused(proxy: Proxy) -> None:
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT) as http_client:
        stranger = openai.OpenAI(
            base_url=f"{proxy.url}/v1",
            api_key="sk-not-the-master-key",
            max_retries=0,
            http_client=http_client,
        )
        with pytest.raises(openai.APIStatusError) as caught:
            stranger.chat.completions.create(model=OPENAI_MODEL, messages=ask("let me in"))
    assert caught.value.status_code in (400, 401, 403)


def test_the_docs_config_needs_no_drop_params() -> None:
    assert "drop_params" not in config_yaml()


def test_embeddings_take_the_openai_sdks_parameters(client: Any) -> None:
    # The SDK sends `encoding_format` on every call; LiteLLM refused it before the provider
    # declared its embedding parameters.
    response = client.embeddings.create(
        model=EMBED_MODEL, input=["one"], encoding_format="float", dimensions=8, user="someone"
    )
    assert len(response.data) == 1
    assert all(isinstance(value, float) for value in response.data[0].embedding)


def test_the_model_facts_are_registered_at_start(proxy: Proxy) -> None:
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT) as http:
        answer = http.get(
            f"{proxy.url}/model/info", headers={"Authorization": f"Bearer {proxy.master_key}"}
        )
    assert answer.status_code == 200, answer.text
    infos = {entry["model_name"]: entry["model_info"] for entry in answer.json()["data"]}
    llama = infos[OLLAMA_MODEL]  # `openwebui/llama3.2`: tools and vision per Ollama's /api/show
    assert llama["supports_function_calling"] is True
    assert llama["supports_vision"] is True
    assert llama["max_input_tokens"] == 8192
    assert llama["litellm_provider"] == "openwebui"
