"""What `OpenWebUIModel` takes from the facts: flattening for text-only models, `stop`."""

from __future__ import annotations

import pytest

from openwebui_adapters._smolagents_facts import flatten_messages_as_text, stop_parameter_supported
from openwebui_adapters.model_facts import Capabilities, ModelFacts


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
