"""The cassette matcher ignores the layout of descriptions, and nothing else that identifies a call.

Python 3.13 strips the common indentation of docstrings, so a tool described by its docstring
sends `CLEAN_DOC` where 3.10-3.12 sent `INDENTED_DOC`: cassettes recorded on one must replay on
the other.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import pytest
from vcr.request import Request

import vcr_support


def adder(a: int, b: int) -> int:
    """Tool that adds two integers.

    Takes two integers, a and b, and returns their sum.
    """
    return a + b


# `adder.__doc__` as Python 3.10-3.12 and as 3.13 compile it.
INDENTED_DOC = (
    "Tool that adds two integers.\n\n    Takes two integers, a and b, and returns their sum.\n    "
)
CLEAN_DOC = "Tool that adds two integers.\n\nTakes two integers, a and b, and returns their sum.\n"


def chat(description: str, field_description: str = "The first addend.") -> dict[str, Any]:
    """A chat request carrying one tool, shaped as LangChain sends it."""
    return {
        "model": "stub-gpt",
        "messages": [{"role": "user", "content": "What is 1 + 2"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "adder",
                    "description": description,
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "a": {"type": "integer", "description": field_description},
                            "b": {"type": "integer"},
                        },
                        "required": ["a", "b"],
                    },
                },
            }
        ],
        "stream": False,
    }


def matches(recorded: dict[str, Any], incoming: dict[str, Any]) -> bool:
    try:
        vcr_support.json_body_matcher(
            Request("POST", "http://a/api/chat/completions", json.dumps(recorded), {}),
            Request("POST", "http://a/api/chat/completions", json.dumps(incoming).encode(), {}),
        )
    except AssertionError:
        return False
    return True


def test_the_pair_is_what_this_python_compiles() -> None:
    expected = CLEAN_DOC if sys.version_info >= (3, 13) else INDENTED_DOC
    assert adder.__doc__ == expected


def test_docstring_indentation_of_a_tool_description_is_ignored() -> None:
    assert matches(chat(INDENTED_DOC), chat(CLEAN_DOC))
    assert matches(chat(CLEAN_DOC), chat(INDENTED_DOC))


def test_indentation_of_a_nested_schema_description_is_ignored() -> None:
    recorded = chat(CLEAN_DOC, "The first\n        addend.\n    ")
    assert matches(recorded, chat(CLEAN_DOC, "The first\naddend."))


def test_prose_keeps_words_and_line_breaks() -> None:
    assert vcr_support.prose(INDENTED_DOC) == CLEAN_DOC.strip()
    assert vcr_support.prose("  one\n\n   two  \n") == "one\n\ntwo"


def _function(body: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = body["tools"][0]["function"]
    return function


CHANGES = {
    "other-word-in-description": lambda body: _function(body).update(
        description=CLEAN_DOC.replace("adds", "multiplies")
    ),
    "line-breaks-joined": lambda body: _function(body).update(
        description=CLEAN_DOC.replace("\n\n", " ")
    ),
    "other-word-in-schema": lambda body: _function(body)["parameters"]["properties"]["a"].update(
        description="The second addend."
    ),
    "other-tool-name": lambda body: _function(body).update(name="subtract"),
    "another-tool": lambda body: body["tools"].append(copy.deepcopy(body["tools"][0])),
    "another-message": lambda body: body["messages"].append({"role": "user", "content": "3?"}),
    "message-whitespace": lambda body: body["messages"][0].update(content="  What is 1 + 2"),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_request_that_really_differs_still_fails(change: Any) -> None:
    incoming = chat(CLEAN_DOC)
    change(incoming)
    assert not matches(chat(INDENTED_DOC), incoming)
