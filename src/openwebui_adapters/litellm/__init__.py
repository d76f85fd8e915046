"""Open WebUI as LiteLLM's `openwebui/` provider.

`import openwebui_adapters.litellm` registers the provider, after which
`litellm.completion(model="openwebui/<model>", ...)` (and `acompletion`, streaming, `embedding`,
`aembedding`, the Router and the Proxy) reach the Open WebUI server in `api_base`/`api_key` or
`OPENWEBUI_SERVER_URL`/`OPENWEBUI_API_KEY`.

The handler only translates: LiteLLM's arguments into an OpenAI body for the core client, the
server's JSON into LiteLLM's objects, and the core's errors into LiteLLM's exception classes. The
route, the model id, retries and the diagnosis of failures live in the core.

Errors are LiteLLM's own classes (`litellm.exceptions`): `AuthenticationError`, `NotFoundError`
(unknown model, wrong route), `APIConnectionError`, `Timeout`, `RateLimitError`,
`InternalServerError`/`BadGatewayError`/`ServiceUnavailableError` by status, `APIError`... Their
message is the core's (layer, setting, fix), they carry the core's `layer`, `setting`, `hint`,
`url`, `suggestions` and `retry_after`, and the core error is their `__cause__`. A failure after
a stream's first chunk reaches the caller as LiteLLM's `MidStreamFallbackError` (it wraps every
provider's), whose `original_exception` is the translated error. LiteLLM iterates a custom
provider's async stream itself, so `acompletion(stream=True)` sends the request on the first
chunk: a 4xx raises its own class there, anything else arrives as `MidStreamFallbackError` with
`is_pre_first_chunk=True` (which the Router falls back on).

Retries: the core retries, with backoff and Retry-After, `max_retries` times (per call, in the
Router's `litellm_params`, or the core's default of 2), so a call makes `max_retries + 1`
attempts and LiteLLM adds none. `num_retries` (or `litellm.num_retries`) is LiteLLM's outer
loop: LiteLLM hands it to the provider as `max_retries` for the first call, then repeats the
whole call up to `num_retries` times with `max_retries=0`, as it does for its built-in providers
(where the OpenAI SDK retries inside). Prefer `max_retries`; set `num_retries` only if you want
LiteLLM's loop on top, and a Router's own `num_retries` multiplies with `max_retries`.

This package is `openwebui_adapters.litellm`; `import litellm` inside it is an absolute import
and finds the LiteLLM library, never this package. Its rooms: `_calls` (arguments in),
`_results` (objects out), `_errors` (the error table), `_handler`, `_models` (the server's model
facts in LiteLLM's table), `_embedding_params`, and `proxy` (the Proxy's start-up hook).
"""

from __future__ import annotations

import litellm
from litellm.llms.custom_llm import CustomLLM
from litellm.types.llms.custom_llm import CustomLLMItem
from litellm.utils import custom_llm_setup

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._settings import PROVIDER

from . import _on_demand
from ._calls import Call
from ._handler import OpenWebUILLM, handler
from ._models import register_models

__all__ = [
    "PROVIDER",
    "OpenWebUILLM",
    "handler",
    "lookup_facts",
    "register",
    "register_models",
]


def register(provider: str = PROVIDER, custom_handler: CustomLLM | None = None) -> None:
    """Make `<provider>/<model>` reach Open WebUI; idempotent, other custom providers kept.

    Importing this module calls it. Calling it again re-installs the handler (e.g. after code
    replaced `litellm.custom_provider_map`).
    """
    entry: CustomLLMItem = {"provider": provider, "custom_handler": custom_handler or handler}
    others = [item for item in litellm.custom_provider_map if item["provider"] != provider]
    litellm.custom_provider_map = [*others, entry]
    custom_llm_setup()  # type: ignore[no-untyped-call]  # lists the provider now, so get_supported_openai_params knows it


def lookup_facts(*, wait: float | None = _on_demand.DEFAULT_WAIT) -> None:
    """How LiteLLM's first lookup of an `openwebui/` model learns its facts from the server in
    `OPENWEBUI_SERVER_URL` (on from import, waiting 3 s at most): `wait=` seconds, or `None` to
    leave facts unknown until `register_models()` or the model's first successful call."""
    if wait is None:
        _on_demand.uninstall()
    else:
        _on_demand.install(_lookup_client, wait=wait)


def _lookup_client() -> OpenWebUIClient:
    """The client a call uses for the server in the environment, without retries (it shares
    the calls' connection and catalog)."""
    return Call(model="", optional_params={"max_retries": 0}).client


register()
lookup_facts()  # LiteLLM's lookups (a framework building an agent) learn the server's facts
