import sys
from pathlib import Path

# The SSE line helpers beside these tests (the sample loader is tests/samples.py).
sys.path.insert(0, str(Path(__file__).parent))
