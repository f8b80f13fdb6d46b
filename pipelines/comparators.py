"""Comparator definitions, read from ``comparators/*.toml``.

A comparator is data: adding one means adding a file, not editing SQL in several places.
Each definition expands into one row per variant (e.g. the 90 mg and 120 mg thresholds)
and denominator; those rows are loaded into the warehouse, where one generic SQL statement
computes every comparator from the flags named here. The methodology page and the
published definitions table are generated from the same rows.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.config import COMPARATORS_DIR

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
MEASURES = ("items", "ome_mg_per_day")
# Presentation flags a numerator or denominator may require; each is a column of the
# presentation facts table (see sql/warehouse/presentation_facts.sql).
FILTERS = ("in_scope", "non_cancer_scope", "strong", "regular_long_acting", "patch", "high_dose")
POPULATIONS = ("patients", "adults")
DIRECTIONS = ("lower_is_better", "higher_is_better", "none")
STANDARD_VARIANT = "standard"


class DefinitionError(ValueError):
    """A comparator file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Variant:
    id: str
    high_dose_threshold_mg: float | None = None


@dataclass(frozen=True)
class Comparator:
    id: str
    title: str
    description: str
    units: str
    direction: str
    order: int
    measure: str
    filters: tuple[str, ...]
    denominator_type: str
    populations: tuple[str, ...]
    denominator_name: str | None
    denominator_measure: str | None
    denominator_filters: tuple[str, ...]
    scale: float
    plausible_min: float
    plausible_max: float
    variants: tuple[Variant, ...] = field(default_factory=tuple)
    source: str = ""

    @property
    def kind(self) -> str:
        """Rates per population use Poisson funnel limits; shares use binomial ones."""
        return "rate" if self.denominator_type == "population" else "proportion"


def _need(table: dict, key: str, where: str) -> object:
    if key not in table:
        raise DefinitionError(f"{where}: missing required field {key!r}")
    return table[key]


def _filters(values: object, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise DefinitionError(f"{where}: filters must be a list of names")
    unknown = [v for v in values if v not in FILTERS]
    if unknown:
        raise DefinitionError(f"{where}: unknown filter(s) {unknown}; allowed: {list(FILTERS)}")
    return tuple(values)


def parse_definition(path: Path) -> Comparator:
    where = path.name
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{where}: not valid TOML ({exc})") from exc
    num = _need(doc, "numerator", where)
    den = _need(doc, "denominator", where)
    measure = str(_need(num, "measure", f"{where} [numerator]"))
    if measure not in MEASURES:
        raise DefinitionError(f"{where}: numerator measure {measure!r} not in {list(MEASURES)}")
    filters = _filters(num.get("filters", []), f"{where} [numerator]")
    den_type = str(_need(den, "type", f"{where} [denominator]"))
    populations: tuple[str, ...] = ()
    den_measure = den_name = None
    den_filters: tuple[str, ...] = ()
    if den_type == "population":
        populations = tuple(den.get("populations", list(POPULATIONS)))
        if not populations or any(p not in POPULATIONS for p in populations):
            raise DefinitionError(f"{where}: populations must be drawn from {list(POPULATIONS)}")
    elif den_type == "measure":
        den_name = str(_need(den, "name", f"{where} [denominator]"))
        den_measure = str(_need(den, "measure", f"{where} [denominator]"))
        if den_measure not in MEASURES:
            raise DefinitionError(f"{where}: denominator measure {den_measure!r} unknown")
        den_filters = _filters(den.get("filters", []), f"{where} [denominator]")
    else:
        raise DefinitionError(f"{where}: denominator type must be 'population' or 'measure'")
    variants = tuple(
        Variant(
            id=str(_need(v, "id", f"{where} [[variants]]")),
            high_dose_threshold_mg=v.get("high_dose_threshold_mg"),
        )
        for v in doc.get("variants", [])
    ) or (Variant(STANDARD_VARIANT),)
    if "high_dose" in filters + den_filters and any(
        v.high_dose_threshold_mg is None for v in variants
    ):
        raise DefinitionError(
            f"{where}: uses the high_dose filter, so every variant needs high_dose_threshold_mg"
        )
    direction = str(doc.get("direction", "none"))
    if direction not in DIRECTIONS:
        raise DefinitionError(f"{where}: direction must be one of {list(DIRECTIONS)}")
    bounds = doc.get("bounds", {})
    comparator = Comparator(
        id=str(_need(doc, "id", where)),
        title=str(_need(doc, "title", where)),
        description=" ".join(str(_need(doc, "description", where)).split()),
        units=str(_need(doc, "units", where)),
        direction=direction,
        order=int(doc.get("order", 999)),
        measure=measure,
        filters=filters,
        denominator_type=den_type,
        populations=populations,
        denominator_name=den_name,
        denominator_measure=den_measure,
        denominator_filters=den_filters,
        scale=float(den.get("scale", 1000)),
        plausible_min=float(bounds.get("plausible_min", 0)),
        plausible_max=float(bounds.get("plausible_max", float("inf"))),
        variants=variants,
        source=str(path),
    )
    if comparator.id != path.stem:
        raise DefinitionError(f"{where}: id {comparator.id!r} must match the file name")
    # Ids become column names in the wide tables: keep them plain identifiers.
    if not _ID.match(comparator.id):
        raise DefinitionError(f"{where}: id must be lower-case letters, digits and underscores")
    return comparator


def load_comparators(directory: Path = COMPARATORS_DIR) -> list[Comparator]:
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise DefinitionError(f"no comparator definitions in {directory}")
    comparators = [parse_definition(p) for p in files]
    return sorted(comparators, key=lambda c: (c.order, c.id))


DEFINITION_ROW_SCHEMA = {
    "comparator_id": pl.String(),
    "variant": pl.String(),
    "denominator_type": pl.String(),
    "title": pl.String(),
    "units": pl.String(),
    "direction": pl.String(),
    "kind": pl.String(),
    "scale": pl.Float64(),
    "sort_order": pl.Int64(),
    "num_measure": pl.String(),
    **{f"num_{f}": pl.Boolean() for f in FILTERS},
    "high_dose_threshold_mg": pl.Float64(),
    "den_population": pl.String(),
    "den_measure": pl.String(),
    **{f"den_{f}": pl.Boolean() for f in FILTERS},
    "plausible_min": pl.Float64(),
    "plausible_max": pl.Float64(),
}


def definition_rows(comparators: list[Comparator]) -> pl.DataFrame:
    """One row per comparator x variant x denominator: what the generic SQL iterates over."""
    rows = []
    for c in comparators:
        denominators = (
            [(p, p, None) for p in c.populations]
            if c.denominator_type == "population"
            else [(c.denominator_name, None, c.denominator_measure)]
        )
        for v in c.variants:
            for den_type, population, den_measure in denominators:
                rows.append(
                    {
                        "comparator_id": c.id,
                        "variant": v.id,
                        "denominator_type": den_type,
                        "title": c.title,
                        "units": c.units,
                        "direction": c.direction,
                        "kind": c.kind,
                        "scale": c.scale,
                        "sort_order": c.order,
                        "num_measure": c.measure,
                        **{f"num_{f}": f in c.filters for f in FILTERS},
                        "high_dose_threshold_mg": v.high_dose_threshold_mg,
                        "den_population": population,
                        "den_measure": den_measure,
                        **{f"den_{f}": f in c.denominator_filters for f in FILTERS},
                        "plausible_min": c.plausible_min,
                        "plausible_max": c.plausible_max,
                    }
                )
    return pl.DataFrame(rows, schema=DEFINITION_ROW_SCHEMA)
