"""One chat through each entry point as its users write it, the core's settings given under that
library's own names, for live tests that run one case through every library.

`chat("langchain", url, key, model, "hi", verify=ca, headers={...})` is
`ChatOpenWebUI(model=model, base_url=url, api_key=key, verify=ca, default_headers={...})
.invoke("hi")`; its answer's text is returned, and a failure raises what that library raises.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm
from smolagents.models import ChatMessage, MessageRole

import openwebui_adapters.litellm  # noqa: F401  (registers the provider)
from openwebui_adapters import OpenWebUIClient, errors
from openwebui_adapters.langchain import ChatOpenWebUI
from openwebui_adapters.smolagents import OpenWebUIModel

LIBRARIES = ("core", "litellm", "litellm_async", "langchain", "smolagents")

# Each library's name for the core's settings (what its users pass, what its errors name).
NAMES: dict[str, dict[str, str]] = {
    "core": {
        "server_url": "server_url",
        "verify": "verify",
        "headers": "headers",
        "api_key_header": "api_key_header",
        "max_retries": "max_retries",
    },
    "litellm": {
        "server_url": "api_base",
        "verify": "ssl_verify",
        "headers": "extra_headers",
        "api_key_header": "api_key_header",
        "max_retries": "max_retries",
    },
    "langchain": {
        "server_url": "base_url",
        "verify": "verify",
        "headers": "default_headers",
        "api_key_header": "api_key_header",
        "max_retries": "max_retries",
    },
    "smolagents": {
        "server_url": "api_base",
        "verify": "verify",
        "headers": "headers",
        "api_key_header": "api_key_header",
        "max_retries": "max_retries",
    },
}


def names(library: str) -> dict[str, str]:
    """`library`'s names for the settings (`litellm_async` is LiteLLM's)."""
    return NAMES[library.removesuffix("_async")]


def _renamed(library: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {names(library)[key]: value for key, value in settings.items()}


def chat(
    library: str, server_url: str, api_key: str, model: str, content: str, **settings: Any
) -> str:
    """`content` asked of `model` through `library`; settings by the core's keys (`verify`,
    `headers`, `api_key_header`, `max_retries`)."""
    given = _renamed(library, settings)
    messages = [{"role": "user", "content": content}]
    if library == "core":
        client = OpenWebUIClient(server_url, api_key, **given)
        answer = client.chat({"model": model, "messages": messages})
        return str(answer["choices"][0]["message"]["content"])
    if library in ("litellm", "litellm_async"):
        call = {
            "model": f"openwebui/{model}",
            "messages": messages,
            "api_base": server_url,
            "api_key": api_key,
            **given,
        }
        if library == "litellm":
            response = litellm.completion(**call)
        else:
            response = asyncio.run(litellm.acompletion(**call))
        return str(response.choices[0].message.content)
    if library == "langchain":
        chat_model = ChatOpenWebUI(model=model, base_url=server_url, api_key=api_key, **given)
        return str(chat_model.invoke(content).content)
    assert library == "smolagents", library
    smolagents_model = OpenWebUIModel(model, api_base=server_url, api_key=api_key, **given)
    message = ChatMessage(role=MessageRole.USER, content=[{"type": "text", "text": content}])
    return str(smolagents_model.generate([message]).content)


def core_error(error: BaseException) -> errors.OpenWebUIError:
    """The core's error behind what a library raised: itself (the core, smolagents, LangChain's
    twins are core classes too) or LiteLLM's error's cause."""
    core = error if isinstance(error, errors.OpenWebUIError) else error.__cause__
    assert isinstance(core, errors.OpenWebUIError), repr(error)
    return core
