"""Resolving a model name as a person writes it to the id the server routes by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openwebui_adapters._catalog import Catalog, ModelInfo, parse_models, resolve, suggest

SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "data"

MODELS = [
    ModelInfo("llama3:latest", "llama3:latest", "ollama"),
    ModelInfo("llama3:70b", "llama3:70b", "ollama"),
    ModelInfo("qwen2.5-coder:32b-instruct-fp16", "qwen2.5-coder:32b-instruct-fp16", "ollama"),
    ModelInfo("gpt-4o", "gpt-4o", "openai"),
    ModelInfo("team-assistant", "Team Assistant", "openai"),
    ModelInfo("meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", "openai"),
]


@pytest.mark.parametrize(
    ("written", "model_id"),
    [
        ("gpt-4o", "gpt-4o"),
        ("Team Assistant", "team-assistant"),
        ("team assistant", "team-assistant"),
        ("GPT-4O", "gpt-4o"),
        ("llama3", "llama3:latest"),
        ("LLAMA3", "llama3:latest"),
        ("openwebui/gpt-4o", "gpt-4o"),
        ("ollama/llama3", "llama3:latest"),
        ("ollama_chat/llama3:70b", "llama3:70b"),
        ("openai/gpt-4o", "gpt-4o"),
        ("featherless_ai/qwen2.5-coder:32b-instruct-fp16", "qwen2.5-coder:32b-instruct-fp16"),
        ("hosted_vllm/gpt-4o", "gpt-4o"),
        ("meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"),
        ("openwebui/meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"),
        ("  gpt-4o ", "gpt-4o"),
    ],
)
def test_resolve_finds_the_server_id(written: str, model_id: str) -> None:
    assert resolve(written, MODELS) == model_id


@pytest.mark.parametrize("written", ["gpt-5", "llama", "mistral", "ollama/gpt"])
def test_resolve_returns_none_when_nothing_matches(written: str) -> None:
    assert resolve(written, MODELS) is None


def test_missing_tag_is_only_completed_for_ollama_models() -> None:
    models = [ModelInfo("tool:latest", "tool:latest", "openai")]
    assert resolve("tool", models) is None


def test_ambiguous_display_name_does_not_resolve() -> None:
    models = [ModelInfo("a", "Helper", "openai"), ModelInfo("b", "Helper", "ollama")]
    assert resolve("Helper", models) is None
    assert set(suggest("Helper", models)) == {"a", "b"}


def test_suggestions_list_closest_ids_first() -> None:
    assert suggest("llama3:7b", MODELS)[:2] == ["llama3:70b", "llama3:latest"]
    assert suggest("gpt4o", MODELS)[0] == "gpt-4o"
    assert suggest("Team Asistant", MODELS)[0] == "team-assistant"


def test_suggestions_are_empty_for_an_empty_list() -> None:
    assert suggest("x", []) == []


def test_parse_models_reads_real_server_answer() -> None:
    body = json.loads((SAMPLES / "models_api.body").read_text())
    models = parse_models(body)
    assert [(m.id, m.backend) for m in models] == [
        ("stub-gpt", "openai"),
        ("stub-llama:latest", "ollama"),
    ]
    assert models[0].raw["connection_type"] == "external"


def test_parse_models_skips_malformed_entries() -> None:
    assert parse_models({"data": [{"name": "no id"}, "x", {"id": "ok"}]}) == [
        ModelInfo("ok", "ok", "unknown")
    ]
    assert parse_models({"data": None}) == []


def test_catalog_forgets_aliases_to_models_that_disappeared() -> None:
    catalog = Catalog()
    catalog.store(MODELS)
    catalog.remember("llama3", "llama3:latest")
    assert catalog.alias("llama3") == "llama3:latest"
    catalog.store([m for m in MODELS if m.id != "llama3:latest"])
    assert catalog.alias("llama3") is None
