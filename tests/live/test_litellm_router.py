"""LiteLLM's Router over `openwebui/` deployments on two real Open WebUI servers (`nox -s live`).

One deployment is the session's server, the other a second local stack started here (its own state
directory, upstream and data; 20-50 s) and stopped by PID when the module ends. Which deployment
answered is read from the response (`_hidden_params["model_id"]`, set by the Router) and checked
against the second server's upstream log, so a request counted for it really reached it.

A dead deployment is a closed 127.0.0.1 port. LiteLLM never cools a deployment down for an
`APIConnectionError` (router_utils/cooldown_handlers.py ignores that class, whatever the provider),
so within one model group a retry picks again at random: with many retries the call still succeeds
on the live deployment. Across model groups, `fallbacks` move to the other group deterministically.
Deployments set `max_retries: 0` so the core client does not retry the dead server itself: the
Router owns the failover.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import socket
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
litellm = pytest.importorskip("litellm", reason="the litellm extra is not installed")
pytest.importorskip("openwebui_adapters.litellm", reason="the litellm extra is not installed")

pytestmark = [
    pytest.mark.live,
    # pydantic warns about LiteLLM's own TypedDicts when the Router builds its models.
    pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
MODEL = "stub-gpt"
GROUP = "owui"
TIMEOUT = 60.0
# Enough requests that "all of them on one of two deployments" is a 1-in-8-million event.
SPREAD_REQUESTS = 24
# Retries per call when one of two deployments is dead: all of them failing is 1 in 2**31.
FAILOVER_RETRIES = 30
# Calls made until one of them is seen to have retried past the dead deployment (expected: ~2).
FAILOVER_CALLS = 40
CHAT_POST = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" 200')


@dataclass(frozen=True)
class Server:
    """A running Open WebUI: where it is, its key, and (for the second one) its upstream log."""

    url: str
    api_key: str = field(repr=False)  # never printed in a failure report
    upstream_log: Path | None = None

    def upstream_chats(self) -> int:
        """Chat completions the server's upstream has answered so far."""
        assert self.upstream_log is not None
        return len(CHAT_POST.findall(self.upstream_log.read_text(errors="replace")))


def _stack_copy(state_dir: Path) -> ModuleType:
    """A private copy of stack/run.py whose state (pids, data, logs) lives in `state_dir`.

    stack/run.py reads OPENWEBUI_STACK_STATE_DIR when it is imported, so the copy is imported
    with it set; the session's own copy (tests/conftest.py) keeps pointing at the shared stack.
    """
    name = f"openwebui_stack_run_{state_dir.name}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "stack" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("OPENWEBUI_STACK_STATE_DIR", str(state_dir))
            spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def first_server(owui_target: Any) -> Server:
    return Server(owui_target.server_url, owui_target.api_key)


@pytest.fixture(scope="module")
def second_server(owui_target: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second, independent Open WebUI stack on 127.0.0.1, stopped by PID however the tests end."""
    stack = _stack_copy(tmp_path_factory.mktemp("second-stack"))
    notes: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        # Only the fake upstream: never the optional real model, whatever this shell asks for.
        patch.delenv("OPENWEBUI_STACK_REAL_MODEL", raising=False)
        state = stack.start(log=notes.append)  # stops what it started if it fails
    try:
        assert state.server_url != owui_target.server_url
        yield Server(state.server_url, state.api_key, Path(state.logs["upstream"]))
    finally:
        stack.stop(log=notes.append, state=state)
        print("second stack:", *notes, sep="\n  ")


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deployment(name: str, server: Server, model_id: str, **params: Any) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"openwebui/{MODEL}",
            "api_base": server.url,
            "api_key": server.api_key,
            **params,
        },
        "model_info": {"id": model_id},
    }


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def answered_by(response: Any) -> str:
    """The id of the deployment that produced this response (the Router records it)."""
    return str(response._hidden_params["model_id"])


def router_headers(response: Any) -> dict[str, Any]:
    """The Router's bookkeeping for the call: attempted retries and fallbacks, model group."""
    return dict(response._hidden_params.get("additional_headers") or {})


@pytest.fixture
def two_servers(first_server: Server, second_server: Server) -> Any:
    """One model group, one deployment per server, LiteLLM's default simple-shuffle routing."""
    return litellm.Router(
        model_list=[
            deployment(GROUP, first_server, "first"),
            deployment(GROUP, second_server, "second"),
        ],
        timeout=TIMEOUT,
    )


# --- balancing ---------------------------------------------------------------------------------


def test_requests_are_spread_over_both_servers(two_servers: Any, second_server: Server) -> None:
    before = second_server.upstream_chats()
    answered: Counter[str] = Counter()
    for number in range(SPREAD_REQUESTS):
        response = two_servers.completion(model=GROUP, messages=messages(f"ping {number}"))
        assert response.choices[0].message.content == f"Echo: ping {number}"
        answered[answered_by(response)] += 1

    assert set(answered) == {"first", "second"}, answered
    assert sum(answered.values()) == SPREAD_REQUESTS
    # Each answer the Router credits to the second server reached that server's model backend.
    assert second_server.upstream_chats() - before == answered["second"]


async def test_concurrent_async_requests_are_spread_over_both_servers(
    two_servers: Any, second_server: Server
) -> None:
    before = second_server.upstream_chats()
    responses = await asyncio.gather(
        *(
            two_servers.acompletion(model=GROUP, messages=messages(f"async {number}"))
            for number in range(SPREAD_REQUESTS)
        )
    )

    assert [r.choices[0].message.content for r in responses] == [
        f"Echo: async {number}" for number in range(SPREAD_REQUESTS)
    ]
    answered = Counter(answered_by(r) for r in responses)
    assert set(answered) == {"first", "second"}, answered
    assert second_server.upstream_chats() - before == answered["second"]


def test_a_stream_through_the_router(two_servers: Any) -> None:
    stream = two_servers.completion(model=GROUP, messages=messages("stream me"), stream=True)
    chunks = list(stream)

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: stream me"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert answered_by(chunks[-1]) in {"first", "second"}


async def test_an_async_stream_through_the_router(two_servers: Any) -> None:
    stream = await two_servers.acompletion(
        model=GROUP, messages=messages("stream me async"), stream=True
    )
    chunks = [chunk async for chunk in stream]

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: stream me async"
    assert answered_by(chunks[-1]) in {"first", "second"}


# --- a server that is down ---------------------------------------------------------------------


@pytest.fixture
def one_dead(second_server: Server) -> Any:
    """One model group: a deployment on a closed port and one on a live server."""
    dead = Server(f"http://127.0.0.1:{closed_port()}", second_server.api_key)
    return litellm.Router(
        model_list=[
            deployment(GROUP, dead, "dead", max_retries=0),
            deployment(GROUP, second_server, "live", max_retries=0),
        ],
        num_retries=FAILOVER_RETRIES,
        timeout=TIMEOUT,
    )


def _check_failover(responses: list[Any], label: str) -> None:
    """Every call succeeded on the live deployment, and at least one did so after a retry."""
    for number, response in enumerate(responses):
        assert response.choices[0].message.content == f"Echo: {label} {number}"
        assert answered_by(response) == "live"
    retried = [r for r in responses if router_headers(r).get("x-litellm-attempted-retries", 0)]
    assert retried, "no call ever picked the dead deployment first"


def test_a_dead_server_is_retried_on_the_live_one(one_dead: Any) -> None:
    responses = []
    # Simple-shuffle picks the dead deployment first half the time; stop once it has.
    for number in range(FAILOVER_CALLS):
        response = one_dead.completion(model=GROUP, messages=messages(f"failover {number}"))
        responses.append(response)
        if router_headers(response).get("x-litellm-attempted-retries", 0):
            break
    _check_failover(responses, "failover")


async def test_a_dead_server_is_retried_on_the_live_one_async(one_dead: Any) -> None:
    responses = []
    for number in range(FAILOVER_CALLS):
        response = await one_dead.acompletion(
            model=GROUP, messages=messages(f"async failover {number}")
        )
        responses.append(response)
        if router_headers(response).get("x-litellm-attempted-retries", 0):
            break
    _check_failover(responses, "async failover")


@pytest.fixture
def fallback(second_server: Server) -> Any:
    """Model group `primary` (a closed port) falls back to `backup` (a live server)."""
    dead = Server(f"http://127.0.0.1:{closed_port()}", second_server.api_key)
    return litellm.Router(
        model_list=[
            deployment("primary", dead, "dead", max_retries=0),
            deployment("backup", second_server, "live", max_retries=0),
        ],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=0,
        timeout=TIMEOUT,
    )


def _check_fell_back(response: Any) -> None:
    assert answered_by(response) == "live"
    headers = router_headers(response)
    assert headers["x-litellm-attempted-fallbacks"] == 1
    assert headers["x-litellm-model-group"] == "backup"


def test_a_dead_model_group_falls_back_to_a_live_one(fallback: Any) -> None:
    response = fallback.completion(model="primary", messages=messages("fall back"))
    assert response.choices[0].message.content == "Echo: fall back"
    _check_fell_back(response)


async def test_a_dead_model_group_falls_back_async_and_streaming(fallback: Any) -> None:
    response = await fallback.acompletion(model="primary", messages=messages("fall back async"))
    assert response.choices[0].message.content == "Echo: fall back async"
    _check_fell_back(response)

    stream = await fallback.acompletion(
        model="primary", messages=messages("fall back stream"), stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: fall back stream"
    # The answer can only have come from `backup` (`primary` is a closed port). The Router's
    # bookkeeping rides on the last chunk in some LiteLLM releases and on none in others (1.108).
    marked = [c for c in chunks if router_headers(c).get("x-litellm-attempted-fallbacks")]
    if marked:
        _check_fell_back(marked[-1])


def test_without_retries_or_fallbacks_the_dead_server_error_reaches_the_caller(
    second_server: Server,
) -> None:
    """The control for the tests above: a lone dead deployment fails, with LiteLLM's class."""
    dead = Server(f"http://127.0.0.1:{closed_port()}", second_server.api_key)
    router = litellm.Router(
        model_list=[deployment(GROUP, dead, "dead", max_retries=0)], num_retries=0, timeout=TIMEOUT
    )
    with pytest.raises(litellm.APIConnectionError) as caught:
        router.completion(model=GROUP, messages=messages("nobody home"))
    assert dead.url in str(caught.value)
