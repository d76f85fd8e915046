"""LiteLLM learns a model's facts at its first lookup (`litellm.lookup_facts`), against a
server on 127.0.0.1 answering with the recorded `/api/models` and `/ollama/api/show`
(tests/data/model_facts_*), through the provider's own client factory and shared connections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm

import openwebui_adapters.litellm  # noqa: F401  # registers the provider and the learning table
from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._model_facts import SHOW_PATH
from openwebui_adapters.litellm import _on_demand as on_demand
from openwebui_adapters.litellm import lookup_facts

sys.path.insert(0, str(Path(__file__).parents[2] / "faults"))

from server import CHAT, MODELS, Conn, FaultServer, Request, completion, slow, status

pytestmark = [
    pytest.mark.usefixtures("litellm_knows_no_openwebui_model"),
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]

DATA = Path(__file__).parents[2] / "data"
LISTED = json.loads((DATA / "model_facts_api_models.json").read_text())
SHOWN = json.loads((DATA / "model_facts_ollama_show.json").read_text())
KEY = "sk-unit-0000"
LLAMA = "openwebui/stub-llama:latest"


def show(conn: Conn, request: Request) -> None:
    status(200, SHOWN[request.json()["model"]])(conn, request)


def chat(conn: Conn, request: Request) -> None:
    status(200, completion(request.json()["model"]))(conn, request)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """The recorded server; each test may slow its list down."""
    with FaultServer() as running:
        running.route(MODELS, status(200, LISTED))
        running.route(SHOW_PATH, show)
        running.route(CHAT, chat)
        yield running


@pytest.fixture
def env(server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> FaultServer:
    """The environment names the server, as a framework's user sets it."""
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", server.url)
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    return server


def test_nothing_is_asked_at_import_and_the_first_lookup_answers(env: FaultServer) -> None:
    script = (
        "import sys, litellm, openwebui_adapters.litellm\n"
        "print('imported', flush=True); sys.stdin.readline()\n"
        "print(litellm.supports_function_calling('openwebui/stub-llama'), flush=True)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    ) as fresh:
        assert fresh.stdout is not None
        assert fresh.stdin is not None
        assert fresh.stdout.readline() == "imported\n"
        assert env.hits() == 0
        fresh.stdin.write("go\n")
        fresh.stdin.flush()
        assert fresh.stdout.readline() == "True\n"
    assert env.paths() == {MODELS: 1, SHOW_PATH: 1}


def test_the_first_lookup_registers_the_model_as_register_models_does(env: FaultServer) -> None:
    assert litellm.supports_function_calling(LLAMA) is True
    assert litellm.supports_vision("openwebui/stub-llama") is True  # the tagless name too
    assert litellm.supports_response_schema(LLAMA) is True
    info = litellm.get_model_info(LLAMA)
    assert (info["max_input_tokens"], info["litellm_provider"]) == (8192, "openwebui")
    assert env.paths() == {MODELS: 1, SHOW_PATH: 1}


def test_one_list_per_server_and_key(env: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert litellm.supports_function_calling(LLAMA) is True
    # Other models of the same server: no second list; a workspace model on that Ollama model
    # asks nothing more, another Ollama model its own /api/show.
    assert litellm.get_model_info("openwebui/Vision Helper")["supports_vision"] is True
    assert litellm.supports_function_calling("openwebui/stub-gpt") is False  # nobody says
    assert env.paths() == {MODELS: 1, SHOW_PATH: 1}
    assert litellm.get_model_info("openwebui/stub-embed-ollama")["mode"] == "embedding"
    assert env.paths() == {MODELS: 1, SHOW_PATH: 2}
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-unit-1111")  # another user: another catalog
    litellm.get_model_info("openwebui/stub-embed")
    assert env.paths()[MODELS] == 2


def test_a_name_the_server_lacks_is_asked_about_once(env: FaultServer) -> None:
    for _ in range(3):
        assert litellm.supports_function_calling("openwebui/no-such-model") is False
        with pytest.raises(Exception, match="isn't mapped"):
            litellm.get_model_info("openwebui/no-such-model")
    assert env.paths() == {MODELS: 1}


def test_concurrent_lookups_share_one_list_request(env: FaultServer) -> None:
    env.route(MODELS, slow(status(200, LISTED), 0.3))
    names = [LLAMA, "openwebui/stub-llama", "openwebui/Vision Helper", "openwebui/stub-gpt"] * 3
    answers: dict[str, bool] = {}
    start = threading.Barrier(len(names))

    def look_up(name: str) -> None:
        start.wait()
        answers[name] = litellm.supports_vision(name)

    threads = [threading.Thread(target=look_up, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {
        LLAMA: True,
        "openwebui/stub-llama": True,
        "openwebui/Vision Helper": True,
        "openwebui/stub-gpt": False,
    }
    assert env.paths() == {MODELS: 1, SHOW_PATH: 1}  # stub-llama's, which vision-helper is on


def test_a_slow_server_bounds_the_wait_and_registers_later(env: FaultServer) -> None:
    lookup_facts(wait=0.3)
    env.route(MODELS, slow(status(200, LISTED), 1.0))
    started = time.monotonic()
    assert litellm.supports_function_calling(LLAMA) is False  # not known in time
    assert time.monotonic() - started < 0.9
    started = time.monotonic()
    assert litellm.supports_function_calling(LLAMA) is False  # the wait is spent: no new wait
    assert time.monotonic() - started < 0.2
    deadline = time.monotonic() + 5
    while not litellm.supports_function_calling(LLAMA) and time.monotonic() < deadline:
        time.sleep(0.05)  # the answer that came late still registers, for later lookups
    assert litellm.supports_function_calling(LLAMA) is True
    assert env.paths()[MODELS] == 1


def test_a_server_out_of_reach_leaves_the_facts_unknown_until_a_call(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = FaultServer().start()
    closed.stop()  # a port nothing listens on
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", closed.url)
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    assert litellm.supports_function_calling("openwebui/stub-gpt") is False
    with pytest.raises(Exception, match="isn't mapped"):
        litellm.get_model_info("openwebui/stub-gpt")
    # A call that reaches a server registers the model as before (the server is not asked again
    # by the lookups the call makes).
    response = litellm.completion(
        model="openwebui/stub-gpt",
        messages=[{"role": "user", "content": "hi"}],
        api_base=server.url,
        api_key=KEY,
    )
    assert response.choices[0].message.content
    assert litellm.get_model_info("openwebui/stub-gpt")["litellm_provider"] == "openwebui"
    assert server.paths() == {CHAT: 1}


def test_an_api_base_given_only_to_the_lookup_is_not_seen(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENWEBUI_SERVER_URL", raising=False)
    monkeypatch.delenv("OPENWEBUI_API_KEY", raising=False)
    # LiteLLM keeps api_base for its built-in providers' model-info classes: the table lookup a
    # custom provider gets never sees it, so nothing is asked and the facts stay unknown.
    with pytest.raises(Exception, match="isn't mapped"):
        litellm.get_model_info(LLAMA, api_base=server.url)
    assert server.hits() == 0


def test_uninstall_puts_the_plain_table_back(env: FaultServer) -> None:
    lookup_facts(wait=None)
    assert type(litellm.model_cost) is dict
    assert not on_demand.installed()
    assert litellm.supports_function_calling(LLAMA) is False
    plain = litellm.model_cost
    lookup_facts(wait=None)  # already plain: not copied again
    assert litellm.model_cost is plain
    litellm.completion(model="openwebui/stub-gpt", messages=[{"role": "user", "content": "hi"}])
    assert litellm.model_cost is plain  # a call does not put the learning table back
    assert env.paths() == {CHAT: 1}
    lookup_facts()
    assert on_demand.installed()
    assert litellm.supports_function_calling(LLAMA) is True


def test_a_reloaded_price_list_gets_the_table_back_at_the_next_call(env: FaultServer) -> None:
    litellm.model_cost = dict(litellm.model_cost)  # what LiteLLM's reload of its price list does
    assert not on_demand.installed()
    litellm.completion(model="openwebui/stub-gpt", messages=[{"role": "user", "content": "hi"}])
    assert on_demand.installed()
    assert litellm.supports_function_calling(LLAMA) is True


@pytest.mark.parametrize(
    "given", [{}, {"OPENWEBUI_SERVER_URL": "http://owui.test"}, {"OPENWEBUI_API_KEY": KEY}]
)
def test_without_both_environment_variables_a_lookup_builds_no_client(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, str]
) -> None:
    monkeypatch.delenv("OPENWEBUI_SERVER_URL", raising=False)
    monkeypatch.delenv("OPENWEBUI_API_KEY", raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    built: list[str] = []

    def factory() -> OpenWebUIClient:
        built.append("client")
        raise AssertionError("a client was built")

    on_demand.install(factory, wait=1.0)
    assert litellm.supports_function_calling(LLAMA) is False
    assert built == []


def test_a_lookup_the_server_cannot_answer_leaves_no_unhandled_thread_error(
    env: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts are learned in a thread of their own: a failure there stays a debug line."""
    env.route(MODELS, status(500, {"detail": "boom"}))
    unhandled: list[object] = []
    monkeypatch.setattr(threading, "excepthook", unhandled.append)
    assert litellm.supports_function_calling(LLAMA) is False
    assert unhandled == []


def test_a_name_the_server_lacks_is_no_failure_to_log(
    env: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG", logger="openwebui_adapters"):
        assert litellm.supports_function_calling("openwebui/no-such-model") is False
    assert not [r for r in caplog.records if "no model facts" in r.getMessage()]


@pytest.mark.parametrize(
    "key", ["stub-llama:latest", "ollama/stub-llama:latest", ("openwebui/stub-llama",)]
)
def test_a_key_that_is_no_openwebui_model_name_asks_nothing(env: FaultServer, key: object) -> None:
    assert key not in litellm.model_cost
    assert env.hits() == 0


def test_a_table_kept_from_before_uninstall_asks_nothing(env: FaultServer) -> None:
    """A module that took `litellm.model_cost` by name still holds the learning table."""
    kept = litellm.model_cost
    lookup_facts(wait=None)
    assert "openwebui/stub-llama" not in kept
    assert env.hits() == 0
    litellm.model_cost = kept  # put back by whoever held it: still nothing learns
    assert not on_demand.installed()


@pytest.mark.parametrize("wait", [0, -1.0, float("nan")])
def test_a_wait_that_is_not_positive_is_refused(wait: float) -> None:
    with pytest.raises(ValueError, match="wait must be a positive number of seconds"):
        lookup_facts(wait=wait)


def test_each_call_keeps_the_same_table_without_copying_it(env: FaultServer) -> None:
    table = litellm.model_cost
    for _ in range(2):
        litellm.completion(model="openwebui/stub-gpt", messages=[{"role": "user", "content": "hi"}])
    assert litellm.model_cost is table
