"""The bytes of a monthly EPD file: opening a CSV or the CSV inside a zip, its header, and
the feeder that inflates and transcodes blocks into an OS pipe for DuckDB to read.

:mod:`pipelines.sources.bulk_read` decides how a file is read; this module only moves
bytes, never holding a whole file in memory.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import queue
import select
import shutil
import struct
import subprocess
import threading
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pipelines.http import SourceError
from pipelines.limits import Limits, check_zip_member
from pipelines.sources.epd import Layout, SchemaError

log = logging.getLogger(__name__)

BLOCK_BYTES = 8 << 20  # what the feeder reads from a CSV at a time
COMPRESSED_BLOCK_BYTES = 1 << 20  # what it inflates at a time (about 9 MB of CSV)
PIPE_BYTES = 1 << 20  # Linux pipe capacity asked for (the default 64 KB costs switches)
QUEUE_BLOCKS = 8  # inflated blocks the feeder may hold ahead of DuckDB (64 MB)
_F_SETPIPE_SZ = 1031  # fcntl command on Linux
_UTF8_BOM = b"\xef\xbb\xbf"


class _Stopped(Exception):
    """The reader went away (query finished or failed): stop feeding quietly."""


# -- opening the CSV stream ------------------------------------------------------------------


@contextlib.contextmanager
def open_csv_stream(path: Path) -> Iterator[tuple[IO[bytes], str | None]]:
    """The CSV bytes of ``path`` as a file-like stream: the file, or the zip's CSV member.

    For reading everything, :func:`open_csv_blocks` is faster; this is for a peek (the
    header) and for callers that want a stream.
    """
    if not zipfile.is_zipfile(path):
        with open(path, "rb", buffering=0) as fh:
            yield fh, None
        return
    with _zip(path) as archive:
        info = csv_member(archive, path)
        with archive.open(info) as member:
            yield member, info.filename


@contextlib.contextmanager
def open_csv_blocks(
    path: Path, limits: Limits | None = None
) -> Iterator[tuple[Iterator[bytes], str | None]]:
    """The CSV bytes of ``path`` as blocks of several MB: the file, or its zip's member.

    A deflated member is inflated straight from the file with ``zlib`` (CRC-32 and size
    checked at the end), which measured about a third faster than ``zipfile``'s reader
    with its per-call buffering. Zip64 offsets and sizes come from ``zipfile``'s parse of
    the central directory. Other methods go through ``zipfile``; Deflate64 (used by some
    Windows tools for members over 2 GB), which Python cannot read, through ``unzip -p``.
    """
    if not zipfile.is_zipfile(path):
        with open(path, "rb", buffering=0) as fh:
            yield _blocks(fh), None
        return
    with _zip(path) as archive:
        info = csv_member(archive, path)
        if info.flag_bits & 0x1:
            raise SourceError(f"{path.name}: {info.filename} is encrypted")
        if limits is not None:
            check_zip_member(
                info,
                limit=limits.max_inflated_bytes,
                max_ratio=limits.max_compression_ratio,
                what=path.name,
                setting="OPIOIDS_MAX_INFLATED_BYTES",
            )
        if info.compress_type == zipfile.ZIP_DEFLATED:
            with open(path, "rb", buffering=0) as fh:
                yield _inflate(fh, info, path), info.filename
            return
        try:
            member = archive.open(info)
        except NotImplementedError as exc:
            unzip = shutil.which("unzip")
            if unzip is None:
                raise SourceError(
                    f"{path.name}: {info.filename} uses a compression method Python cannot "
                    f"read ({info.compress_type}) and no 'unzip' program was found"
                ) from exc
            with subprocess.Popen(  # noqa: S603 - a fixed program; the arguments are paths
                [unzip, "-p", str(path), info.filename], stdout=subprocess.PIPE
            ) as proc:
                assert proc.stdout is not None
                try:
                    yield _at_most(_blocks(proc.stdout), info, path), info.filename
                finally:
                    proc.stdout.close()
                    proc.kill()
            return
        with member:
            yield _at_most(_blocks(member), info, path), info.filename


@contextlib.contextmanager
def _zip(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{path.name}: not a readable zip ({exc})") from exc
    with archive:
        yield archive


def _at_most(blocks: Iterator[bytes], info: zipfile.ZipInfo, path: Path) -> Iterator[bytes]:
    """``blocks``, failing as soon as they exceed the member's declared size."""
    size = 0
    for block in blocks:
        size += len(block)
        if size > info.file_size:
            raise zipfile.BadZipFile(
                f"{path.name}: {info.filename} inflates past its declared {info.file_size:,} bytes"
            )
        yield block


def _inflate(fh: Any, info: zipfile.ZipInfo, path: Path) -> Iterator[bytes]:
    """Inflate one deflated member, checking its CRC-32 and size as ``zipfile`` would.

    Each call to zlib produces at most ``BLOCK_BYTES``, and inflating stops as soon as
    the output passes the declared size, so a lying header cannot make it grow.
    """
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"{path.name}: bad local header for {info.filename}")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    fh.seek(info.header_offset + 30 + name_length + extra_length)
    remaining = info.compress_size
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    crc = size = 0
    while remaining > 0:
        chunk = fh.read(min(COMPRESSED_BLOCK_BYTES, remaining))
        if not chunk:
            raise zipfile.BadZipFile(f"{path.name}: {info.filename} is truncated")
        remaining -= len(chunk)
        data = chunk
        while True:
            block = inflater.decompress(data, BLOCK_BYTES)
            if block:
                crc = zlib.crc32(block, crc)
                size += len(block)
                if size > info.file_size:
                    raise zipfile.BadZipFile(
                        f"{path.name}: {info.filename} inflates past its declared "
                        f"{info.file_size:,} bytes"
                    )
                yield block
            data = inflater.unconsumed_tail
            if not data and len(block) < BLOCK_BYTES:
                break
    tail = inflater.flush()
    if tail:
        crc = zlib.crc32(tail, crc)
        size += len(tail)
        yield tail
    if crc != info.CRC or size != info.file_size:
        raise zipfile.BadZipFile(
            f"{path.name}: {info.filename} fails its check (CRC-32 or size does not match)"
        )


def csv_member(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    """The zip's one CSV (or its one file): anything else is not an EPD month."""
    files = [i for i in archive.infolist() if not i.is_dir()]
    csvs = [i for i in files if i.filename.lower().endswith(".csv")]
    chosen = csvs if csvs else files
    if len(chosen) != 1:
        names = ", ".join(i.filename for i in files) or "nothing"
        raise SourceError(f"{path.name}: expected one CSV in the zip, found {names}")
    return chosen[0]


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        block = stream.read(BLOCK_BYTES)
        if not block:
            return
        yield block


def parse_header(first_block: bytes, *, where: str) -> tuple[list[str], str]:
    """Column names from the first line, and the encoding the file is read in.

    A UTF-8 byte-order mark means the publisher wrote UTF-8: honour it rather than
    transcoding UTF-8 as if it were Latin-1. Otherwise the portal's files are Latin-1.
    """
    end = first_block.find(b"\n")
    if end < 0:
        raise SchemaError(f"{where}: no header line in the first {len(first_block):,} bytes")
    line = first_block[:end].rstrip(b"\r")
    encoding = "latin-1"
    if line.startswith(_UTF8_BOM):
        line, encoding = line[len(_UTF8_BOM) :], "utf-8"
    header = next(csv.reader([line.decode(encoding)]))
    return [h.strip() for h in header], encoding


def column_spec(header: list[str], layout: Layout, *, where: str) -> dict[str, str]:
    """``read_csv`` columns: the used ones under internal names, the rest numbered.

    All are read as text: measures are converted only for the rows kept, in the query.
    The row key's SNOMED code column (when there is one) is read as ``snomed_code``.
    """
    by_source = {source: internal for internal, source in layout.columns.items()}
    for source in layout.row_key:  # what identifies a source row, for the duplicate count
        by_source.setdefault(source, source.lower())
    seen: set[str] = set()
    spec: dict[str, str] = {}
    for i, name in enumerate(header):
        internal = by_source.get(name)
        if internal is not None and internal in seen:
            raise SchemaError(f"{where}: column {name} appears more than once in the header")
        if internal is not None:
            seen.add(internal)
        spec[internal or f"unused_{i:03d}"] = "VARCHAR"
    return spec


# -- the feeder ------------------------------------------------------------------------------


def _open_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError, ImportError):
        import fcntl

        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, PIPE_BYTES)
    os.set_blocking(write_fd, False)
    return read_fd, write_fd


def _write_all(fd: int, data: bytes, stop: threading.Event) -> None:
    view = memoryview(data)
    while view:
        if stop.is_set():
            raise _Stopped
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 0.2)
            continue
        except BrokenPipeError as exc:
            raise _Stopped from exc
        view = view[written:]


class _Feeder:
    """Copies the CSV into a pipe for DuckDB, transcoding Latin-1 blocks and hashing.

    Two threads: one reads (inflates) blocks into a bounded queue, the other writes them
    into the pipe. DuckDB fills a large buffer from the pipe before it parses, so with a
    single thread the inflating would stop whenever the pipe is full and the two would
    take turns; the queue lets inflating run ahead while DuckDB parses. Only blocks
    holding a byte above 127 are transcoded: a pure-ASCII block is the same in Latin-1
    and UTF-8, and ``bytes.isascii`` is much cheaper than decoding.
    """

    def __init__(self, blocks: Iterator[bytes], encoding: str, hasher: Any, name: str) -> None:
        self.read_fd, self._write_fd = _open_pipe()
        self.path = f"/dev/fd/{self.read_fd}"
        self._blocks, self._encoding, self._hasher = blocks, encoding, hasher
        self._stop = threading.Event()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_BLOCKS)
        self.bytes = 0
        self.transcoded = 0
        self.error: BaseException | None = None
        self.digest: str | None = None
        self._threads = [
            threading.Thread(target=self._read, name=f"read {name}", daemon=True),
            threading.Thread(target=self._write, name=f"feed {name}", daemon=True),
        ]

    def __enter__(self) -> _Feeder:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        os.close(self.read_fd)
        for thread in self._threads:
            thread.join()

    def _put(self, item: bytes | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _read(self) -> None:
        try:
            for block in self._blocks:
                self.bytes += len(block)
                if self._hasher is not None:
                    self._hasher.update(block)  # the published bytes, before transcoding
                if self._encoding == "latin-1" and not block.isascii():
                    block = block.decode("latin-1").encode("utf-8")
                    self.transcoded += 1
                self._put(block)
            if self._hasher is not None:
                self.digest = self._hasher.hexdigest()
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self.error = exc
        with contextlib.suppress(_Stopped):
            self._put(None)

    def _write(self) -> None:
        try:
            while True:
                try:
                    block = self._queue.get(timeout=0.2)
                except queue.Empty:
                    if self._stop.is_set():
                        return
                    continue
                if block is None:
                    return
                _write_all(self._write_fd, block, self._stop)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self.error = self.error or exc
        finally:
            os.close(self._write_fd)
