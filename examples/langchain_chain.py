"""LangChain on an Open WebUI server: a chain, a streamed answer, a tool call, structured output.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=llama3.2:latest                 # optional; default "llama3.2"
    python examples/langchain_chain.py

(`python stack/run.py start` then `eval "$(python stack/run.py env)"` gives a local server.)
"""

from __future__ import annotations

import os
import sys

from langchain_core.exceptions import ModelError
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from openwebui_adapters.errors import OpenWebUIError
from openwebui_adapters.langchain import ChatOpenWebUI

# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"It is sunny in {city}."


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="the person's name")
    age: int = Field(description="the person's age in years")


def main() -> None:
    # base_url and api_key come from OPENWEBUI_SERVER_URL and OPENWEBUI_API_KEY.
    print("Shows: ChatOpenWebUI in a chain, streamed, calling a tool, and filling a pydantic model")
    model = ChatOpenWebUI(model=os.environ.get("OPENWEBUI_MODEL", "llama3.2"), temperature=0)

    print("1. prompt | model | parser")
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer in one sentence."), ("user", "What is {topic}?")]
    )
    chain = prompt | model | StrOutputParser()
    print("  ", SCRIPTED + chain.invoke({"topic": "Open WebUI"}))

    print("2. a streamed answer")
    print(f"   {SCRIPTED}", end="")
    for chunk in model.stream("Count from one to five."):
        print(chunk.text, end="", flush=True)
    print()

    print("3. a tool call, run, and answered")
    with_tools = model.bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    call = with_tools.invoke([question])
    if call.tool_calls:
        print(
            f"   {SCRIPTED}the model called:",
            call.tool_calls[0]["name"],
            call.tool_calls[0]["args"],
        )
        result = get_weather.invoke(call.tool_calls[0])
        print("  ", SCRIPTED + with_tools.invoke([question, call, result]).text)
    else:
        print("   the model answered without the tool:", call.text)

    print("4. structured output")
    person = model.with_structured_output(Person).invoke("Ada Lovelace was 36.")
    print("  ", SCRIPTED + repr(person))


if __name__ == "__main__":
    try:
        main()
    except (ModelError, OpenWebUIError) as error:
        # Every failure names the layer that broke and the setting to change.
        sys.exit(f"{type(error).__name__}: {error}")
