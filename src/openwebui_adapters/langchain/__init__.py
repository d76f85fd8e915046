"""LangChain integration: Open WebUI models as `ChatOpenWebUI` and `OpenWebUIEmbeddings`, its
knowledge bases as `OpenWebUIRetriever`.

Needs `langchain-core` (`pip install openwebui-adapters[langchain]`); imports nothing from
LiteLLM or smolagents.
"""

from openwebui_adapters.langchain.chat_models import ChatOpenWebUI
from openwebui_adapters.langchain.embeddings import OpenWebUIEmbeddings
from openwebui_adapters.langchain.retrievers import OpenWebUIRetriever

__all__ = ["ChatOpenWebUI", "OpenWebUIEmbeddings", "OpenWebUIRetriever"]
