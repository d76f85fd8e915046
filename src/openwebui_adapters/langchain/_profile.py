"""The server's model facts as LangChain's `ModelProfile` (what agents and middleware read).

Only stated facts become keys: a capability nobody states is absent, not False, as
`ModelProfile` (a `total=False` TypedDict) means it.
"""

from __future__ import annotations

from langchain_core.language_models.model_profile import ModelProfile

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._model_facts import ModelFacts

__all__ = ["cached_profile", "profile_from_facts"]


def profile_from_facts(facts: ModelFacts) -> ModelProfile:
    """LangChain's profile for one model's facts."""
    caps = facts.capabilities
    profile = ModelProfile(name=facts.name)
    if facts.context_length is not None:
        profile["max_input_tokens"] = facts.context_length
    if facts.max_output_tokens is not None:
        profile["max_output_tokens"] = facts.max_output_tokens
    if caps.chat is not None:
        profile["text_inputs"] = profile["text_outputs"] = caps.chat
    if caps.vision is not None:
        profile["image_inputs"] = caps.vision
    if caps.tools is not None:
        # Open WebUI passes `tool_choice` and streamed tool-call deltas through as they come.
        profile["tool_calling"] = profile["tool_choice"] = caps.tools
    if caps.structured_output is not None:
        profile["structured_output"] = caps.structured_output
    if caps.thinking is not None:
        profile["reasoning_output"] = caps.thinking
    return profile


def cached_profile(client: OpenWebUIClient, model: str) -> ModelProfile | None:
    """The profile from the facts the connection has cached, or None; never makes a request."""
    facts = client.cached_model_facts(model)
    return profile_from_facts(facts) if facts is not None else None
