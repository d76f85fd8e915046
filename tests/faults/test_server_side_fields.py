"""Open WebUI's own request fields reach the server from every library, as given.

`tool_ids` (tools configured on the server) and `files` given as Open WebUI's raw items pass
through LiteLLM, LangChain and smolagents unchanged, streamed or not; neither costs a request
of its own (a raw item needs no lookup).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import litellm
import pytest
from server import CHAT, FaultServer

import openwebui_adapters.litellm  # noqa: F401  # registers openwebui/
from openwebui_adapters.langchain import ChatOpenWebUI
from openwebui_adapters.smolagents import OpenWebUIModel

MODEL = "gpt-4o"
KEY = "sk-server-fields-0000"
FILES = [{"type": "collection", "id": "kb-1"}, {"type": "file", "id": "f-1", "context": "full"}]
TOOL_IDS = ["web_search", "calculator"]
USER = [{"role": "user", "content": "hi"}]


def litellm_call(url: str, stream: bool) -> None:
    result = litellm.completion(
        model=f"openwebui/{MODEL}",
        messages=USER,
        api_base=url,
        api_key=KEY,
        files=FILES,
        tool_ids=TOOL_IDS,
        stream=stream,
    )
    if stream:
        list(result)


def langchain_call(url: str, stream: bool) -> None:
    model = ChatOpenWebUI(model=MODEL, base_url=url, api_key=KEY, tool_ids=TOOL_IDS)
    if stream:
        list(model.stream("hi", files=FILES))
    else:
        model.bind(files=FILES).invoke("hi")


def smolagents_call(url: str, stream: bool) -> None:
    model = OpenWebUIModel(MODEL, api_base=url, api_key=KEY, files=FILES, tool_ids=TOOL_IDS)
    if stream:
        list(model.generate_stream(USER))
    else:
        model.generate(USER)


CALLS: dict[str, Callable[[str, bool], None]] = {
    "litellm": litellm_call,
    "langchain": langchain_call,
    "smolagents": smolagents_call,
}


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        yield fault_server


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("library", list(CALLS))
def test_tool_ids_and_raw_file_items_reach_the_server_as_given(
    library: str, stream: bool, server: FaultServer
) -> None:
    CALLS[library](server.url, stream)
    (chat,) = [request.json() for request in server.requests if request.path == CHAT]
    assert chat["files"] == FILES
    assert chat["tool_ids"] == TOOL_IDS
    assert chat["stream"] is stream
    assert not [r for r in server.requests if r.path.startswith("/api/v1/knowledge")]
