"""The connection fields every LangChain class declares, once, and the core client they build."""

from __future__ import annotations

import ssl
import warnings
from typing import Any

from langchain_core.utils import from_env, get_pydantic_field_names, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._settings import Settings
from openwebui_adapters.errors import API_KEY, SERVER_URL

__all__ = ["ConnectionFields", "collect_model_kwargs"]


class ConnectionFields(BaseModel):
    """Where and how to reach the server: LangChain's names for the core's settings (the
    `SETTINGS` table maps them); the client is built from them once, after validation."""

    base_url: str | None = Field(default_factory=from_env(SERVER_URL, default=None))
    """The Open WebUI server's address; defaults to `OPENWEBUI_SERVER_URL`."""
    api_key: SecretStr | None = Field(default_factory=secret_from_env(API_KEY, default=None))
    """An Open WebUI API key; defaults to `OPENWEBUI_API_KEY`."""
    timeout: float | None = None
    """Seconds to wait for an answer (the core's default is 600)."""
    connect_timeout: float | None = None
    """Seconds to wait for a connection (default: 10, never more than `timeout`)."""
    max_retries: int | None = None
    """Retries on connection failures and 408/429/5xx (the core's default is 2)."""
    default_headers: dict[str, str] | None = None
    """Extra headers for every request (a proxy's or a sign-in gate's token)."""
    verify: bool | str | ssl.SSLContext | None = None
    """TLS verification: True, False, a CA bundle path, "system", or an `ssl.SSLContext`."""
    api_key_header: str | None = None
    """The header that carries the key instead of `Authorization` (e.g. `x-api-key`)."""
    client: OpenWebUIClient | None = Field(default=None, exclude=True, repr=False)
    """A prebuilt core client to use instead of one built from the settings above."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @model_validator(mode="after")
    def _build_client(self) -> Any:
        self.core_client()
        return self

    def core_client(self) -> OpenWebUIClient:
        """The core client (built on first use; the key leaves its SecretStr here only)."""
        if self.client is None:
            key = self.api_key.get_secret_value() if self.api_key is not None else None
            settings = Settings.resolve(
                self.base_url,
                key,
                library="langchain",
                timeout=self.timeout,
                connect_timeout=self.connect_timeout,
                max_retries=self.max_retries,
                verify=self.verify,
                headers=self.default_headers,
                api_key_header=self.api_key_header,
            )
            self.client = OpenWebUIClient.from_settings(settings)
        return self.client


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
