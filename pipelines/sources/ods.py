"""ODS ``epraccur``: every prescribing cost centre with its setting and open/close dates.

The file has no header, so columns are named here by position, once. The prescribing
setting (column 26) is what separates GP practices (4) from out-of-hours, walk-in and
other cost centres that also appear in prescribing data.
"""

from __future__ import annotations

import io
import zipfile

import polars as pl

from pipelines.http import HttpClient, SourceError
from pipelines.limits import read_zip_member
from pipelines.sources.epd import SchemaError

EPRACCUR_COLUMNS = 27
# 1-based positions in the published layout.
_POSITIONS = {
    "practice_code": 1,
    "ods_name": 2,
    "postcode": 10,
    "open_date": 11,
    "close_date": 12,
    "status_code": 13,
    "commissioner_code": 15,
    "prescribing_setting": 26,
}
GP_PRACTICE_SETTING = 4

EPRACCUR_SCHEMA = {
    "practice_code": pl.String(),
    "ods_name": pl.String(),
    "postcode": pl.String(),
    "open_date": pl.Date(),
    "close_date": pl.Date(),
    "status_code": pl.String(),
    "commissioner_code": pl.String(),
    "prescribing_setting": pl.Int64(),
}


def fetch_epraccur(http: HttpClient, url: str) -> pl.DataFrame:
    content = http.get(url, what="ODS epraccur").content
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            members = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
            if not members:
                raise SourceError("epraccur.zip holds no CSV file", url=url)
            limits = http.limits
            data = read_zip_member(
                zf,
                members[0],
                limit=limits.max_in_memory_bytes,
                max_ratio=limits.max_compression_ratio,
                what="ODS epraccur.zip",
                url=url,
            )
    except zipfile.BadZipFile as exc:
        raise SourceError(f"epraccur.zip is not a valid zip ({exc})", url=url) from exc
    return parse_epraccur(data, where=url)


def parse_epraccur(data: bytes, *, where: str = "epraccur") -> pl.DataFrame:
    """Name the columns we use; drop Welsh practices and ``...998`` placeholder codes."""
    raw = pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False, encoding="utf8-lossy")
    if raw.width != EPRACCUR_COLUMNS:
        raise SchemaError(f"{where}: expected {EPRACCUR_COLUMNS} columns, found {raw.width}")
    named = raw.select(
        [pl.col(raw.columns[pos - 1]).alias(name) for name, pos in _POSITIONS.items()]
    ).with_columns(
        pl.col("practice_code").str.strip_chars(),
        pl.col("open_date").str.strptime(pl.Date, "%Y%m%d", strict=False),
        pl.col("close_date").str.strptime(pl.Date, "%Y%m%d", strict=False),
        pl.col("prescribing_setting").str.strip_chars().cast(pl.Int64, strict=False),
    )
    return (
        named.filter(
            ~pl.col("practice_code").str.starts_with("W")
            & ~pl.col("practice_code").str.ends_with("998")
        )
        .select([pl.col(c).cast(t) for c, t in EPRACCUR_SCHEMA.items()])
        # A line repeated word for word says nothing new; two different lines for one
        # code are kept, for the critical uniqueness check to refuse.
        .unique(maintain_order=True)
        .sort("practice_code")
    )
