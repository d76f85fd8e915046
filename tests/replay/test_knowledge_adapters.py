"""Open WebUI's knowledge through LiteLLM, LangChain and smolagents, against a real 0.12.4.

Replayed from cassettes/knowledge_adapters/. Each test uploads what it needs into its own
knowledge base and deletes it again. The stack's upstream embeds hashed word counts, so a
question finds the chunk that shares its words; its model echoes the prompt, retrieved context
included, so an answer shows what the server retrieved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests
from smolagents import CodeAgent, ToolCallingAgent

import openwebui_adapters.litellm  # noqa: F401  # registers openwebui/
from openwebui_adapters import KnowledgeBase, OpenWebUIClient
from openwebui_adapters.errors import KnowledgeNotFoundError
from openwebui_adapters.langchain import ChatOpenWebUI, OpenWebUIRetriever
from openwebui_adapters.smolagents import OpenWebUIKnowledgeTool, OpenWebUIModel

pytestmark = pytest.mark.vcr

ZEBRA = b"The zebra named Ziggy sleeps in the savanna under acacia trees.\n"
INVOICES = b"Invoices are due within thirty days of delivery.\n"
CANTEEN = b"The staff canteen opens at half past eleven and serves soup on Thursdays.\n"
QUESTION = "Where does the zebra named Ziggy sleep?"
MESSAGES = [{"role": "user", "content": QUESTION}]


def _make_base(client: OpenWebUIClient, name: str) -> tuple[KnowledgeBase, list[str]]:
    base = client.create_knowledge(name, description="made by a test, deleted after it")
    file_ids = []
    for filename, text in (
        ("zebra.txt", ZEBRA),
        ("invoices.txt", INVOICES),
        ("canteen.txt", CANTEEN),
    ):
        file = client.upload_file(text, filename=filename)
        client.add_file_to_knowledge(base, file)
        file_ids.append(file.id)
    return base, file_ids


@pytest.fixture
def handbook(
    owui_settings: Any, vcr: Any, request: pytest.FixtureRequest
) -> Iterator[KnowledgeBase]:
    """A knowledge base named after the test, holding three one-line files (recorded with the
    test, as every request of it is)."""
    client = OpenWebUIClient(max_retries=0)
    base, file_ids = _make_base(client, f"Handbook {request.node.name[:40]}")
    yield base
    client.delete_knowledge(base)
    for file_id in file_ids:
        client.delete_file(file_id)
    client.close()


def _zebra_first(sources: list[dict[str, Any]]) -> None:
    assert sources, "the answer came without sources"
    assert sources[0]["file_name"] == "zebra.txt"
    assert "Ziggy" in sources[0]["document"]
    assert isinstance(sources[0]["distance"], float)


# -- LiteLLM ---------------------------------------------------------------------------------


def test_litellm_answers_from_a_knowledge_base_named_as_a_person_writes_it(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    response = litellm.completion(
        model=f"openwebui/{owui_settings.models['openai']}",
        messages=MESSAGES,
        files=[handbook.name.upper()],
    )
    message = response.choices[0].message
    assert "acacia" in message.content  # the retrieved chunk reached the model
    _zebra_first(message.provider_specific_fields["sources"])


def test_litellm_stream_carries_the_sources(owui_settings: Any, handbook: KnowledgeBase) -> None:
    chunks = list(
        litellm.completion(
            model=f"openwebui/{owui_settings.models['ollama']}",
            messages=MESSAGES,
            files=[{"type": "collection", "id": handbook.id}],
            stream=True,
        )
    )
    message = litellm.stream_chunk_builder(chunks).choices[0].message
    assert "acacia" in message.content
    _zebra_first(message.provider_specific_fields["sources"])


def test_a_router_deployment_with_files_answers_from_them(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    router = litellm.Router(
        model_list=[
            {
                "model_name": "handbook",
                "litellm_params": {
                    "model": f"openwebui/{owui_settings.models['openai']}",
                    "api_base": owui_settings.server_url,
                    "api_key": owui_settings.api_key,
                    "files": [handbook.id],
                },
            }
        ]
    )
    response = router.completion(model="handbook", messages=MESSAGES)
    _zebra_first(response.choices[0].message.provider_specific_fields["sources"])


def test_litellm_names_the_missing_knowledge_base_with_suggestions(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    with pytest.raises(litellm.NotFoundError) as caught:
        litellm.completion(
            model=f"openwebui/{owui_settings.models['openai']}",
            messages=MESSAGES,
            files=[handbook.name + "x"],
        )
    assert caught.value.setting == "files"  # type: ignore[attr-defined]
    assert handbook.name in caught.value.suggestions  # type: ignore[attr-defined]


# -- LangChain -------------------------------------------------------------------------------


def test_langchain_invoke_and_bind_answer_with_sources(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    model = ChatOpenWebUI(model=owui_settings.models["openai"])
    answer = model.invoke(QUESTION, files=[handbook.name])
    assert "acacia" in answer.text
    _zebra_first(answer.response_metadata["sources"])
    bound = model.bind(files=[handbook.id]).invoke(QUESTION)
    _zebra_first(bound.response_metadata["sources"])
    plain = model.invoke(QUESTION)
    assert "sources" not in plain.response_metadata


def test_langchain_stream_aggregates_the_sources(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    model = ChatOpenWebUI(model=owui_settings.models["ollama"], files=[handbook.name])
    total = None
    for chunk in model.stream(QUESTION):
        total = chunk if total is None else total + chunk
    assert total is not None
    assert "acacia" in total.text
    _zebra_first(total.response_metadata["sources"])


def test_the_retriever_finds_the_chunk_sharing_the_querys_words(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    retriever = OpenWebUIRetriever(knowledge=handbook.name, k=2)
    docs = retriever.invoke("When are invoices due?")
    assert len(docs) == 2
    assert docs[0].metadata["file_name"] == "invoices.txt"
    assert docs[0].metadata["source_id"] == handbook.id
    adocs = asyncio.run(retriever.ainvoke("staff canteen soup", k=1))
    assert [d.metadata["file_name"] for d in adocs] == ["canteen.txt"]


def test_the_retriever_names_a_missing_knowledge_base(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    retriever = OpenWebUIRetriever(knowledge="handbok " + handbook.name.split(" ", 1)[1])
    with pytest.raises(ModelInvalidRequestError) as caught:
        retriever.invoke("zebra")
    assert isinstance(caught.value, KnowledgeNotFoundError)
    assert handbook.name in caught.value.suggestions


class TestOpenWebUIRetrieverStandard(RetrieversIntegrationTests):
    """langchain-tests' standard retriever suite, over a knowledge base made for each test."""

    @pytest.fixture(autouse=True)
    def _base(self, handbook: KnowledgeBase) -> None:
        self.base = handbook

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return OpenWebUIRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"knowledge": [self.base.name]}

    @property
    def retriever_query_example(self) -> str:
        return "zebra invoices canteen"


# -- smolagents ------------------------------------------------------------------------------


def test_smolagents_model_answers_with_sources_streamed_or_not(
    owui_settings: Any, handbook: KnowledgeBase
) -> None:
    model = OpenWebUIModel(owui_settings.models["openai"], files=[handbook.name])
    message = model.generate(MESSAGES)
    assert "acacia" in (message.content or "")
    assert message.raw["sources"][0]["document"].startswith("The zebra")  # a citation dict
    assert model.last_citations[0].file_name == "zebra.txt"
    text = "".join(delta.content or "" for delta in model.generate_stream(MESSAGES))
    assert "acacia" in text
    assert model.last_citations[0].file_name == "zebra.txt"


@pytest.mark.parametrize("agent_class", [ToolCallingAgent, CodeAgent])
def test_an_agent_searches_the_knowledge_base_with_the_tool(
    owui_settings: Any, handbook: KnowledgeBase, agent_class: type
) -> None:
    tool = OpenWebUIKnowledgeTool(handbook.name, k=1)
    agent = agent_class(
        tools=[tool], model=OpenWebUIModel(owui_settings.models["openai"]), max_steps=3
    )
    # The stub model calls the tool with the quoted word as its query.
    result = agent.run("Search the handbook for 'zebra' and tell me what it says.")
    assert "acacia" in str(result)
    assert "zebra.txt" in str(result)
