"""What the frameworks' tests share: the server's tool and file, and the provider's calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import litellm
import pytest

TOOL_ID = "office_clock"
TOOL_CODE = '''"""
title: Office clock
"""


class Tools:
    def office_clock(self, city: str) -> str:
        """The time at the office in a city.

        :param city: the city
        """
        return f"nine o'clock in {city}"
'''
FILE_TEXT = "The Lyon office opens at nine every weekday."


def known(model: str) -> dict[str, Any] | None:
    """LiteLLM's table entry for `openwebui/<model>`, read without asking the server."""
    entry = dict.get(litellm.model_cost, f"openwebui/{model}")
    return dict(entry) if entry is not None else None


@dataclass(frozen=True)
class ProviderCall:
    """One call that reached the `openwebui/` provider."""

    model: str
    params: dict[str, Any]  # what LiteLLM handed over: tools, response_format, files...
    known_before: dict[str, Any] | None  # LiteLLM's entry for the model when the call began

    def supports(self, flag: str) -> bool:
        return bool(self.known_before and self.known_before.get(flag) is True)


MARKS = [
    pytest.mark.live,
    pytest.mark.frameworks,
    # LiteLLM's TypedDicts, imported by the frameworks; nothing this project can act on.
    pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning"),
]
"""Every module's `pytestmark`."""
