"""LangChain's standard unit suites for the chat model and the embeddings (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from openwebui_adapters.langchain import ChatOpenWebUI, OpenWebUIEmbeddings

SERVER_URL = "http://openwebui.test"
ENV = {"OPENWEBUI_SERVER_URL": SERVER_URL, "OPENWEBUI_API_KEY": "sk-from-env"}


class TestChatOpenWebUIUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatOpenWebUI]:
        return ChatOpenWebUI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "stub-gpt", "base_url": SERVER_URL, "api_key": "sk-unit"}

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"model": "stub-gpt"}, {"base_url": SERVER_URL, "api_key": "sk-from-env"}

    @pytest.mark.xfail(
        reason="langchain-core 1.7 load(allowed_objects='all') admits only the classes listed in "
        "langchain_core.load.mapping, so no third-party model can be loaded that way; the "
        "round trip with allowed_objects=[ChatOpenWebUI] is tested in test_langchain_chat_model.py",
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestOpenWebUIEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[OpenWebUIEmbeddings]:
        return OpenWebUIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "stub-embed", "base_url": SERVER_URL, "api_key": "sk-unit"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"model": "stub-embed"}, {"base_url": SERVER_URL, "api_key": "sk-from-env"}
