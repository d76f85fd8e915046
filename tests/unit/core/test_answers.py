"""Answers of older Open WebUI releases reach every library in today's shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._replies import StreamFixer, fix_chat_answer, is_joined_batch
from openwebui_adapters.errors import ResponseError

URL = "http://owui.test/api/chat/completions"
TOOL_CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def answer(finish: str, tool_calls: list[Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}


def test_a_tool_call_that_ends_with_stop_ends_with_tool_calls() -> None:
    # Open WebUI before 0.8.2 on the Ollama path.
    fixed = fix_chat_answer(answer("stop", [TOOL_CALL]), URL)
    assert fixed["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("finish", "calls"), [("stop", None), ("stop", []), ("length", [TOOL_CALL])]
)
def test_other_finish_reasons_are_kept(finish: str, calls: list[Any] | None) -> None:
    assert fix_chat_answer(answer(finish, calls), URL)["choices"][0]["finish_reason"] == finish


@pytest.mark.parametrize("body", [None, [], {"detail": "x"}, {"choices": None}])
def test_a_body_that_is_no_chat_completion_is_a_response_error(body: Any) -> None:
    # Open WebUI 0.7.x answers 200 with `null` for a workspace model saved without capabilities.
    with pytest.raises(ResponseError) as caught:
        fix_chat_answer(body, URL)
    assert caught.value.url == URL


def test_a_streamed_tool_call_ending_with_stop_ends_with_tool_calls() -> None:
    fix = StreamFixer()
    chunks = [
        {"choices": [{"index": 0, "delta": {"tool_calls": [{**TOOL_CALL, "index": 0}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    assert [fix(c)["choices"][0].get("finish_reason") for c in chunks] == [None, "tool_calls"]


def test_a_streamed_text_answer_keeps_stop() -> None:
    fix = StreamFixer()
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}
    assert fix(chunk)["choices"][0]["finish_reason"] == "stop"
    assert fix({"sources": []}) == {"sources": []}  # a chunk without choices passes untouched


def test_joined_batch_is_one_vector_for_several_inputs() -> None:
    one = {"data": [{"embedding": [0.1], "index": 0}]}
    assert is_joined_batch(["a", "b"], one)
    assert not is_joined_batch(["a"], one)
    assert not is_joined_batch("a b", one)


class JoiningServer:
    """Like Open WebUI before 0.8.0 with an Ollama model: a batch comes back as one vector."""

    def __init__(self) -> None:
        self.inputs: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.inputs.append(body["input"])
        text = "\n".join(body["input"]) if isinstance(body["input"], list) else body["input"]
        vector = [float(len(text))]
        return httpx.Response(
            200, json={"object": "list", "data": [{"embedding": vector, "index": 0}], "model": None}
        )


def test_a_joined_batch_is_sent_again_one_input_at_a_time() -> None:
    server = JoiningServer()
    client = OpenWebUIClient("http://owui.test", "sk-test", transport=httpx.MockTransport(server))
    result = client.embed({"model": "nomic", "input": ["a", "bcd"]})
    assert [item["embedding"] for item in result["data"]] == [[1.0], [3.0]]
    assert [item["index"] for item in result["data"]] == [0, 1]
    assert server.inputs == [["a", "bcd"], ["a"], ["bcd"]]


async def test_the_async_embed_sends_a_joined_batch_again_too() -> None:
    server = JoiningServer()
    client = OpenWebUIClient("http://owui.test", "sk-test", transport=httpx.MockTransport(server))
    result = await client.aembed({"model": "nomic", "input": ["a", "bcd"]})
    assert [item["embedding"] for item in result["data"]] == [[1.0], [3.0]]


def test_fewer_vectors_than_inputs_is_a_response_error() -> None:
    def two_of_three(request: httpx.Request) -> httpx.Response:
        data = [{"embedding": [0.0], "index": i} for i in range(2)]
        return httpx.Response(200, json={"data": data})

    client = OpenWebUIClient(
        "http://owui.test", "sk-test", transport=httpx.MockTransport(two_of_three)
    )
    with pytest.raises(ResponseError, match="Expected 3 embeddings, the server sent 2"):
        client.embed({"model": "nomic", "input": ["a", "b", "c"]})


# --- mutation pass (issue 13): each test below fails when one branch of answers.py is removed


@pytest.mark.parametrize("choice", [None, "x", {"message": None, "finish_reason": "stop"}])
def test_a_malformed_choice_passes_through_untouched(choice: Any) -> None:
    assert fix_chat_answer({"choices": [choice]}, URL) == {"choices": [choice]}


@pytest.mark.parametrize(
    "choice", [None, "x", {"index": 0, "delta": None, "finish_reason": "stop"}]
)
def test_a_malformed_streamed_choice_passes_through_untouched(choice: Any) -> None:
    assert StreamFixer()({"choices": [choice]}) == {"choices": [choice]}


@pytest.mark.parametrize("body", [[], {"data": None}, {"data": {"embedding": [0.1]}}])
def test_an_embeddings_answer_without_a_list_of_vectors_is_a_response_error(body: Any) -> None:
    client = OpenWebUIClient(
        "http://owui.test",
        "sk-test",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)),
    )
    with pytest.raises(ResponseError, match="the server sent none"):
        client.embed({"model": "nomic", "input": ["a"]})


def test_vectors_answered_out_of_order_come_back_in_input_order() -> None:
    def reversed_order(request: httpx.Request) -> httpx.Response:
        data = [{"embedding": [1.0], "index": 1}, {"embedding": [0.0], "index": 0}]
        return httpx.Response(200, json={"data": data})

    client = OpenWebUIClient(
        "http://owui.test", "sk-test", transport=httpx.MockTransport(reversed_order)
    )
    result = client.embed({"model": "nomic", "input": ["a", "b"]})
    assert [item["index"] for item in result["data"]] == [0, 1]


def _embedding_client(answer: Callable[[Any], Any]) -> OpenWebUIClient:
    """A client whose embeddings answer `answer(input)` (a JSON body) for each request."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer(json.loads(request.content)["input"]))

    return OpenWebUIClient("http://owui.test", "sk-test", transport=httpx.MockTransport(handler))


def test_one_text_given_alone_gets_one_vector() -> None:
    client = _embedding_client(lambda given: {"data": [{"embedding": [0.5], "index": 0}]})
    assert client.embed({"model": "nomic", "input": "a whole sentence"})["data"] == [
        {"embedding": [0.5], "index": 0}
    ]


def test_vectors_without_an_index_are_kept_in_the_order_sent() -> None:
    client = _embedding_client(lambda given: {"data": [{"embedding": [1.0]}, {"embedding": [2.0]}]})
    result = client.embed({"model": "nomic", "input": ["a", "b"]})
    assert [item["embedding"] for item in result["data"]] == [[1.0], [2.0]]


def _joined_then(per_input: Callable[[str], Any]) -> OpenWebUIClient:
    """A server that joins a batch into one vector, and answers each input with `per_input`."""
    return _embedding_client(
        lambda given: (
            {"data": [{"embedding": [0.0], "index": 0}]} if len(given) > 1 else per_input(given[0])
        )
    )


@pytest.mark.parametrize(
    "answer_for_b",
    [
        pytest.param({"data": [{"embedding": [1.0]}, {"embedding": [2.0]}]}, id="two vectors"),
        pytest.param({"data": None}, id="no vectors"),
        pytest.param([{"embedding": [1.0]}], id="not an object"),
    ],
)
def test_an_input_sent_again_alone_must_come_back_as_one_vector(answer_for_b: Any) -> None:
    client = _joined_then(
        lambda text: answer_for_b if text == "b" else {"data": [{"embedding": [1.0]}]}
    )
    with pytest.raises(ResponseError, match="Expected 1 embedding for input 1"):
        client.embed({"model": "nomic", "input": ["a", "b"]})


def test_the_usage_of_inputs_sent_again_alone_is_summed() -> None:
    def alone(text: str) -> Any:
        usage = {"prompt_tokens": len(text), "total_tokens": len(text) if text != "bb" else None}
        usage["prompt_tokens_details"] = {"cached_tokens": 0}  # not a count: left out
        return {"data": [{"embedding": [1.0]}], "usage": usage}

    result = _joined_then(alone).embed({"model": "nomic", "input": ["a", "bb"]})
    assert result["usage"] == {"prompt_tokens": 3, "total_tokens": 1}
