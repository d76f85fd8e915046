"""OpenWebUIEmbeddings against a fake server: batching, order, async, errors."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from langchain_core.exceptions import ModelAPIError, ModelAuthenticationError
from langchain_fake_server import URL, FakeServer

from openwebui_adapters.errors import ResponseError
from openwebui_adapters.langchain import OpenWebUIEmbeddings
from samples import sample_response as sample


def vectors_for(request: httpx.Request) -> httpx.Response:
    """One vector per input, [len(text), position], listed in reverse to test re-ordering."""
    texts = json.loads(request.content)["input"]
    data = [
        {"object": "embedding", "index": i, "embedding": [len(text), i]}
        for i, text in enumerate(texts)
    ]
    return httpx.Response(200, json={"object": "list", "data": data[::-1], "model": "stub-embed"})


@pytest.fixture
def echo_server(server: FakeServer) -> FakeServer:
    return server.respond_with(vectors_for)


def test_documents_are_sent_in_chunk_size_batches_and_come_back_in_order(
    echo_server: FakeServer,
) -> None:
    embeddings = echo_server.embeddings(chunk_size=2)
    vectors = embeddings.embed_documents(["a", "bb", "ccc", "dddd", "eeeee"])
    assert vectors == [[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0], [5.0, 0.0]]
    assert [body["input"] for body in echo_server.bodies] == [
        ["a", "bb"],
        ["ccc", "dddd"],
        ["eeeee"],
    ]
    assert echo_server.requests[0].url == f"{URL}/api/embeddings"


async def test_async_batches_run_natively_and_keep_order(echo_server: FakeServer) -> None:
    embeddings = echo_server.embeddings(chunk_size=2)
    vectors = await embeddings.aembed_documents(["a", "bb", "ccc"])
    assert vectors == [[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]
    assert set(echo_server.threads) == {threading.current_thread()}


async def test_query_embeds_one_text(echo_server: FakeServer) -> None:
    embeddings = echo_server.embeddings()
    assert embeddings.embed_query("abc") == [3.0, 0.0]
    assert await embeddings.aembed_query("abcd") == [4.0, 0.0]
    assert echo_server.body["input"] == ["abcd"]


def test_no_documents_send_no_request(echo_server: FakeServer) -> None:
    assert echo_server.embeddings().embed_documents([]) == []
    assert echo_server.requests == []


def test_dimensions_and_model_kwargs_are_sent(echo_server: FakeServer) -> None:
    echo_server.embeddings(dimensions=64, model_kwargs={"encoding_format": "float"}).embed_query(
        "x"
    )
    assert echo_server.body == {
        "model": "stub-embed",
        "input": ["x"],
        "dimensions": 64,
        "encoding_format": "float",
    }


def test_a_short_answer_is_a_response_error(server: FakeServer) -> None:
    two = [{"index": i, "embedding": [0.1]} for i in range(2)]
    server.reply(httpx.Response(200, json={"data": two}))
    with pytest.raises(ModelAPIError) as caught:
        server.embeddings().embed_documents(["a", "b", "c"])
    assert isinstance(caught.value, ResponseError)


def test_an_ollama_backed_answer(server: FakeServer) -> None:
    """Open WebUI 0.12.4's answer for an Ollama embedding model (no usage, index last)."""
    server.reply(
        httpx.Response(
            200,
            content=b'{"object":"list","data":[{"object":"embedding","embedding":[0.1,0.2,0.3],'
            b'"index":0}],"model":"stub-embed-ollama:latest"}',
        )
    )
    assert server.embeddings(model="stub-embed-ollama:latest").embed_query("x") == [0.1, 0.2, 0.3]


async def test_a_refused_key_is_model_authentication_error(server: FakeServer) -> None:
    server.reply(sample("err_badkey_chat"))
    with pytest.raises(ModelAuthenticationError, match="set api_key"):
        server.embeddings().embed_query("x")
    with pytest.raises(ModelAuthenticationError):
        await server.embeddings().aembed_query("x")


def test_settings_default_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", URL)
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-env")
    embeddings = OpenWebUIEmbeddings(model="stub-embed")
    assert embeddings.base_url == URL
    assert embeddings.api_key is not None
    assert embeddings.api_key.get_secret_value() == "sk-env"
    assert "sk-env" not in repr(embeddings)
