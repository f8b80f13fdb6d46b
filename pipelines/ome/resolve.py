"""Resolve a BNF presentation (code + name) to opioid mg per unit, route and OME.

Conventions (also in ``reference/README.md``):

* ``mg_per_unit`` is opioid mg per *counted unit* of ``TOTAL_QUANTITY``: per tablet,
  capsule, suppository, lozenge, film or sachet; per ml for oral liquids; per vial for
  oral unit-dose vials; per ampoule, vial or syringe for injections (mg/ml x ml per
  container, or the stated mg of a powder); per dose for sprays; per patch over its wear
  time for patches.
* ``strength_value``/``strength_unit`` are the opioid's strength as written, with the
  non-opioid partner of a combination left out: ``10mg/5ml`` -> 10 / ``mg/5ml``;
  co-codamol ``8mg/500mg/5ml`` -> 8 / ``mg/5ml``; ``25micrograms/hour`` -> 25 /
  ``micrograms/hour``.
* ``strong`` is a boolean (True strong, False weak, null when not in scope).
* Presentations outside the in-scope substances resolve with ``in_scope=False`` and
  ``resolved=True``: there is nothing to compute, and callers can tell "not an opioid"
  from "an opioid we could not read" (``in_scope=True, resolved=False``).
* A missing factor for (substance, route) leaves the row unresolved with a note; it is
  never treated as zero.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import polars as pl

from pipelines.ome.generic import complete, generic_code, is_generic
from pipelines.ome.parse import SOLID_FORMS, NameFacts, Strength, parse_strength, read_name
from pipelines.ome.reference import (
    DEFAULT_FACTOR_SET,
    Reference,
    Substance,
    load_reference,
)

RESOLUTION_COLUMNS: tuple[str, ...] = (
    "bnf_code",
    "bnf_name",
    "chemical_code",
    "substance",
    "in_scope",
    "strong",
    "route",
    "form",
    "strength_value",
    "strength_unit",
    "mg_per_unit",
    "wear_hours",
    "ome_factor",
    "ome_factor_source",
    "ome_mg_per_unit",
    "regular_long_acting",
    "doses_per_day",
    "likely_daily_ome_mg",
    "non_cancer_scope",
    "resolved",
    "note",
)

#: Explicit polars dtypes for :data:`RESOLUTION_COLUMNS`, in the same order.
RESOLUTION_SCHEMA: dict[str, pl.DataType] = {
    "bnf_code": pl.String(),
    "bnf_name": pl.String(),
    "chemical_code": pl.String(),
    "substance": pl.String(),
    "in_scope": pl.Boolean(),
    "strong": pl.Boolean(),
    "route": pl.String(),
    "form": pl.String(),
    "strength_value": pl.Float64(),
    "strength_unit": pl.String(),
    "mg_per_unit": pl.Float64(),
    "wear_hours": pl.Float64(),
    "ome_factor": pl.Float64(),
    "ome_factor_source": pl.String(),
    "ome_mg_per_unit": pl.Float64(),
    "regular_long_acting": pl.Boolean(),
    "doses_per_day": pl.Int64(),
    "likely_daily_ome_mg": pl.Float64(),
    "non_cancer_scope": pl.Boolean(),
    "resolved": pl.Boolean(),
    "note": pl.String(),
}

NON_CANCER_ROUTES = frozenset({"oral", "transdermal"})

#: Patch wear times in hours, by OME substance and then by rate (micrograms/hour);
#: ``None`` as the rate key applies to every rate. Buprenorphine 7-day patches come in
#: 5-20 micrograms/hour; 35/52.5/70 micrograms/hour patches are changed every 3-4 days
#: depending on brand, and 96 h is the usual approximation (recorded in the note).
PATCH_WEAR_HOURS: dict[str, dict[float | None, float]] = {
    "fentanyl": {None: 72.0},
    "buprenorphine": {
        5.0: 168.0,
        10.0: 168.0,
        15.0: 168.0,
        20.0: 168.0,
        35.0: 96.0,
        52.5: 96.0,
        70.0: 96.0,
    },
}
_APPROXIMATE_WEAR = {("buprenorphine", 96.0)}

_MICROGRAM_UNITS = {"microgram", "micrograms", "mcg"}
_DIGITS = 9  # rounding removes float noise (0.9 * 100 = 90.00000000000001) before thresholds


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS)


@dataclass(frozen=True)
class Resolution:
    """One resolved presentation; fields are exactly :data:`RESOLUTION_COLUMNS`."""

    bnf_code: str | None
    bnf_name: str | None
    chemical_code: str | None
    substance: str | None
    in_scope: bool
    strong: bool | None
    route: str | None
    form: str | None
    strength_value: float | None
    strength_unit: str | None
    mg_per_unit: float | None
    wear_hours: float | None
    ome_factor: float | None
    ome_factor_source: str | None
    ome_mg_per_unit: float | None
    regular_long_acting: bool
    doses_per_day: int | None
    likely_daily_ome_mg: float | None
    non_cancer_scope: bool
    resolved: bool
    note: str | None


@dataclass
class _Amount:
    """Working result of turning a strength into mg per counted unit."""

    mg: float | None = None
    wear_hours: float | None = None
    rate_mcg_per_hour: float | None = None
    problem: str | None = None
    notes: tuple[str, ...] = ()


def _patch_amount(sub: Substance, strength: Strength, facts: NameFacts) -> _Amount:
    notes: list[str] = []
    if strength.per_hour:
        rate = strength.mg * 1000.0
    elif not strength.denominator and strength.unit in _MICROGRAM_UNITS:
        rate = strength.mg * 1000.0
        notes.append("patch strength read as micrograms/hour (name gives micrograms only)")
    else:
        return _Amount(problem=f"patch strength {strength.unit_text!r} is not a rate per hour")
    wear = facts.wear_hours_stated
    if wear is None:
        table = PATCH_WEAR_HOURS.get(sub.ome_substance, {})
        wear = table.get(rate, table.get(None))
        if wear is None:
            return _Amount(
                rate_mcg_per_hour=rate,
                problem=f"no wear time known for {sub.ome_substance} {rate:g} micrograms/hour patches",
            )
        if (sub.ome_substance, wear) in _APPROXIMATE_WEAR:
            notes.append(
                f"wear time {wear:g} h assumed for {rate:g} micrograms/hour "
                f"{sub.ome_substance} patches (brands vary between 3 and 4 days)"
            )
    else:
        notes.append(f"wear time {wear:g} h taken from the name")
    return _Amount(
        mg=rate * wear / 1000.0, wear_hours=wear, rate_mcg_per_hour=rate, notes=tuple(notes)
    )


def _container_amount(strength: Strength, facts: NameFacts, what: str) -> _Amount:
    """mg in one container (ampoule, vial, syringe, unit-dose vial)."""
    volume = strength.per_volume_ml
    if volume is None:
        if strength.denominator:
            return _Amount(problem=f"{what} strength {strength.unit_text!r} not understood")
        return _Amount(mg=strength.mg)  # powder or stated total: mg per container
    if facts.container_ml is not None:
        return _Amount(mg=strength.mg / volume * facts.container_ml)
    if strength.explicit_volume:
        return _Amount(mg=strength.mg)  # dm+d states the container's content: 35mg/3.5ml
    return _Amount(problem=f"{what} strength is per ml but the container volume is not stated")


def _amount(sub: Substance, form: str, strength: Strength, facts: NameFacts) -> _Amount:
    """Opioid mg per counted unit for one dose form (see the module docstring)."""
    if form == "patch":
        return _patch_amount(sub, strength, facts)
    if form == "injection":
        return _container_amount(strength, facts, "injection")
    if form == "oral_liquid_unit_dose":
        return _container_amount(strength, facts, "unit-dose vial")
    if form == "oral_liquid":
        volume = strength.per_volume_ml
        if volume is None:
            return _Amount(problem=f"liquid strength {strength.unit_text!r} has no volume")
        return _Amount(mg=strength.mg / volume)
    if form == "nasal_spray":
        if strength.per_dose:
            return _Amount(mg=strength.mg)
        if not strength.denominator:
            return _Amount(mg=strength.mg, notes=("spray strength read as per dose",))
        return _Amount(problem=f"spray strength {strength.unit_text!r} is not per dose")
    if form in SOLID_FORMS:
        if not strength.denominator or strength.per_dose:
            return _Amount(mg=strength.mg)
        return _Amount(problem=f"strength {strength.unit_text!r} does not fit a {form}")
    return _Amount(problem=f"no counting rule for form {form!r}")


def _out_of_scope(bnf_code: str | None, bnf_name: str | None, chem: str) -> Resolution:
    return Resolution(
        bnf_code=bnf_code,
        bnf_name=bnf_name,
        chemical_code=chem or None,
        substance=None,
        in_scope=False,
        strong=None,
        route=None,
        form=None,
        strength_value=None,
        strength_unit=None,
        mg_per_unit=None,
        wear_hours=None,
        ome_factor=None,
        ome_factor_source=None,
        ome_mg_per_unit=None,
        regular_long_acting=False,
        doses_per_day=None,
        likely_daily_ome_mg=None,
        non_cancer_scope=False,
        resolved=True,
        note="not an in-scope opioid substance",
    )


def _resolve_uncached(
    bnf_code: str | None,
    bnf_name: str | None,
    code: str,
    name: str,
    ref: Reference,
    generic_name: str | None = None,
) -> Resolution:
    chem = code[:9]
    sub = ref.substance_for(chem) if len(chem) == 9 else None
    if sub is None:
        return _out_of_scope(bnf_code, bnf_name, chem)

    problems: list[str] = []
    notes: list[str] = []
    facts = read_name(name, sub.name_tokens, sub.pair_rule)
    if generic_name:
        facts, taken = complete(facts, read_name(generic_name, sub.name_tokens, sub.pair_rule))
        if taken:
            notes.append(
                f"{', '.join(taken)} taken from generic equivalent {generic_code(code)} "
                f"({generic_name})"
            )
    form, route, strength = facts.form, facts.route, facts.strength
    doses_override: int | None = None

    override = ref.override_for(code, name)
    if override is not None:
        if override.strength:
            strength = parse_strength(override.strength, sub.pair_rule)
            if strength is None:
                problems.append(f"override strength {override.strength!r} not understood")
        form = override.form or form
        route = override.route or route
        doses_override = override.doses_per_day
        notes.append(f"override: {override.reason}")

    if form is None or route is None:
        problems.append("dose form and route not recognised in name")
    if strength is None and not problems:
        problems.append("no opioid strength found in name")

    amount = _Amount()
    if form is not None and strength is not None:
        amount = _amount(sub, form, strength, facts)
        if amount.problem:
            problems.append(amount.problem)
        notes.extend(amount.notes)

    factor = ref.factors.get((sub.ome_substance, route)) if route else None
    if route is not None and factor is None:
        problems.append(
            f"no OME factor for {sub.ome_substance} by {route} route "
            f"in factor set {ref.factor_set!r}"
        )
    if factor is not None and factor.approximate:
        notes.append(f"approximate factor: {factor.note}")

    mr_oral = route == "oral" and facts.modified_release
    regular_long_acting = (sub.regular_long_acting == "patch" and form == "patch") or (
        sub.regular_long_acting == "modified_release_oral" and mr_oral
    )
    doses_per_day: int | None = None
    if mr_oral:
        doses_per_day = doses_override or (1 if facts.once_daily else 2)
    elif doses_override is not None:
        doses_per_day = doses_override

    resolved = not problems and amount.mg is not None and factor is not None
    ome_per_unit = (
        amount.mg * factor.factor if resolved and factor and amount.mg is not None else None
    )
    likely_daily: float | None = None
    if resolved and regular_long_acting and factor is not None:
        if form == "patch" and amount.rate_mcg_per_hour is not None:
            likely_daily = amount.rate_mcg_per_hour * 24.0 / 1000.0 * factor.factor
        elif doses_per_day is not None and amount.mg is not None:
            likely_daily = amount.mg * doses_per_day * factor.factor

    return Resolution(
        bnf_code=bnf_code,
        bnf_name=bnf_name,
        chemical_code=chem,
        substance=sub.ome_substance,
        in_scope=True,
        strong=sub.strong,
        route=route,
        form=form,
        strength_value=strength.value if strength else None,
        strength_unit=strength.unit_text if strength else None,
        mg_per_unit=_r(amount.mg),
        wear_hours=amount.wear_hours,
        ome_factor=factor.factor if factor else None,
        ome_factor_source=f"{ref.version}: {factor.source}" if factor else None,
        ome_mg_per_unit=_r(ome_per_unit),
        regular_long_acting=regular_long_acting,
        doses_per_day=doses_per_day,
        likely_daily_ome_mg=_r(likely_daily),
        non_cancer_scope=route in NON_CANCER_ROUTES,
        resolved=resolved,
        note="; ".join(problems + notes) or None,
    )


_DEFAULT_REFS: dict[str, Reference] = {}


def _default_reference() -> Reference:
    if DEFAULT_FACTOR_SET not in _DEFAULT_REFS:
        _DEFAULT_REFS[DEFAULT_FACTOR_SET] = load_reference(DEFAULT_FACTOR_SET)
    return _DEFAULT_REFS[DEFAULT_FACTOR_SET]


def resolve(
    bnf_code: str | None,
    bnf_name: str | None,
    ref: Reference | None = None,
    generic_name: str | None = None,
) -> Resolution:
    """Resolve one presentation from its 15-character BNF code and product name.

    The substance comes from the code (brand names often omit it); form, route and
    strength come from the name. ``generic_name`` is the name of the brand's generic
    equivalent (see :mod:`pipelines.ome.generic`), when known: it supplies the form,
    strength and release type the brand's own name leaves out. Results are cached on
    ``ref`` per (code, name, generic name).
    """
    ref = ref or _default_reference()
    key = (bnf_code, bnf_name, generic_name)
    hit = ref.cache.get(key)
    if isinstance(hit, Resolution):
        return hit
    code = (bnf_code or "").strip().upper()
    name = (bnf_name or "").strip()
    result = _resolve_uncached(bnf_code, bnf_name, code, name, ref, generic_name)
    ref.cache[key] = result
    return result


def generic_names(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, str]:
    """Generic code -> name, from (code, name) pairs; the first name of a code wins."""
    out: dict[str, str] = {}
    for code, name in pairs:
        if code and name and is_generic(code):
            out.setdefault(code.strip().upper(), name)
    return out


def resolve_frame(
    df: pl.DataFrame, ref: Reference | None = None, generics: dict[str, str] | None = None
) -> pl.DataFrame:
    """Resolve every distinct (bnf_code, bnf_name) pair of ``df``.

    A brand takes what its name leaves out from its generic equivalent's name, found among
    the frame's own generic presentations or else in ``generics`` (generic code -> name,
    e.g. from other months).

    Returns one row per distinct pair, sorted by code then name, with exactly
    :data:`RESOLUTION_COLUMNS` and the dtypes of :data:`RESOLUTION_SCHEMA`, so it can be
    joined back onto prescribing rows on both columns.
    """
    missing = [c for c in ("bnf_code", "bnf_name") if c not in df.columns]
    if missing:
        raise ValueError(f"resolve_frame needs columns bnf_code and bnf_name; missing {missing}")
    ref = ref or _default_reference()
    pairs = (
        df.select(pl.col("bnf_code").cast(pl.String), pl.col("bnf_name").cast(pl.String))
        .unique()
        .sort(["bnf_code", "bnf_name"], nulls_last=True)
    )
    as_row = operator.attrgetter(*RESOLUTION_COLUMNS)
    known = {**(generics or {}), **generic_names(pairs.iter_rows())}
    rows = [
        as_row(resolve(code, name, ref, known.get(generic_code(code) or "")))
        for code, name in pairs.iter_rows()
    ]
    return pl.DataFrame(rows, schema=RESOLUTION_SCHEMA, orient="row")


def write_ome_csv(input_path: Path, out: TextIO, factor_set: str = DEFAULT_FACTOR_SET) -> int:
    """Resolve a CSV of presentations (columns ``bnf_code,bnf_name``) and write the result.

    Writes CSV with a :data:`RESOLUTION_COLUMNS` header to ``out`` and returns the
    number of data rows written (one per distinct code and name). Every column is read
    as text, so codes such as ``040702040AAAAAA`` keep their leading zero.
    """
    ref = load_reference(factor_set)
    try:
        df = pl.read_csv(Path(input_path), infer_schema=False)
    except pl.exceptions.NoDataError as exc:
        raise ValueError(f"{input_path}: empty file; expected columns bnf_code,bnf_name") from exc
    missing = [c for c in ("bnf_code", "bnf_name") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{input_path}: input CSV needs columns bnf_code and bnf_name; "
            f"missing {', '.join(missing)} (found {', '.join(df.columns) or 'none'})"
        )
    result = resolve_frame(df, ref)
    out.write(result.write_csv())
    return result.height
