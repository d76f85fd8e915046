"""What `OpenWebUIModel` takes from the facts: flattening for text-only models, `stop`."""

from __future__ import annotations

import pytest

from openwebui_adapters._model_facts import Capabilities, ModelFacts
from openwebui_adapters._smolagents_facts import flatten_messages_as_text, stop_parameter_supported


def facts(backend: str = "openai", vision: bool | None = None, **fields: str) -> ModelFacts:
    return ModelFacts(
        id=fields.pop("id", "m"),
        name="m",
        backend=backend,
        capabilities=Capabilities(vision=vision),
        **fields,
    )


@pytest.mark.parametrize(
    ("known", "given", "expected"),
    [
        (facts(vision=False), None, True),  # text only: send plain text
        (facts(vision=True), None, False),
        (facts(), None, False),  # unknown: smolagents' default
        (None, None, False),
        (facts(vision=False), False, False),  # the user's choice wins
        (facts(vision=True), True, True),
    ],
)
def test_flatten_for_a_model_without_vision_unless_told(
    known: ModelFacts | None, given: bool | None, expected: bool
) -> None:
    assert flatten_messages_as_text(known, given) is expected


def test_stop_follows_the_base_model_and_ollama_always_takes_it() -> None:
    assert stop_parameter_supported(None, "o3") is False
    assert stop_parameter_supported(None, "gpt-4o") is True
    assert (
        stop_parameter_supported(facts(id="team-assistant", base_model_id="o3"), "team-assistant")
        is False
    )
    assert stop_parameter_supported(facts(backend="ollama", id="o3:latest"), "o3:latest") is True


def test_the_model_reads_the_cached_facts_where_smolagents_asks() -> None:
    import httpx

    from openwebui_adapters._catalog import parse_models
    from openwebui_adapters._client import OpenWebUIClient
    from openwebui_adapters.smolagents import OpenWebUIModel

    def no_request(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the facts were read from the cache, not {request.url}")

    client = OpenWebUIClient(
        "http://owui.test", "sk-unit-facts", transport=httpx.MockTransport(no_request)
    )
    workspace = {"owned_by": "openai", "info": {"meta": {"capabilities": {"vision": False}}}}
    client.catalog.store(
        parse_models(
            {
                "data": [
                    {"id": "text-only", "name": "Text Only", **workspace},
                    {
                        "id": "reasoner",
                        "name": "Reasoner",
                        "owned_by": "openai",
                        "info": {"base_model_id": "o3", "meta": {"capabilities": {}}},
                    },
                ]
            }
        )
    )
    text_only = OpenWebUIModel("Text Only", client=client)
    assert text_only.flatten_messages_as_text is True  # the server says: no vision
    assert (
        OpenWebUIModel(
            "text-only", client=client, flatten_messages_as_text=False
        ).flatten_messages_as_text
        is False
    )
    assert OpenWebUIModel("unlisted", client=client).flatten_messages_as_text is False
    assert text_only.supports_stop_parameter is True
    assert (
        OpenWebUIModel("reasoner", client=client).supports_stop_parameter is False
    )  # o3 takes none
    assert "flatten_messages_as_text" not in text_only.to_dict()  # derived, not given: not saved
