"""Bounded reading of hostile inputs: gzip and zip bombs, lying zip headers, corrupt
downloads. The bombs run in a subprocess under an address-space limit (RLIMIT_AS) a few
hundred MB above what the process already uses, and inflate to far more than that: only
reading within the limits lets the subprocess finish."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import httpx
import pytest

from pipelines.config import Settings
from pipelines.http import HttpClient, SourceError
from pipelines.limits import LimitExceeded, inflate, read_limited
from pipelines.sources import bulk
from pipelines.sources.bulk_stream import open_csv_blocks
from pipelines.sources.ods import fetch_epraccur
from tests.unit.test_bulk_cache import RESOURCE

MB = 1 << 20
LIMITS = Settings(max_in_memory_bytes=64 * MB, max_inflated_bytes=64 * MB).limits


def deflate_zeros(megabytes: int) -> bytes:
    """A raw deflate stream of ``megabytes`` MB of zeros, built without compressing them
    all: after a full flush a block stands alone, so one block is repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(b"\0" * MB) + packer.flush(zlib.Z_FULL_FLUSH)
    return block * megabytes + packer.flush()


def gzip_bomb(megabytes: int) -> bytes:
    """Many gzip members of a megabyte of zeros each (a valid multi-member gzip)."""
    return gzip.compress(b"\0" * MB) * megabytes


def raw_zip(path: Path, name: str, data: bytes, declared_size: int, crc: int = 0) -> Path:
    """A one-member deflated zip whose headers declare ``declared_size`` inflated bytes."""
    encoded = name.encode()
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), declared_size,
        len(encoded), 0,
    )  # fmt: skip
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data),
        declared_size, len(encoded), 0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    offset = len(local) + len(encoded) + len(data)
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(encoded), offset, 0
    )
    path.write_bytes(local + encoded + data + central + encoded + end)
    return path


def run_capped(code: str, headroom_mb: int = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose address space may grow only
    ``headroom_mb`` past what it uses after its imports."""
    prelude = textwrap.dedent(
        f"""
        import resource, re
        from pathlib import Path
        from pipelines.config import Settings
        from pipelines.limits import LimitExceeded, inflate, read_limited
        from pipelines.sources.bulk_stream import open_csv_blocks
        used = int(re.search(r"VmSize:\\s+(\\d+)", Path("/proc/self/status").read_text())[1])
        cap = used * 1024 + {headroom_mb} * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_the_memory_cap_would_stop_a_whole_inflate(tmp_path: Path) -> None:
    """The cap is real: inflating the bomb whole, as the old code did, fails under it."""
    bomb = tmp_path / "shard.csv.gz"
    bomb.write_bytes(gzip_bomb(1024))
    done = run_capped(
        f"""
        import gzip
        try:
            gzip.decompress(Path({str(bomb)!r}).read_bytes())
        except MemoryError:
            print("MemoryError")
        """
    )
    assert "MemoryError" in done.stdout, done.stderr


def test_a_gzip_bomb_is_refused_within_the_memory_cap(tmp_path: Path) -> None:
    bomb = tmp_path / "shard.csv.gz"
    bomb.write_bytes(gzip_bomb(1024))  # 1 MB on the wire, 1 GB inflated
    done = run_capped(
        f"""
        limits = Settings(max_in_memory_bytes=64 << 20).limits
        data = Path({str(bomb)!r}).read_bytes()
        try:
            read_limited(
                inflate([data], limit=limits.max_in_memory_bytes, max_ratio=1e9, what="shard"),
                limits.max_in_memory_bytes, what="shard",
            )
        except LimitExceeded as exc:
            print("refused:", exc)
        """
    )
    assert "refused: shard: inflates to more than" in done.stdout, done.stderr


def test_a_zip_declaring_a_huge_member_is_refused_before_reading(tmp_path: Path) -> None:
    path = raw_zip(tmp_path / "month.zip", "epd.csv", deflate_zeros(1024), 1 << 30)
    done = run_capped(
        f"""
        limits = Settings(max_inflated_bytes=64 << 20).limits
        try:
            with open_csv_blocks(Path({str(path)!r}), limits) as (blocks, _):
                next(blocks)
        except LimitExceeded as exc:
            print("refused:", exc)
        """
    )
    assert "refused: month.zip: epd.csv declares" in done.stdout, done.stderr


def test_a_zip_lying_about_its_size_stops_at_the_declared_size(tmp_path: Path) -> None:
    path = raw_zip(tmp_path / "month.zip", "epd.csv", deflate_zeros(1024), 1000)
    done = run_capped(
        f"""
        import zipfile
        total = 0
        try:
            with open_csv_blocks(Path({str(path)!r}), Settings().limits) as (blocks, _):
                for block in blocks:
                    total += len(block)
        except zipfile.BadZipFile as exc:
            print("refused after", total, exc)
        """
    )
    assert "inflates past its declared 1,000 bytes" in done.stdout, done.stderr


def test_a_compression_ratio_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = raw_zip(tmp_path / "month.zip", "epd.csv", deflate_zeros(32), 32 * MB)
    with (
        pytest.raises(LimitExceeded, match="OPIOIDS_MAX_COMPRESSION_RATIO"),
        open_csv_blocks(path, LIMITS) as (blocks, _),
    ):
        next(blocks)


def test_inflate_reads_multi_member_gzip_and_names_truncation() -> None:
    data = gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n")
    assert b"".join(inflate([data], limit=MB, max_ratio=100, what="s")) == b"a,b\n1,2\n3,4\n"
    with pytest.raises(SourceError, match="truncated gzip"):
        list(inflate([data[:10]], limit=MB, max_ratio=100, what="s"))
    with pytest.raises(SourceError, match="corrupt gzip"):
        list(inflate([b"not gzip"], limit=MB, max_ratio=100, what="s"))
    with pytest.raises(LimitExceeded):
        read_limited([b"x" * 10] * 3, 25, what="s")


def test_an_epraccur_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = raw_zip(tmp_path / "epraccur.zip", "epraccur.csv", deflate_zeros(1024), 1 << 30)
    http = HttpClient(
        limits=LIMITS,
        allowed_hosts=["files.test"],
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=bomb.read_bytes())),
    )
    with pytest.raises(LimitExceeded, match="epraccur.csv declares"):
        fetch_epraccur(http, "https://files.test/epraccur.zip")


class FakeCkan:
    def resource_show(self, resource_id: str) -> dict:
        return {"zip_url": "https://storage.test/month.zip", "url": None}


def test_a_corrupt_download_is_deleted_so_the_next_refresh_fetches_it_again(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("epd.csv", "YEAR_MONTH,PRACTICE_CODE\n" + "202401,A81001\n" * 5000)
    corrupt = bytearray(good.read_bytes())
    corrupt[200:260] = b"\xff" * 60  # inside the deflated member: the CRC cannot match
    served = [bytes(corrupt)]
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(served[0]))

    http = HttpClient(
        limits=LIMITS, allowed_hosts=["storage.test"], transport=httpx.MockTransport(answer)
    )
    work = tmp_path / "downloads"
    with pytest.raises(SourceError, match="deleted; the next refresh fetches it again"):
        bulk.fetch_via_bulk(FakeCkan(), http, RESOURCE, work_dir=work)
    assert [p.name for p in work.iterdir() if not p.name.startswith(".epd-read")] == []

    # The portal now serves the file whole: it is fetched again (not taken from a cache)
    # and read past the zip layer (this small file then fails on its EPD columns).
    served[0] = good.read_bytes()
    with pytest.raises(Exception) as caught:
        bulk.fetch_via_bulk(FakeCkan(), http, RESOURCE, work_dir=work, keep_download=True)
    assert len(requests) == 2
    assert "deleted" not in str(caught.value) and "column" in str(caught.value).lower()
