"""Incremental refreshes give exactly the rows of a full rebuild.

A small warehouse (the project's comparator definitions, 40 practices in PCNs, sub-ICB
locations, ICBs and regions, list sizes and comparator months with gaps, null and zero
denominators and small practices) is refreshed month by month: months are added,
re-published with different numbers and removed, in two different orders. After each
step the stored statistics are brought up to date incrementally, and at checkpoints every
published view is compared, row for row and bit for bit, with a full rebuild of a copy
of the same warehouse.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.comparators import definition_rows, load_comparators
from pipelines.statistics import PUBLISHED_VIEWS, compute_statistics
from pipelines.warehouse import connect, run

MONTHS = [date(2022 + i // 12, i % 12 + 1, 1) for i in range(30)]
PRACTICES = [f"P{i:03d}" for i in range(40)]


def _organisations() -> pl.DataFrame:
    rows = []
    for i, code in enumerate(PRACTICES):
        pcn = i // 5
        rows.append(
            {
                "practice_code": code,
                "pcn_code": None if i == 39 else f"U{pcn}",  # one practice without a PCN
                "sub_icb_code": f"S{pcn % 4}",
                "icb_code": f"Q{pcn % 2}",
                "region_code": "Y1",
                "prescribing_setting": 4,
            }
        )
    return pl.DataFrame(rows)


def _month_rows(month: date, definitions: pl.DataFrame, seed: int) -> tuple[pl.DataFrame, ...]:
    """One month's list sizes and comparator rows, random but reproducible per seed."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(600, 12_000, len(PRACTICES))
    sizes[:3] = [999, 1000, 400]  # around and below the minimum list size
    present = np.ones(len(PRACTICES), dtype=bool)
    present[rng.integers(0, len(PRACTICES))] = False  # a practice missing this month
    lists = pl.DataFrame(
        {
            "month": [month] * int(present.sum()),
            "practice_code": [c for c, p in zip(PRACTICES, present, strict=True) if p],
            "patients": sizes[present],
            "adults": (sizes[present] * 0.8).astype(np.int64),
        }
    )
    rows = []
    for d in definitions.iter_rows(named=True):
        for i, code in enumerate(PRACTICES):
            if not present[i]:
                continue
            if d["den_population"] in ("patients", "adults"):
                den = float(sizes[i] if d["den_population"] == "patients" else sizes[i] * 0.8)
                den = None if i == 7 and seed % 3 == 0 else den  # a missing list size
                num = float(rng.poisson(sizes[i] * 0.01))
            else:
                den = float(rng.poisson(6))  # sometimes zero
                num = float(rng.binomial(int(den), 0.3))
            rows.append((month, code, d["comparator_id"], d["variant"], d["denominator_type"],
                         round(num + rng.choice([0.0, 0.25]), 6), den))  # fmt: skip
    columns = ["month", "practice_code", "comparator_id", "variant", "denominator_type",
               "numerator", "denominator"]  # fmt: skip
    return lists, pl.DataFrame(rows, schema=columns, orient="row")


class Warehouse:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.definitions = definition_rows(load_comparators())
        with connect(path) as con:
            con.register("definitions_frame", self.definitions.to_arrow())
            run(con, "warehouse/replace_comparator_definitions")
            run(con, "warehouse/insert_comparator_definitions")
            con.register("organisations_frame", _organisations().to_arrow())
            run(con, "warehouse/insert_organisations")

    def publish_month(self, month: date, seed: int) -> None:
        lists, comparators = _month_rows(month, self.definitions, seed)
        with connect(self.path) as con:
            self._delete(con, month)
            con.register("lists", lists.to_arrow())
            con.execute("INSERT INTO list_sizes BY NAME SELECT * FROM lists")
            con.register("comparators", comparators.to_arrow())
            con.execute("INSERT INTO practice_comparator_months BY NAME SELECT * FROM comparators")

    def remove_month(self, month: date) -> None:
        with connect(self.path) as con:
            self._delete(con, month)

    @staticmethod
    def _delete(con: duckdb.DuckDBPyConnection, month: date) -> None:
        con.execute("DELETE FROM list_sizes WHERE month = ?", [month])
        con.execute("DELETE FROM practice_comparator_months WHERE month = ?", [month])

    def refresh(self, *, full: bool = False) -> dict[str, int]:
        with connect(self.path) as con:
            return compute_statistics(con, min_list_size=1000, full=full)


def _assert_same_as_full_rebuild(warehouse: Warehouse, tmp_path: Path, label: str) -> None:
    copy = tmp_path / f"full-{label}.duckdb"
    shutil.copy(warehouse.path, copy)
    with connect(copy) as con:
        compute_statistics(con, min_list_size=1000, full=True)
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        con.execute(f"ATTACH '{copy}' AS full_rebuild (READ_ONLY)")
        for view in PUBLISHED_VIEWS:
            rows = con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0]
            assert rows > 0, (label, view)
            for a, b in ((view, f"full_rebuild.{view}"), (f"full_rebuild.{view}", view)):
                extra = con.execute(
                    f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})"
                ).fetchall()[0][0]
                assert extra == 0, f"{label}: {view}: {extra} rows of {a} not in {b}"
    finally:
        con.close()


@pytest.mark.parametrize("order", ["forward", "shuffled"])
def test_incremental_refreshes_equal_a_full_rebuild(tmp_path: Path, order: str) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    for i, month in enumerate(MONTHS[:16]):
        warehouse.publish_month(month, seed=i)
    first = warehouse.refresh()
    assert first["rebuilt"] == 1 and first["months_recomputed"] == 16

    if order == "forward":
        steps = [
            ("add", 16), ("add", 17), ("republish", 5), ("remove", 12),
            ("add", 18), ("republish", 17), ("add", 12),
        ]  # fmt: skip
    else:
        steps = [
            ("republish", 5), ("add", 18), ("remove", 12), ("add", 17),
            ("add", 12), ("republish", 17), ("add", 16),
        ]  # fmt: skip
    for n, (action, index) in enumerate(steps):
        month = MONTHS[index]
        if action == "remove":
            warehouse.remove_month(month)
        else:
            seed = 100 + index if action == "republish" else index
            warehouse.publish_month(month, seed=seed)
        result = warehouse.refresh()
        assert result["rebuilt"] == 0, (action, month)
        assert result["months_recomputed"] == 1, (action, month)
        if n in (2, len(steps) - 1):
            _assert_same_as_full_rebuild(warehouse, tmp_path, f"{order}-{n}")

    nothing = warehouse.refresh()
    assert nothing["months_recomputed"] == 0 and nothing["rebuilt"] == 0


def test_changed_organisations_rebuild_in_full(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    for i, month in enumerate(MONTHS[:14]):
        warehouse.publish_month(month, seed=i)
    warehouse.refresh()
    with connect(warehouse.path) as con:
        con.execute("UPDATE organisations SET pcn_code = 'U0' WHERE practice_code = 'P010'")
    result = warehouse.refresh()
    assert result["rebuilt"] == 1 and result["months_recomputed"] == 14
    _assert_same_as_full_rebuild(warehouse, tmp_path, "organisations")
