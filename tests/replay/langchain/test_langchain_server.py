"""What the standard suites do not cover, against a real Open WebUI (replayed from cassettes).

Model names as people write them, each failure as its LangChain class, every structured-output
method with `include_raw`, embeddings batching, and the example script end to end.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from langchain_core import exceptions as lc
from pydantic import BaseModel, Field

from openwebui_adapters import errors
from openwebui_adapters.langchain import ChatOpenWebUI, OpenWebUIEmbeddings

pytestmark = pytest.mark.vcr
CASSETTE_SUITE = "langchain"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "langchain_chain.py"
CHAT_ROUTES = ["openai", "ollama"]


class Person(BaseModel):
    """A person."""

    name: str = Field(description="the name")
    age: int = Field(description="the age in years")


def test_a_custom_model_is_found_by_its_display_name(owui_settings: Any) -> None:
    model = ChatOpenWebUI(model=owui_settings.models["custom_name"])
    result = model.invoke("hello")
    assert "hello" in result.text
    # Open WebUI passes the base model's answer through, so either id may name it.
    assert result.response_metadata["model_name"] in {
        owui_settings.models["custom"],
        owui_settings.models["openai"],
    }


def test_a_misspelled_model_is_model_not_found_with_the_right_suggestion(
    owui_settings: Any,
) -> None:
    model = ChatOpenWebUI(model="stub-gtp")
    with pytest.raises(lc.ModelNotFoundError) as caught:
        model.invoke("hello")
    assert isinstance(caught.value, errors.ModelNotFoundError)
    assert owui_settings.models["openai"] in caught.value.suggestions
    assert "stub-gtp" in str(caught.value)


def test_a_wrong_key_is_model_authentication_error(owui_settings: Any) -> None:
    model = ChatOpenWebUI(model=owui_settings.models["openai"], api_key="sk-wrong-key")
    with pytest.raises(lc.ModelAuthenticationError, match="setting: api_key"):  # as passed
        model.invoke("hello")


@pytest.mark.parametrize("route", CHAT_ROUTES)
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output_with_include_raw(owui_settings: Any, route: str, method: str) -> None:
    model = ChatOpenWebUI(model=owui_settings.models[route], temperature=0)
    result = model.with_structured_output(Person, method=method, include_raw=True).invoke(  # type: ignore[arg-type]
        "Ada is 36."
    )
    assert isinstance(result, dict)
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], Person)
    assert result["raw"].response_metadata["model_name"] == owui_settings.models[route]


def test_json_mode_returns_a_json_object(owui_settings: Any) -> None:
    model = ChatOpenWebUI(model=owui_settings.models["openai"], temperature=0)
    result = model.with_structured_output(method="json_mode").invoke("Reply with JSON.")
    assert isinstance(result, dict)
    assert result


@pytest.mark.parametrize("route", ["embed_openai", "embed_ollama"])
async def test_embeddings_in_batches(owui_settings: Any, route: str) -> None:
    embeddings = OpenWebUIEmbeddings(model=owui_settings.models[route], chunk_size=2)
    texts = ["one", "two", "three"]
    vectors = embeddings.embed_documents(texts)
    assert len(vectors) == len(texts)
    assert len({len(v) for v in vectors}) == 1
    assert await embeddings.aembed_documents(texts) == vectors


def test_the_example_runs(
    owui_settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENWEBUI_MODEL", owui_settings.models["openai"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "1. prompt | model | parser" in out
    assert "the model called: get_weather" in out
    assert "Person(" in out
