"""The OpenAI embedding parameters the `openwebui` provider takes, declared to LiteLLM.

LiteLLM refuses any embedding parameter for a provider it has no configuration for, so without
this the OpenAI SDK's embeddings through the Proxy (which always send `encoding_format`) needed
`drop_params`, and `dimensions` was lost with it. LiteLLM has no table to declare them in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

import litellm.main

from openwebui_adapters._settings import PROVIDER

__all__ = ["EMBEDDING_PARAMS", "declare_embedding_params"]

EMBEDDING_PARAMS: Final = ("encoding_format", "dimensions", "user")
"""The OpenAI embedding parameters Open WebUI's `/api/embeddings` passes to its backends."""

_EmbeddingParams = Callable[..., dict[str, Any]]


def _with_declared_params(original: _EmbeddingParams) -> _EmbeddingParams:
    @functools.wraps(original)
    def get_optional_params_embeddings(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("custom_llm_provider") != PROVIDER:
            return original(*args, **kwargs)
        dropped = set(kwargs.get("additional_drop_params") or ())
        declared = {
            key: kwargs.pop(key)
            for key in EMBEDDING_PARAMS
            if kwargs.get(key) is not None and key not in dropped
        }
        # LiteLLM still handles everything else (extra_body, its own checks) as before.
        return {**original(*args, **kwargs), **declared}

    get_optional_params_embeddings.__openwebui_declared__ = True  # type: ignore[attr-defined]
    return get_optional_params_embeddings


def declare_embedding_params() -> bool:
    """Make LiteLLM pass `EMBEDDING_PARAMS` to the `openwebui` provider instead of refusing them.

    LiteLLM checks a custom provider's embedding parameters in `get_optional_params_embeddings`
    (1.101 to 1.110 alike) and has no table to declare them in: the function `litellm.main`
    calls is wrapped, for this provider only. Idempotent; False if LiteLLM has no such function
    (then `drop_params: true` remains the way out).
    """
    original = getattr(litellm.main, "get_optional_params_embeddings", None)
    if original is None:
        return False
    if not getattr(original, "__openwebui_declared__", False):
        litellm.main.get_optional_params_embeddings = _with_declared_params(original)  # type: ignore[attr-defined]
    return True
