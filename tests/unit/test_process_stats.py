"""The resident-memory high-water mark a process reports of itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# In a fresh interpreter: a test worker's own mark may already be far above what the test
# touches. The kernel's counts are approximate by a few hundred kB, so the figures are
# compared with room to spare.
PROBE = """
import json
from pipelines.process_stats import peak_resident_mb
before = peak_resident_mb()
block = b"x" * (80 * 1024 * 1024)  # written, so every page is resident
during = peak_resident_mb()
del block
print(json.dumps([before, during, peak_resident_mb()]))
"""


def test_the_high_water_mark_rises_with_memory_touched_and_stays() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, during, after = json.loads(done.stdout)
    assert 0 < before < 200
    assert during >= before + 60  # most of the 80 MB
    assert after >= before + 60  # freed, the block still counts: the mark is the peak
