import sys
from pathlib import Path

import pytest

# The fake server beside these tests.
sys.path.insert(0, str(Path(__file__).parent))

from langchain_fake_server import FakeServer


@pytest.fixture
def server() -> FakeServer:
    """An Open WebUI stand-in on an httpx.MockTransport; queue answers with `server.reply(...)`."""
    return FakeServer()
