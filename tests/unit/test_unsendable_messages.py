"""A message that cannot be sent as JSON (issue 17): in each library, its error class for a
setting that is wrong, naming `messages[i]` and the type, and nothing sent."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from openwebui_adapters import errors
from openwebui_adapters._client import OpenWebUIClient

URL = "http://owui.test"
KEY = "sk-unit-unsendable"


class Recorder:
    """Answers nothing useful: any request reaching it fails the test."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500, json={"detail": "should not have been sent"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def client(self, *args: Any, **kwargs: Any) -> OpenWebUIClient:
        kwargs.setdefault("max_retries", 0)
        if not args:
            args = (URL, KEY)
        return OpenWebUIClient(*args, transport=httpx.MockTransport(self), **kwargs)


class Unsendable:
    """Stands for whatever a program puts in a message by mistake (a file handle, a model)."""


def test_litellm_raises_its_bad_request_error(monkeypatch: pytest.MonkeyPatch) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm = pytest.importorskip("litellm")
    from litellm import exceptions as llm_errors

    import openwebui_adapters.litellm as adapter
    from scripted_clients import route_litellm_clients

    recorder = Recorder()
    route_litellm_clients(monkeypatch, recorder.transport)
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", URL)
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    adapter.register()
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi", "extra": Unsendable()}]},
    ]
    with pytest.raises(llm_errors.BadRequestError) as caught:
        litellm.completion(model="openwebui/stub-gpt", messages=messages, num_retries=0)
    assert "messages[1].content[0].extra" in str(caught.value)
    assert "Unsendable" in str(caught.value)
    # Nothing of the chat was sent (an older LiteLLM looks the model's facts up first: a list).
    assert [r.url.path for r in recorder.requests if r.method == "POST"] == []


def test_langchain_raises_the_configuration_error() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.messages import HumanMessage

    from openwebui_adapters.langchain import ChatOpenWebUI

    recorder = Recorder()
    model = ChatOpenWebUI(model="stub-gpt", client=recorder.client())
    image = {"type": "image_url", "image_url": {"url": Unsendable()}}
    message = HumanMessage(content=[{"type": "text", "text": "hi"}, image])
    with pytest.raises(errors.ConfigurationError) as caught:
        model.invoke([message])
    assert "messages[0].content[1].image_url.url" in str(caught.value)
    assert "Unsendable" in str(caught.value)
    with pytest.raises(errors.ConfigurationError):
        list(model.stream([message]))
    assert recorder.requests == []


def test_smolagents_raises_the_configuration_error() -> None:
    pytest.importorskip("smolagents")
    from smolagents.models import ChatMessage, MessageRole

    from openwebui_adapters.smolagents import OpenWebUIModel

    recorder = Recorder()
    model = OpenWebUIModel("stub-gpt", client=recorder.client())
    message = ChatMessage(
        role=MessageRole.USER, content=[{"type": "text", "text": "hi", "extra": Unsendable()}]
    )
    with pytest.raises(errors.ConfigurationError) as caught:
        model.generate([message])
    assert "messages[0].content[0].extra" in str(caught.value)
    assert "Unsendable" in str(caught.value)
    assert recorder.requests == []


def test_what_the_encoder_refuses_but_no_walk_names_is_still_refused_before_sending() -> None:
    recorder = Recorder()
    messages = [{"role": "user", "content": "hi", "scores": {float("nan"): 1}}]  # a NaN key
    with pytest.raises(errors.ConfigurationError, match="cannot be sent as JSON") as caught:
        recorder.client().chat({"model": "stub-gpt", "messages": messages})
    assert caught.value.setting == "messages"
    assert recorder.requests == []


def test_the_value_named_is_the_unsendable_one_not_a_sendable_one_before_it() -> None:
    recorder = Recorder()
    messages = [{"role": "user", "content": ["hi", 1.5, None, True], "extra": Unsendable()}]
    with pytest.raises(errors.ConfigurationError) as caught:
        recorder.client().chat({"model": "stub-gpt", "messages": messages})
    assert caught.value.message.startswith("messages[0].extra holds a ")
    assert "Unsendable" in caught.value.message
    assert recorder.requests == []


def test_a_key_json_cannot_hold_is_named_as_such() -> None:
    recorder = Recorder()
    messages = [{"role": "user", "content": "hi", "scores": {("a", "b"): 1}}]
    with pytest.raises(errors.ConfigurationError) as caught:
        recorder.client().chat({"model": "stub-gpt", "messages": messages})
    assert caught.value.message.startswith("messages[0].scores holds a key of type tuple")
    assert recorder.requests == []
