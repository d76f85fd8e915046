"""LiteLLM's `openwebui/` provider where a recording cannot go (`nox -s live`): nothing listening,
a name that does not resolve, the seeds' URL with an API path, and the examples as programs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm
from litellm import exceptions as llm_errors

import openwebui_adapters.litellm  # noqa: F401  (registers the provider)

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]

MESSAGES = [{"role": "user", "content": "Say hello."}]
EXAMPLES = Path(__file__).parents[2] / "examples"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(litellm, "suppress_debug_info", True)


@pytest.mark.parametrize("stream", [False, True], ids=["completion", "stream"])
def test_nothing_listening_is_an_api_connection_error(owui_settings: Any, stream: bool) -> None:
    with pytest.raises(llm_errors.APIConnectionError) as caught:
        litellm.completion(
            model=f"openwebui/{owui_settings.models['openai']}",
            messages=MESSAGES,
            api_base=f"http://127.0.0.1:{closed_port()}",
            max_retries=0,
            stream=stream,
        )
    assert caught.value.setting == "api_base"  # type: ignore[attr-defined]  # as it was given
    assert "Fix: " in str(caught.value)


async def test_nothing_listening_in_acompletion_is_an_api_connection_error(
    owui_settings: Any,
) -> None:
    with pytest.raises(llm_errors.APIConnectionError):
        await litellm.acompletion(
            model=f"openwebui/{owui_settings.models['ollama']}",
            messages=MESSAGES,
            api_base=f"http://127.0.0.1:{closed_port()}",
            max_retries=0,
        )


async def test_async_stream_to_nothing_listening_fails_on_the_first_chunk(
    owui_settings: Any,
) -> None:
    """LiteLLM iterates a custom provider's async stream itself: the request is made on the
    first chunk, and a failure other than a 4xx arrives wrapped, marked as before any chunk."""
    stream = await litellm.acompletion(
        model=f"openwebui/{owui_settings.models['openai']}",
        messages=MESSAGES,
        api_base=f"http://127.0.0.1:{closed_port()}",
        max_retries=0,
        stream=True,
    )
    with pytest.raises(llm_errors.MidStreamFallbackError) as caught:
        async for _ in stream:
            pass
    assert caught.value.is_pre_first_chunk
    assert isinstance(caught.value.original_exception, llm_errors.APIConnectionError)
    assert "api_base" in str(caught.value)


def test_a_name_that_does_not_resolve_is_a_dns_error(owui_settings: Any) -> None:
    with pytest.raises(llm_errors.APIConnectionError) as caught:
        litellm.completion(
            model=f"openwebui/{owui_settings.models['openai']}",
            messages=MESSAGES,
            api_base="http://openwebui-litellm.invalid:3000",
            max_retries=0,
        )
    assert caught.value.layer == "dns"  # type: ignore[attr-defined]
    assert "fix the host in api_base" in str(caught.value)


def test_unreachable_embedding_server_is_an_api_connection_error(owui_settings: Any) -> None:
    with pytest.raises(llm_errors.APIConnectionError):
        litellm.embedding(
            model=f"openwebui/{owui_settings.models['embed_openai']}",
            input=["text"],
            api_base=f"http://127.0.0.1:{closed_port()}",
            max_retries=0,
        )


def test_the_seeds_ollama_v1_url_still_reaches_the_model(owui_settings: Any) -> None:
    """The seeds' `api_base` ended in `/ollama/v1/`; the same URL now just works."""
    response = litellm.completion(
        model=f"openwebui/{owui_settings.models['ollama']}",
        messages=MESSAGES,
        api_base=f"{owui_settings.server_url}/ollama/v1/",
    )
    assert response.choices[0].message.content == "Echo: Say hello."  # the stack's echo


@pytest.mark.parametrize("script", ["litellm_quickstart.py", "litellm_seed_example.py"])
def test_example_runs(owui_settings: Any, script: str) -> None:
    env = {**os.environ, "OPENWEBUI_MODEL": owui_settings.models["ollama"]}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip()


def test_quickstart_fails_loudly_on_a_wrong_key(owui_settings: Any) -> None:
    env = {**os.environ, "OPENWEBUI_API_KEY": "sk-0000wrong0000key0000"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "litellm_quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "OPENWEBUI_API_KEY" in done.stdout + done.stderr
