"""Constructor helpers shared by the chat model and the embeddings."""

from __future__ import annotations

import ssl
import warnings
from typing import Any, Protocol

from langchain_core.utils import get_pydantic_field_names
from pydantic import BaseModel, SecretStr

from openwebui_adapters._client import OpenWebUIClient

__all__ = [
    "ConnectionFields",
    "collect_model_kwargs",
    "core_client",
]


class ConnectionFields(Protocol):
    """The connection settings both LangChain classes declare as fields."""

    base_url: str | None
    api_key: SecretStr | None
    timeout: float | None
    max_retries: int | None
    verify: bool | str | ssl.SSLContext | None
    default_headers: dict[str, str] | None


def core_client(fields: ConnectionFields) -> OpenWebUIClient:
    """The core client for a LangChain object's connection fields (the key leaves its SecretStr here only)."""
    return OpenWebUIClient(
        fields.base_url,
        fields.api_key.get_secret_value() if fields.api_key is not None else None,
        timeout=fields.timeout,
        max_retries=fields.max_retries,
        verify=fields.verify,
        headers=fields.default_headers,
    )


def collect_model_kwargs(cls: type[BaseModel], values: Any) -> Any:
    """Move constructor arguments that are not fields into `model_kwargs` (sent in the body)."""
    if not isinstance(values, dict):
        return values
    known = get_pydantic_field_names(cls)
    extra = {name: values.pop(name) for name in list(values) if name not in known}
    if extra:
        warnings.warn(
            f"{cls.__name__} has no field {', '.join(sorted(extra))}: sent in the request body "
            "as model_kwargs (pass model_kwargs={...} to silence this warning)",
            stacklevel=4,
        )
        values["model_kwargs"] = {**(values.get("model_kwargs") or {}), **extra}
    return values
