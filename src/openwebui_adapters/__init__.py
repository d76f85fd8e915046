"""Open WebUI as a model provider for LiteLLM, LangChain and smolagents.

The core (this package's top level) depends on httpx only. Adapters live in
`openwebui_adapters.litellm`, `openwebui_adapters.langchain` and `openwebui_adapters.smolagents`
and import their library only when imported themselves.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "ModelInfo",
    "ModelNotFoundError",
    "OpenWebUIClient",
    "OpenWebUIError",
    "Settings",
    "__version__",
    "errors",
]

# Public name -> module that defines it; imported on first access to keep `import` cheap.
_LAZY = {
    "OpenWebUIClient": "_client",
    "ModelInfo": "_catalog",
    "Settings": "_settings",
    "OpenWebUIError": "errors",
    "ConfigurationError": "errors",
    "ModelNotFoundError": "errors",
}

if TYPE_CHECKING:
    from . import errors
    from ._catalog import ModelInfo
    from ._client import OpenWebUIClient
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
