"""smolagents on an Open WebUI server: a CodeAgent and a ToolCallingAgent on a multi-step task.

    export OPENWEBUI_SERVER_URL=https://chat.example.com   # the address you open in the browser
    export OPENWEBUI_API_KEY=sk-...                        # Settings > Account > API keys
    export OPENWEBUI_MODEL=qwen2.5-coder:32b               # optional; default "llama3.2"
    python examples/smolagents_agent.py

(`python stack/run.py start` then `eval "$(python stack/run.py env)"` gives a local server.)

The seeds' version of this example needed LiteLLM, a borrowed provider prefix and a hand-built
route: `LiteLLMModel(model_id="featherless_ai/<model>", api_base=server + "ollama/v1/", ...)`.
`OpenWebUIModel` takes the model name as the server lists it and finds the route itself. A local
lookup tool stands in for the seeds' web search, so the example needs no internet access.
"""

from __future__ import annotations

import os
import sys

from smolagents import CodeAgent, ToolCallingAgent, tool
from smolagents.agents import AgentGenerationError

from openwebui_adapters.errors import OpenWebUIError
from openwebui_adapters.smolagents import OpenWebUIModel

# `nox -s demo` runs this against a local server whose model is a scripted stand-in (it echoes,
# calls the tools it is offered, fills schemas with samples): its answers are labelled there.
SCRIPTED = "[scripted local model] " if os.environ.get("OPENWEBUI_DEMO_SCRIPTED") else ""
POPULATIONS = {"lyon": 522_250, "marseille": 873_076, "paris": 2_102_650, "toulouse": 504_078}
TASK = (
    "Which of 'Lyon' and 'Marseille' has more inhabitants, and by how many? "
    "Look up each city's population, then answer."
)


@tool  # type: ignore[untyped-decorator]  # smolagents ships no type information
def city_population(city: str) -> str:
    """Looks up how many people live in a French city.

    Args:
        city: the city's name, e.g. "Lyon"
    """
    count = POPULATIONS.get(city.strip().lower())
    if count is None:
        return f"No figure for {city!r}; known cities: {', '.join(sorted(POPULATIONS))}."
    return f"{city}: {count} inhabitants"


def main() -> None:
    # The server URL and API key come from OPENWEBUI_SERVER_URL and OPENWEBUI_API_KEY.
    print("Shows: OpenWebUIModel driving a CodeAgent and a ToolCallingAgent through a tool")
    model = OpenWebUIModel(os.environ.get("OPENWEBUI_MODEL", "llama3.2"), temperature=0)

    # Streaming redraws a live panel in place: on a terminal only (in a log, panels would collide).
    streamed = sys.stdout.isatty()
    print(f"1. CodeAgent: the model writes Python that calls the tool{' (streamed)' * streamed}")
    code_agent = CodeAgent(
        tools=[city_population], model=model, stream_outputs=streamed, max_steps=6
    )
    print(f"   answer: {SCRIPTED}{code_agent.run(TASK)}")

    print("2. ToolCallingAgent: the model calls the tool through the API's tool calls")
    tool_agent = ToolCallingAgent(tools=[city_population], model=model, max_steps=6)
    print(f"   answer: {SCRIPTED}{tool_agent.run(TASK)}")


if __name__ == "__main__":
    try:
        main()
    except (AgentGenerationError, OpenWebUIError) as error:
        # An agent wraps the model's error; its message names the layer and the setting to fix.
        cause = error.__cause__ if isinstance(error.__cause__, OpenWebUIError) else error
        sys.exit(f"{type(cause).__name__}: {cause}")
