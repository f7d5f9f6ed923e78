"""Where the test fixtures live: every test opens files relative to these, never the current directory."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"
DATA = TESTS / "data"
GOLDEN = TESTS / "golden"
BAD_MODELS = TESTS / "bad"
NIST = DATA / "nist"
