"""Check the resolver against real in-scope presentations, when that file is available.

The file lives outside the project (``../shared/data``) and is never copied into it; a
clone without it skips these tests. Only ``bnf_code`` and ``bnf_name`` are given to the
resolver; the other columns are the expected answers.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from pipelines.ome import load_reference, resolve
from tests.support import shared_data

DATA = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real-opioid-presentations.csv"
)
MIN_SHARE = 0.99


def _close(got: float | None, expected: str) -> bool:
    if got is None or expected == "":
        return False
    return math.isclose(got, float(expected), rel_tol=1e-6, abs_tol=1e-9)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with shared_data(DATA.name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_real_presentations_match(rows):
    ref = load_reference("uk")
    mismatches = []
    for row in rows:
        r = resolve(row["bnf_code"], row["bnf_name"], ref)
        ok = (
            r.route == row["route"]
            and _close(r.mg_per_unit, row["mg_per_unit"])
            and _close(r.ome_mg_per_unit, row["ome_mg_per_unit"])
        )
        if not ok:
            mismatches.append(
                f"{row['bnf_code']} {row['bnf_name']!r}: expected {row['route']} "
                f"{row['mg_per_unit']} mg/unit {row['ome_mg_per_unit']} OME; got {r.route} "
                f"{r.mg_per_unit} mg/unit {r.ome_mg_per_unit} OME ({r.note})"
            )
    share = 1 - len(mismatches) / len(rows)
    print(f"\n{len(rows) - len(mismatches)}/{len(rows)} real presentations match ({share:.2%})")
    for line in mismatches:
        print("MISMATCH", line)
    assert share >= MIN_SHARE


def test_real_presentations_are_in_scope_and_mostly_resolved(rows):
    ref = load_reference("uk")
    results = [resolve(row["bnf_code"], row["bnf_name"], ref) for row in rows]
    assert all(r.in_scope for r in results)
    unresolved = [f"{r.bnf_code} {r.bnf_name}: {r.note}" for r in results if not r.resolved]
    for line in unresolved:
        print("UNRESOLVED", line)
    assert len(unresolved) / len(results) <= 1 - MIN_SHARE
