"""What a process can say about itself: its resident-memory high-water mark.

Read from ``/proc/self/status`` (Linux). ``resource.getrusage().ru_maxrss`` is not used:
a child started by fork begins with its parent's resident size, so it would overstate a
small child of a big parent.
"""

from __future__ import annotations

from pathlib import Path


def peak_resident_mb() -> float | None:
    """This process's resident high-water mark (``VmHWM``) in MB; None where the system
    does not report it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
