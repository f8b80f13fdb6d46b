"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


class StorageError(RuntimeError):
    """A folder the pipeline writes to cannot be written (read-only, no permission, full)."""


def ensure_writable_dir(path: Path, what: str) -> None:
    """Create ``path`` if needed and prove a file can be written in it, or raise a
    :class:`StorageError` that says which folder and why, in one line."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=path)
        try:
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        reason = {
            errno.EROFS: "is on a read-only file system",
            errno.EACCES: "is not writable by this user",
            errno.EPERM: "is not writable by this user",
            errno.ENOSPC: "is on a full disk",
            errno.EDQUOT: "is over its disk quota",
        }.get(exc.errno or 0, f"cannot be written ({exc.strerror})")
        raise StorageError(f"the {what} {path} {reason}") from None


class UnsafeTarget(ValueError):
    """The path to write exists and is not a regular file (a link, pipe, device, folder)."""


def check_replaceable(target: Path) -> None:
    """Refuse to replace anything but a regular file: a symbolic link (whose target would
    be abandoned, or written through by a later tool), a named pipe, a device such as
    ``/dev/stdout``, or a folder. Nothing at ``target`` is fine."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode):
        return
    kind = (
        "a symbolic link"
        if stat.S_ISLNK(mode)
        else "a named pipe"
        if stat.S_ISFIFO(mode)
        else "a folder"
        if stat.S_ISDIR(mode)
        else "a device or special file"
    )
    raise UnsafeTarget(f"{target} exists and is {kind}, not a regular file: refusing to replace it")


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` for a temporary file beside ``target``, then rename it over
    ``target``: readers see the old file or the new one, and a failed write leaves the old
    one untouched and no temporary behind. Returns ``target``.

    Only a regular file (or nothing) at ``target`` is replaced (:func:`check_replaceable`);
    the temporary file is created new and exclusively, so no link is written through."""
    target = Path(target)
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        check_replaceable(target)  # it may have appeared while the file was written
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
