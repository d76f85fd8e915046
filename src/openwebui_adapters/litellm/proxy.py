"""The LiteLLM Proxy's start-up hook: the server's model facts, registered as the Proxy starts.

List `openwebui_adapters.litellm.proxy.register_at_start` in `litellm_settings.callbacks`: the
Proxy looks it up while it reads its config, before it builds its Router, which calls
`register_models()` from `OPENWEBUI_SERVER_URL`/`OPENWEBUI_API_KEY` (a failure is logged, and the
Proxy starts anyway: each model is then registered after its first call).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from ._models import register_models

__all__: list[str] = []  # `register_at_start` is made on first lookup, see __getattr__

logger = logging.getLogger(__name__)


class _RegisteredAtStart(CustomLogger):
    """What `litellm_settings.callbacks` loads; it logs nothing (its loading registered)."""


_start_lock = threading.Lock()
_at_start: _RegisteredAtStart | None = None


def __getattr__(name: str) -> Any:
    # The Proxy resolves `openwebui_adapters.litellm.proxy.register_at_start` with getattr while
    # it reads its config, before it builds its Router: the moment to register the server's models.
    global _at_start
    if name != "register_at_start":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _start_lock:
        if _at_start is None:
            _at_start = _RegisteredAtStart()
            try:
                register_models()
            except Exception:  # the Proxy still starts; models register after their first call
                logger.warning("register_models() at Proxy start failed", exc_info=True)
    return _at_start
