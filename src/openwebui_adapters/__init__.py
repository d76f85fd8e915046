"""Open WebUI as a model provider for LiteLLM, LangChain and smolagents.

The core (this package's top level) depends on httpx only. Adapters live in
`openwebui_adapters.litellm`, `openwebui_adapters.langchain` and `openwebui_adapters.smolagents`
and import their library only when imported themselves. Everything public is named here (or in
`errors`, `doctor` and the adapters); modules whose name starts with `_` are internal.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Capabilities",
    "ChatAnswer",
    "Choice",
    "Citation",
    "ConfigurationError",
    "EmbeddingAnswer",
    "KnowledgeBase",
    "ModelFacts",
    "ModelInfo",
    "ModelNotFoundError",
    "OpenWebUIClient",
    "OpenWebUIError",
    "Settings",
    "StreamChunk",
    "ToolCall",
    "ToolCallDelta",
    "UploadedFile",
    "Usage",
    "__version__",
    "errors",
]

# Public name -> internal module that defines it; imported on first access to keep `import` cheap.
_LAZY = {
    "OpenWebUIClient": "_client",
    "Settings": "_settings",
    "ModelInfo": "_catalog",
    "Capabilities": "_model_facts",
    "ModelFacts": "_model_facts",
    "ChatAnswer": "_replies",
    "Choice": "_replies",
    "Citation": "_replies",
    "EmbeddingAnswer": "_replies",
    "StreamChunk": "_replies",
    "ToolCall": "_replies",
    "ToolCallDelta": "_replies",
    "Usage": "_replies",
    "KnowledgeBase": "_knowledge._records",
    "UploadedFile": "_knowledge._records",
    "OpenWebUIError": "errors",
    "ConfigurationError": "errors",
    "ModelNotFoundError": "errors",
}

if TYPE_CHECKING:
    from . import errors
    from ._catalog import ModelInfo
    from ._client import OpenWebUIClient
    from ._knowledge._records import KnowledgeBase, UploadedFile
    from ._model_facts import Capabilities, ModelFacts
    from ._replies import (
        ChatAnswer,
        Choice,
        Citation,
        EmbeddingAnswer,
        StreamChunk,
        ToolCall,
        ToolCallDelta,
        Usage,
    )
    from ._settings import Settings
    from .errors import ConfigurationError, ModelNotFoundError, OpenWebUIError


def __getattr__(name: str) -> Any:
    if name == "errors":
        return import_module(".errors", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
