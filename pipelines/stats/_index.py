"""Grouping rows by comparator key, and a linear-time month order within each key.

Every statistic is computed within one comparator key: ranks, deciles and funnels across
the organisations of a month, change and SPC along one organisation's months. So the
frame is first split into per-key blocks (:func:`split_by_key`), and each block is
indexed with small integers (:class:`BlockIndex`): a dense organisation id from one hash
pass over ``org_code``, and a month offset from the block's first month.

Sorting millions of rows on several string columns is by far the most expensive thing
this package could do, and it is avoided: when the grid of possible (organisation, month)
cells is not much larger than the block (the usual case: a panel of practices x months),
rows are put in organisation-then-month order by writing each row number into its cell of
the grid - a counting sort, linear in the number of rows - and "the row 12 months
earlier" is a direct look-up in that grid. Sparse blocks fall back to a stable argsort
and binary search, with identical results. A repeated (organisation, month) in a block
would make a cell ambiguous, so it is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.stats._common import IntArray

#: Use the counting grid when it has at most this many cells per row (and at least ...).
_GRID_CELLS_PER_ROW: int = 4
_GRID_MIN_CELLS: int = 1 << 20


def dense_codes(series: pl.Series) -> tuple[IntArray, int]:
    """Dense integer codes 0..k-1 (in order of first appearance) for a string column."""
    if series.len() == 0:
        return np.zeros(0, dtype=np.int64), 0
    codes = (
        series.cast(pl.Categorical(pl.Categories.random()))
        .to_physical()
        .to_numpy()
        .astype(np.int64)
    )
    return codes, int(codes.max()) + 1


def _combine(frame: pl.DataFrame, columns: list[str]) -> tuple[IntArray, int]:
    """Dense id of the combination of ``columns`` (0..k-1 for the k combinations present)."""
    combined = np.zeros(frame.height, dtype=np.int64)
    cardinality = 1
    for column in columns:
        codes, size = dense_codes(frame.get_column(column))
        combined = combined * max(size, 1) + codes
        cardinality *= max(size, 1)
    if frame.height == 0:
        return combined, 0
    if cardinality <= _GRID_MIN_CELLS:
        present = np.bincount(combined, minlength=cardinality) > 0
        remap = np.cumsum(present) - 1
        return remap[combined], int(present.sum())
    unique, inverse = np.unique(combined, return_inverse=True)
    return inverse.astype(np.int64), int(unique.size)


@dataclass(frozen=True)
class BlockIndex:
    """Integer ids for the rows of one comparator key's block (row order unchanged).

    Within a block the cross-sectional group is simply the month, and a series is one
    organisation.
    """

    member: IntArray  #: dense organisation id (all zeros when not indexed by member)
    n_members: int
    month_offset: IntArray  #: months since the first month in the block
    span: int  #: number of months from first to last
    order: IntArray  #: row numbers in (organisation, month) order (empty if no member)
    grid: IntArray | None  #: cell -> row number (-1 when empty), when small enough

    @classmethod
    def build(cls, members: IntArray | None, months: IntArray) -> BlockIndex:
        """Index rows by organisation code (``members``, dense) and month index.

        Pass ``members=None`` when only the month groups are needed. Raises
        ``ValueError`` if an (organisation, month) pair occurs twice.
        """
        n = months.size
        first = int(months.min()) if n else 0
        offset = months - first
        span = int(offset.max()) + 1 if n else 1
        grid: IntArray | None = None
        if members is None:
            member_ids = np.zeros(n, dtype=np.int64)
            n_members = 1
            order = np.zeros(0, dtype=np.int64)
            duplicated = False
        else:
            member_ids = members
            n_members = int(members.max()) + 1 if n else 0
            cells = n_members * span
            cell = member_ids * span + offset
            if cells <= max(_GRID_CELLS_PER_ROW * n, _GRID_MIN_CELLS):
                grid = np.full(cells, -1, dtype=np.int64)
                grid[cell] = np.arange(n, dtype=np.int64)
                order = grid[grid >= 0]
                duplicated = order.size != n
            else:
                order = np.argsort(cell, kind="stable")
                ordered = cell[order]
                duplicated = bool(np.any(ordered[1:] == ordered[:-1]))
        if duplicated:
            raise ValueError(
                "values has more than one row for the same organisation, month and comparator key"
            )
        return cls(
            member=member_ids,
            n_members=n_members,
            month_offset=offset,
            span=span,
            order=order,
            grid=grid,
        )

    @property
    def group(self) -> IntArray:
        """Cross-sectional group id: the month offset (dense in 0..span-1)."""
        return self.month_offset

    @property
    def n_groups(self) -> int:
        return self.span

    @property
    def series(self) -> IntArray:
        """Series id: the organisation."""
        return self.member

    def _cell(self) -> IntArray:
        return self.member * self.span + self.month_offset

    def row_months_earlier(self, months: int) -> IntArray:
        """Row number of the same organisation ``months`` earlier, or -1 when none."""
        n = self.month_offset.size
        result = np.full(n, -1, dtype=np.int64)
        possible = self.month_offset >= months
        target = self._cell()[possible] - months
        if self.grid is not None:
            result[possible] = self.grid[target]
        elif n:
            ordered = self._cell()[self.order]
            position = np.minimum(np.searchsorted(ordered, target), n - 1)
            found = ordered[position] == target
            result[possible] = np.where(found, self.order[position], -1)
        return result


#: Above this many runs of identical keys the input is treated as unordered.
_MAX_KEY_RUNS: int = 100_000


def _first_appearance(ids: IntArray) -> IntArray:
    """Renumber ``ids`` 0, 1, 2, ... in the order each value first appears."""
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    renumber = np.empty(first.size, dtype=np.int64)
    renumber[np.argsort(first)] = np.arange(first.size)
    return renumber[inverse.ravel()]


def split_by_key(frame: pl.DataFrame, key_columns: list[str]) -> tuple[pl.DataFrame, list[int]]:
    """Group the rows of ``frame`` by ``key_columns``; return the frame and block bounds.

    Every statistic here is computed within one comparator key, and arrays of one key's
    rows (a few hundred thousand) stay in processor cache where arrays of all rows do not,
    so the work is done key by key. The frame comes back with each key's rows contiguous
    and in input order within a key (a stable regrouping), and ``bounds`` holds the start
    of each block plus the end. Input already grouped by key (the usual case) is returned
    as is, without copying; keys then stay in order of first appearance.

    Key ids come from one pass over runs of identical keys when the input is grouped (or
    nearly), and from per-column hash codes otherwise.
    """
    n = frame.height
    if n == 0:
        return frame, [0]
    if not key_columns:
        return frame, [0, n]
    runs = frame.select(pl.struct(key_columns).rle_id().alias("r")).to_series().to_numpy()
    n_runs = int(runs[-1]) + 1
    if n_runs <= _MAX_KEY_RUNS:
        run_start = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
        representatives = frame[run_start].select(key_columns)
        run_key, _ = _combine(representatives, key_columns)
        key = _first_appearance(run_key)[runs]
    else:
        # Unordered input: any consistent key order will do, so skip renumbering.
        key = _combine(frame, key_columns)[0]
    if np.any(key[1:] < key[:-1]):
        # A stable sort keeps input order within a key; small ids sort by radix.
        small = key.astype(np.uint16) if int(key.max()) < 1 << 16 else key
        order = np.argsort(small, kind="stable")
        frame = frame[order]
        key = key[order]
    bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    return frame, bounds.tolist()
