"""Which source shapes each month of a publication came from, grouped into periods.

Read from the staged provenance, so the methodology page says what was actually fetched:
the EPD dataset and header layout of each month, and how its adult denominator was found.
Consecutive months with the same answers form one period.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.sources.list_sizes import ADULTS_FROM_SINGLE_YEARS


@dataclass(frozen=True)
class Period:
    first: str
    last: str
    dataset: str
    layout: str
    adults_from: str
    factor_version: str = ""

    @property
    def months(self) -> str:
        return self.first if self.first == self.last else f"{self.first} to {self.last}"


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _follows(previous: str, month: str) -> bool:
    """True when ``month`` is the month after ``previous`` (both ``YYYY-MM``)."""
    year, mon = int(previous[:4]), int(previous[5:])
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return month == f"{year:04d}-{mon:02d}"


def _factor_version(path: Path) -> str:
    """The OME factor set version a month's presentations were resolved with."""
    try:
        sources = pl.read_parquet(path, columns=["ome_factor_source"])
    except (OSError, pl.exceptions.PolarsError):
        return ""
    versions = (
        sources.get_column("ome_factor_source").drop_nulls().str.split(":").list.first().unique()
    )
    return ", ".join(sorted(versions.to_list()))


def factor_versions(periods: list[Period]) -> list[str]:
    """Every factor set version used in the periods: more than one means a mixed trend."""
    return sorted({p.factor_version for p in periods if p.factor_version})


def publication_periods(staging_root: Path, months: list[str] | None = None) -> list[Period]:
    """Periods over the staged months (or only ``months``, as ``YYYY-MM``), oldest first."""
    root = Path(staging_root)
    epd_dir, list_dir = root / "epd", root / "list_sizes"
    staged = sorted(p.name.split(".")[0] for p in epd_dir.glob("*.provenance.json"))
    if months is not None:
        staged = [m for m in staged if m in set(months)]
    periods: list[Period] = []
    for month in staged:
        epd = _read(epd_dir / f"{month}.provenance.json")
        lists = _read(list_dir / f"{month}.provenance.json")
        key = (
            str(epd.get("dataset", "unknown")),
            str(epd.get("layout", "unknown"))
            + (f" ({epd['organisation_column']})" if epd.get("organisation_column") else ""),
            str(lists.get("adults_from", ADULTS_FROM_SINGLE_YEARS if lists else "not staged")),
            _factor_version(root / "presentations" / f"{month}.parquet"),
        )
        last = periods[-1] if periods else None
        if (
            last
            and (last.dataset, last.layout, last.adults_from, last.factor_version) == key
            and _follows(last.last, month)
        ):
            periods[-1] = Period(last.first, month, *key)
        else:
            periods.append(Period(month, month, *key))
    return periods
