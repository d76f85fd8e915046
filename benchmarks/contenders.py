"""The contenders: one way each to call the benchmark server, built alike, and what a section gets.

Every contender is configured the same way (timeout, retries, request), so what differs between
their numbers is the client code. `Run` is what a section measures with; `worker` starts a fresh
interpreter for the sections that measure one contender's process (memory, headers).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

# LiteLLM fetches its model cost map over the network at import unless told not to: that would
# measure the network (and here it retries for seconds against a blocked host).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

T = TypeVar("T")
RUN_SCRIPT = Path(__file__).resolve().parent / "run.py"
MODEL = "bench-model"
API_KEY = "sk-bench"
# Every contender gets the same limits, so no one pays for (or skips) a different policy: the read
# timeout all of them default to, and the OpenAI SDK's default of 2 retries (never used here: the
# server does not fail, so retries cost nothing, but the settings are equal anyway).
TIMEOUT = 600.0
MAX_RETRIES = 2
# The highest concurrency a section runs (bench_async's last level): smolagents, which has no
# async API, gets a thread pool as large.
MAX_CONCURRENCY = 100


@dataclass
class Contender:
    """One way to call the server: a sync call, a stream of `n` chunks, an async call.

    `converse` makes one call with a given conversation, already in the library's own message
    format (`fmt`: "openai" dicts, "langchain" messages or "smolagents" dicts): see
    `bench_growth.py`, which builds the same conversation in each format.
    """

    key: str
    label: str
    call: Callable[[], Any] | None = None
    stream: Callable[[int], Iterable[Any]] | None = None
    acall: Callable[[], Awaitable[Any]] | None = None
    converse: Callable[[Any], Any] | None = None
    fmt: str = "openai"


def _text(n: int | None = None) -> str:
    return "Say hello." if n is None else f"Say hello. chunks={n}"


def chat_messages(n: int | None = None) -> list[dict[str, Any]]:
    return [{"role": "user", "content": _text(n)}]


def build_httpx(url: str) -> Contender:
    """The floor: httpx posting JSON and parsing the answer, SSE by iter_lines + json.loads."""
    import httpx

    headers = {"Authorization": f"Bearer {API_KEY}"}
    client = httpx.Client(headers=headers, timeout=TIMEOUT)
    aclients: dict[Any, httpx.AsyncClient] = {}
    path = f"{url}/api/chat/completions"
    body = {"model": MODEL, "messages": chat_messages()}

    def call() -> Any:
        response = client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def stream(n: int) -> Iterator[Any]:
        payload = {
            "model": MODEL,
            "messages": chat_messages(n),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        with client.stream("POST", path, json=payload) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        return
                    yield json.loads(data)

    async def acall() -> Any:
        loop = asyncio.get_running_loop()
        aclient = aclients.get(loop)
        if aclient is None:
            # httpx's default pool limits, as the core uses.
            aclient = aclients[loop] = httpx.AsyncClient(headers=headers, timeout=TIMEOUT)
        response = await aclient.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def converse(messages: Any) -> Any:
        response = client.post(path, json={"model": MODEL, "messages": messages})
        response.raise_for_status()
        return response.json()

    return Contender("httpx", "raw httpx (floor)", call, stream, acall, converse)


def build_core(url: str) -> Contender:
    from openwebui_adapters import OpenWebUIClient

    client = OpenWebUIClient(url, API_KEY, timeout=TIMEOUT, max_retries=MAX_RETRIES)
    payload = {"model": MODEL, "messages": chat_messages()}

    def stream(n: int) -> Iterator[Any]:
        return client.stream_chat({"model": MODEL, "messages": chat_messages(n)})

    return Contender(
        "core",
        "openwebui_adapters core (OpenWebUIClient)",
        lambda: client.chat(payload),
        stream,
        lambda: client.achat(payload),
        lambda messages: client.chat({"model": MODEL, "messages": messages}),
    )


def build_openai_sdk(url: str) -> Contender:
    """A reference point: the OpenAI SDK, which LiteLLM, ChatOpenAI and smolagents wrap."""
    import openai

    options: Any = {"timeout": TIMEOUT, "max_retries": MAX_RETRIES}
    client = openai.OpenAI(base_url=f"{url}/api", api_key=API_KEY, **options)
    aclient = openai.AsyncOpenAI(base_url=f"{url}/api", api_key=API_KEY, **options)
    messages: Any = chat_messages()

    def stream(n: int) -> Iterator[Any]:
        return iter(
            client.chat.completions.create(
                model=MODEL,
                messages=chat_messages(n),
                stream=True,
                stream_options={"include_usage": True},
            )  # type: ignore[call-overload]
        )

    return Contender(
        "openai_sdk",
        "openai SDK (reference)",
        lambda: client.chat.completions.create(model=MODEL, messages=messages),
        stream,
        lambda: aclient.chat.completions.create(model=MODEL, messages=messages),
        lambda conversation: client.chat.completions.create(model=MODEL, messages=conversation),
    )


def quiet_litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def register_openwebui() -> None:
    """Our LiteLLM provider, registered the way the adapter offers (if it needs registering)."""
    adapter = importlib.import_module("openwebui_adapters.litellm")
    register = getattr(adapter, "register", None)
    if callable(register):
        register()


def _litellm_contender(
    key: str, label: str, model: str, api_base: str, stream_options: dict[str, Any]
) -> Contender:
    """`litellm.completion` of one model string; `stream_options` go with streams only."""
    litellm = quiet_litellm()
    messages = chat_messages()
    options = {
        "api_base": api_base,
        "api_key": API_KEY,
        "timeout": TIMEOUT,
        "max_retries": MAX_RETRIES,
    }

    def stream(n: int) -> Iterable[Any]:
        return litellm.completion(  # type: ignore[no-any-return]
            model=model, messages=chat_messages(n), stream=True, **stream_options, **options
        )

    return Contender(
        key,
        label,
        lambda: litellm.completion(model=model, messages=messages, **options),
        stream,
        lambda: litellm.acompletion(model=model, messages=messages, **options),
        lambda conversation: litellm.completion(model=model, messages=conversation, **options),
    )


def build_litellm_openwebui(url: str) -> Contender:
    quiet_litellm()
    register_openwebui()
    return _litellm_contender(
        "litellm_openwebui", "LiteLLM `openwebui/` (ours)", f"openwebui/{MODEL}", url, {}
    )


def build_litellm_openai(url: str) -> Contender:
    # Ask for the usage chunk, as `openwebui/` does by default: the same bytes come back.
    usage = {"stream_options": {"include_usage": True}}
    return _litellm_contender(
        "litellm_openai", "LiteLLM `openai/` + api_base", f"openai/{MODEL}", f"{url}/api", usage
    )


def _langchain_contender(key: str, label: str, chat: Any) -> Contender:
    messages = [("user", _text())]
    return Contender(
        key,
        label,
        lambda: chat.invoke(messages),
        lambda n: chat.stream([("user", _text(n))]),
        lambda: chat.ainvoke(messages),
        chat.invoke,
        "langchain",
    )


def build_langchain_openwebui(url: str) -> Contender:
    from openwebui_adapters.langchain import ChatOpenWebUI  # type: ignore[import-not-found,unused-ignore]

    chat = ChatOpenWebUI(
        model=MODEL,
        base_url=url,
        api_key=API_KEY,  # type: ignore[arg-type]  # a str is accepted and made a SecretStr
        timeout=TIMEOUT,
        max_retries=MAX_RETRIES,
    )
    return _langchain_contender("langchain_openwebui", "LangChain ChatOpenWebUI (ours)", chat)


def build_langchain_openai(url: str) -> Contender:
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        model=MODEL,
        base_url=f"{url}/api",
        api_key=API_KEY,  # type: ignore[arg-type]
        timeout=TIMEOUT,
        max_retries=MAX_RETRIES,
        stream_usage=True,  # the usage chunk, as ChatOpenWebUI asks for: the same bytes come back
    )
    return _langchain_contender("langchain_openai", "LangChain ChatOpenAI + base_url", chat)


def _smolagents_contender(key: str, label: str, model: Any) -> Contender:
    messages = [{"role": "user", "content": [{"type": "text", "text": _text()}]}]

    def stream(n: int) -> Iterable[Any]:
        return model.generate_stream(  # type: ignore[no-any-return]
            [{"role": "user", "content": [{"type": "text", "text": _text(n)}]}]
        )

    # smolagents has no async API: its async figure is `generate` in a thread pool as large as
    # the concurrency (what an async application has to do), the same for both models.
    executors: dict[int, Any] = {}

    async def acall() -> Any:
        from concurrent.futures import ThreadPoolExecutor

        executor = executors.get(0)
        if executor is None:
            executor = executors[0] = ThreadPoolExecutor(max_workers=MAX_CONCURRENCY)
        return await asyncio.get_running_loop().run_in_executor(executor, model.generate, messages)

    return Contender(
        key, label, lambda: model.generate(messages), stream, acall, model.generate, "smolagents"
    )


def build_smolagents_openwebui(url: str) -> Contender:
    from openwebui_adapters.smolagents import OpenWebUIModel  # type: ignore[import-not-found,unused-ignore]

    model = OpenWebUIModel(
        model_id=MODEL, api_base=url, api_key=API_KEY, timeout=TIMEOUT, max_retries=MAX_RETRIES
    )
    return _smolagents_contender("smolagents_openwebui", "smolagents OpenWebUIModel (ours)", model)


def build_smolagents_openai(url: str) -> Contender:
    from smolagents import OpenAIModel

    model = OpenAIModel(
        model_id=MODEL,
        api_base=f"{url}/api",
        api_key=API_KEY,
        client_kwargs={"timeout": TIMEOUT, "max_retries": MAX_RETRIES},
    )
    return _smolagents_contender("smolagents_openai", "smolagents OpenAIModel + api_base", model)


BUILDERS: dict[str, Callable[[str], Contender]] = {
    "httpx": build_httpx,
    "core": build_core,
    "openai_sdk": build_openai_sdk,
    "litellm_openwebui": build_litellm_openwebui,
    "litellm_openai": build_litellm_openai,
    "langchain_openwebui": build_langchain_openwebui,
    "langchain_openai": build_langchain_openai,
    "smolagents_openwebui": build_smolagents_openwebui,
    "smolagents_openai": build_smolagents_openai,
}


def build_all(url: str, keys: Iterable[str]) -> tuple[list[Contender], dict[str, str]]:
    """The contenders that could be built, and why the others could not."""
    built, missing = [], {}
    for key in keys:
        try:
            contender = BUILDERS[key](url)
            if contender.call is not None:
                contender.call()  # fail now, not in the middle of a timed loop
        except Exception as exc:  # an adapter not written yet, or broken: report, don't stop
            missing[key] = (
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            )
            continue
        built.append(contender)
    return built, missing


@dataclass
class Run:
    """What a section measures with: the server, the contenders, the options of this run."""

    url: str
    contenders: list[Contender]
    asked: list[str]  # the contender keys asked for (`--contenders`), built or not
    quick: bool
    calls: int  # `--calls`; 0: each section's own count
    log: Callable[[str], None]

    def plan(self, counts: tuple[T, T]) -> T:
        """A section's `PLAN`: (quick run, full run)."""
        return counts[0 if self.quick else 1]


def worker(flag: str, key: str, url: str, calls: int) -> subprocess.Popen[str]:
    """`run.py <flag> KEY` in a fresh interpreter: one contender's process, measured apart."""
    command = [sys.executable, str(RUN_SCRIPT), flag, key, "--server", url, "--calls", str(calls)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def last_error(stderr: str) -> str:
    """The line a failed interpreter ended with (its exception), shortened."""
    return (stderr.strip().splitlines() or ["failed"])[-1][:160]


def answer(returncode: int | None, stdout: str, stderr: str) -> dict[str, Any]:
    """What a worker printed last (JSON), or {"error": its last line} if it failed."""
    if returncode != 0:
        return {"error": last_error(stderr)}
    return dict(json.loads(stdout.strip().splitlines()[-1]))
