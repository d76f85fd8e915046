import sys
from pathlib import Path

# The sample loader beside these tests.
sys.path.insert(0, str(Path(__file__).parent))
