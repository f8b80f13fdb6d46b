"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` for a temporary file beside ``target``, then rename it over
    ``target``: readers see the old file or the new one, and a failed write leaves the old
    one untouched and no temporary behind. Returns ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def atomic_write_text(target: Path, text: str) -> Path:
    """:func:`atomic_write` of a UTF-8 text."""
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_bytes(target: Path, data: bytes) -> Path:
    """:func:`atomic_write` of bytes."""
    return atomic_write(target, lambda tmp: tmp.write_bytes(data))
