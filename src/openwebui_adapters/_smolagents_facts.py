"""What `OpenWebUIModel` takes from the server's model facts where smolagents asks.

Both read the facts the connection has cached (`OpenWebUIClient.cached_model_facts`), so they
never cost a request; without facts they answer as smolagents would for any model.
"""

from __future__ import annotations

from smolagents.models import supports_stop_parameter

from ._model_facts import ModelFacts

__all__ = ["flatten_messages_as_text", "stop_parameter_supported"]


def flatten_messages_as_text(facts: ModelFacts | None, given: bool | None) -> bool:
    """Whether to send messages as plain text: what the user gave, else True for a model the
    server says has no vision (a text-only backend then never sees content lists)."""
    if given is not None:
        return given
    return facts is not None and facts.capabilities.vision is False


def stop_parameter_supported(facts: ModelFacts | None, model_id: str) -> bool:
    """Whether to send `stop`: Ollama always takes it; otherwise smolagents' own rule, applied
    to the base model's id when the model is a workspace model (`team-assistant` on `o3`)."""
    if facts is None:
        return bool(supports_stop_parameter(model_id))
    if facts.backend == "ollama":
        return True
    return bool(supports_stop_parameter(facts.base_model_id or facts.id))
