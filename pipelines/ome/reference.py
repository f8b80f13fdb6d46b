"""Load the versioned reference tables in ``reference/`` that drive the OME resolver.

The tables are data, not code, so a reviewer can check every factor against its source,
and a user can pick another factor set without touching Python:

* ``opioid_substances.csv``: the in-scope BNF chemical substances and how to read them;
* ``ome_factors.csv``: one row per (factor set, substance, route);
* ``ome_overrides.csv``: the few presentations whose names cannot be read, with reasons;
* ``bnf_code_changes.csv``: chemical codes that moved, so series stay continuous.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ome.parse import parse_strength

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO_ROOT / "reference"
DEFAULT_FACTOR_SET = "uk"

_TRUE = {"true", "1", "yes", "y", "t"}


@dataclass(frozen=True)
class Substance:
    """One in-scope BNF chemical substance (9-character code)."""

    chemical_code: str
    chemical_name: str
    ome_substance: str
    strong: bool
    pair_rule: str
    name_tokens: tuple[str, ...]
    regular_long_acting: str


@dataclass(frozen=True)
class Factor:
    """An OME factor for one substance and route, with where it came from."""

    factor: float
    approximate: bool
    source: str
    note: str


@dataclass(frozen=True)
class Override:
    """Values to use instead of what the parser reads, for one presentation."""

    bnf_code: str
    bnf_name: str | None
    strength: str | None
    route: str | None
    form: str | None
    doses_per_day: int | None
    reason: str


@dataclass(frozen=True)
class CodeChange:
    old_chemical_code: str
    new_chemical_code: str
    effective_year: int
    note: str


@dataclass(frozen=True, eq=False)
class Reference:
    """Everything the resolver needs, for one chosen factor set.

    Holds a per-instance cache of resolutions keyed by (bnf_code, bnf_name): a month of
    prescribing data has hundreds of thousands of rows but about a thousand distinct
    presentations, so each name is parsed once.
    """

    factor_set: str
    version: str
    substances: dict[str, Substance]
    factors: dict[tuple[str, str], Factor]
    overrides: dict[str, tuple[Override, ...]]
    code_changes: dict[str, CodeChange]
    cache: dict[tuple[str | None, ...], object] = field(default_factory=dict, repr=False)

    def substance_for(self, chemical_code: str) -> Substance | None:
        """The substance for a chemical code, following code changes if needed."""
        found = self.substances.get(chemical_code)
        if found is None:
            found = self.substances.get(_canonical(chemical_code, self.code_changes))
        return found

    def override_for(self, bnf_code: str, bnf_name: str) -> Override | None:
        """A name-specific override beats a code-wide one; names compare case-blind."""
        rows = self.overrides.get(bnf_code, ())
        low = bnf_name.strip().lower()
        for row in rows:
            if row.bnf_name is not None and row.bnf_name.lower() == low:
                return row
        for row in rows:
            if row.bnf_name is None:
                return row
        return None


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(fh)
        ]


def _blank(value: str) -> str | None:
    return value if value else None


def _load_substances(path: Path) -> dict[str, Substance]:
    out: dict[str, Substance] = {}
    for row in _read(path):
        code = row["chemical_code"]
        out[code] = Substance(
            chemical_code=code,
            chemical_name=row["chemical_name"],
            ome_substance=row["ome_substance"],
            strong=row["strength_class"].lower() == "strong",
            pair_rule=row.get("pair_rule") or "first",
            name_tokens=tuple(t for t in row.get("name_tokens", "").split("|") if t),
            regular_long_acting=row.get("regular_long_acting", ""),
        )
    return out


def _load_factors(path: Path, factor_set: str) -> tuple[str, dict[tuple[str, str], Factor]]:
    rows = _read(path)
    available = sorted({r["factor_set"] for r in rows})
    if factor_set not in available:
        raise ValueError(
            f"unknown OME factor set {factor_set!r}; available: {', '.join(available)}"
        )
    chosen = [r for r in rows if r["factor_set"] == factor_set]
    versions = sorted({r["version"] for r in chosen})
    if len(versions) != 1:
        raise ValueError(f"factor set {factor_set!r} mixes versions: {versions}")
    factors: dict[tuple[str, str], Factor] = {}
    for r in chosen:
        key = (r["substance"], r["route"])
        if key in factors:
            raise ValueError(f"duplicate factor for {key} in factor set {factor_set!r}")
        factors[key] = Factor(
            factor=float(r["factor"]),
            approximate=r.get("approximate", "").lower() in _TRUE,
            source=r["source"],
            note=r.get("note", ""),
        )
    return versions[0], factors


def _load_overrides(path: Path) -> dict[str, tuple[Override, ...]]:
    grouped: dict[str, list[Override]] = {}
    for row in _read(path):
        if not row.get("reason"):
            raise ValueError(f"override for {row['bnf_code']} has no reason")
        dpd = _blank(row.get("doses_per_day", ""))
        strength = _blank(row.get("strength", ""))
        if strength is not None and parse_strength(strength) is None:
            raise ValueError(f"override for {row['bnf_code']}: strength {strength!r} unreadable")
        grouped.setdefault(row["bnf_code"], []).append(
            Override(
                bnf_code=row["bnf_code"],
                bnf_name=_blank(row.get("bnf_name", "")),
                strength=strength,
                route=_blank(row.get("route", "")),
                form=_blank(row.get("form", "")),
                doses_per_day=int(dpd) if dpd else None,
                reason=row["reason"],
            )
        )
    return {k: tuple(v) for k, v in grouped.items()}


def _load_code_changes(path: Path) -> dict[str, CodeChange]:
    return {
        r["old_chemical_code"]: CodeChange(
            old_chemical_code=r["old_chemical_code"],
            new_chemical_code=r["new_chemical_code"],
            effective_year=int(r["effective_year"]),
            note=r.get("note", ""),
        )
        for r in _read(path)
    }


def load_reference(
    factor_set: str = DEFAULT_FACTOR_SET, reference_dir: Path | None = None
) -> Reference:
    """Read ``reference/*.csv`` into a :class:`Reference` for one factor set.

    Raises ValueError naming the available sets when ``factor_set`` is unknown, so a
    typo in configuration fails loudly instead of silently using another table.
    """
    base = reference_dir or REFERENCE_DIR
    version, factors = _load_factors(base / "ome_factors.csv", factor_set)
    return Reference(
        factor_set=factor_set,
        version=version,
        substances=_load_substances(base / "opioid_substances.csv"),
        factors=factors,
        overrides=_load_overrides(base / "ome_overrides.csv"),
        code_changes=_load_code_changes(base / "bnf_code_changes.csv"),
    )


def _canonical(code: str, changes: dict[str, CodeChange]) -> str:
    chem = code[:9]
    seen = {chem}
    while chem in changes:
        chem = changes[chem].new_chemical_code
        if chem in seen:  # a cycle in the table would otherwise loop forever
            raise ValueError(f"cycle in bnf_code_changes.csv at {chem}")
        seen.add(chem)
    return chem


@functools.lru_cache(maxsize=1)
def _default_changes() -> dict[str, CodeChange]:
    return _load_code_changes(REFERENCE_DIR / "bnf_code_changes.csv")


def canonical_chemical_code(code: str, ref: Reference | None = None) -> str:
    """Return today's 9-character chemical code for a chemical or presentation code.

    Accepts a 9-character chemical code or a 15-character presentation code (only its
    first 9 characters are used). Old codes are mapped forward through
    ``bnf_code_changes.csv`` (e.g. tapentadol phosphate ``0407020AH`` ->
    ``0407020AG``), following chains, so monthly series stay continuous across a
    re-coding. Codes that never changed come back unchanged.
    """
    changes = ref.code_changes if ref is not None else _default_changes()
    return _canonical(code.strip(), changes)
