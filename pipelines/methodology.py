"""The methodology page, generated from the comparator definitions and the OME reference,
so the explanation published with the numbers cannot drift from how they were computed."""

from __future__ import annotations

import csv

from pipelines.comparators import Comparator
from pipelines.config import REFERENCE_DIR
from pipelines.periods import Period, factor_versions

_FILTER_TEXT = {
    "in_scope": "in-scope opioid analgesics (all routes)",
    "non_cancer_scope": "in-scope opioids taken by mouth or through the skin",
    "strong": "strong opioids",
    "regular_long_acting": "regular long-acting products (modified-release oral, patches)",
    "patch": "fentanyl and buprenorphine patches",
    "high_dose": "likely daily dose at or above the threshold",
}
_MEASURE_TEXT = {
    "items": "prescription items",
    "ome_mg_per_day": "mg oral morphine equivalent per day",
}


def _describe(measure: str, filters: tuple[str, ...]) -> str:
    what = _MEASURE_TEXT[measure]
    return what + (" of " + "; ".join(_FILTER_TEXT[f] for f in filters) if filters else "")


def _factor_version(factor_set: str) -> str:
    with open(REFERENCE_DIR / "ome_factors.csv", newline="") as fh:
        versions = {r["version"] for r in csv.DictReader(fh) if r["factor_set"] == factor_set}
    return ", ".join(sorted(versions)) or "unknown"


def _period_lines(
    periods: list[Period], comparators: list[Comparator], factor_set: str
) -> list[str]:
    thresholds = sorted(
        {v.high_dose_threshold_mg for c in comparators for v in c.variants} - {None}  # type: ignore[arg-type]
    )
    threshold_text = " and ".join(f"{t:g}" for t in thresholds) + " mg OME/day"
    version = _factor_version(factor_set)
    lines = [
        "## Data by period",
        "",
        "Where each month's numbers come from. The English Prescribing Dataset has two",
        "datasets (the earlier one, 2014-01 to 2025-06, and the SNOMED one from 2020-11);",
        "months in both are taken from the SNOMED dataset. The OME factor set and the",
        "high-dose thresholds are the same for every month of a publication, so a trend over",
        "years is computed one way throughout (docs/eras.md).",
        "",
        "| months | EPD dataset | header layout | adults (18+) from | OME factor set | high-dose thresholds |",
        "|---|---|---|---|---|---|",
    ]
    for p in periods:
        used = p.factor_version or version
        lines.append(
            f"| {p.months} | `{p.dataset}` | {p.layout} | {p.adults_from} "
            f"| `{factor_set}` ({used}) | {threshold_text} |"
            if used == version
            else f"| {p.months} | `{p.dataset}` | {p.layout} | {p.adults_from} "
            f"| {used} | {threshold_text} |"
        )
    mixed = factor_versions(periods)
    if len(mixed) > 1:
        lines += [
            "",
            f"**Warning: months were resolved with different OME factor sets ({', '.join(mixed)}),",
            "so the trend is not computed one way throughout. Re-run those months with one",
            "factor set (`OPIOIDS_OME_FACTOR_SET`) before comparing across periods.**",
        ]
    if not periods:
        lines.append(
            f"| (no months staged) | | | | `{factor_set}` ({version}) | {threshold_text} |"
        )
    return [*lines, ""]


def methodology_markdown(
    comparators: list[Comparator],
    *,
    factor_set: str,
    min_list_size: int,
    periods: list[Period] | None = None,
) -> str:
    lines = [
        "# Opioid prescribing comparators: methodology",
        "",
        "Per GP practice (prescribing setting 4), per dispensing month, from the NHSBSA English",
        "Prescribing Dataset. Denominators are registered patients (all ages) and registered",
        "adults aged 18+ from NHS England's 'Patients Registered at a GP Practice' for the same",
        "month. Organisation values (PCN, sub-ICB location, ICB, region, England) and 3- and",
        "12-month values are sums of numerators over sums of denominators.",
        "",
        "## What open data can and cannot show",
        "",
        "The open data counts items and quantities per practice and product. It has no patients,",
        "durations or diagnoses. 'Long-term' is approximated by regular long-acting products",
        "(modified-release oral opioids and patches); 'non-cancer' by leaving out injections,",
        "buccal, sublingual, nasal and rectal products, which are mostly palliative. Items are",
        "not patients, and these comparators are not for clinical decisions about individuals.",
        "",
    ]
    lines += _period_lines(periods or [], comparators, factor_set)
    lines += [
        "## Comparators",
        "",
    ]
    for c in comparators:
        lines += [f"### {c.title} (`{c.id}`)", "", c.description, ""]
        lines.append(f"- Numerator: {_describe(c.measure, c.filters)}.")
        if c.denominator_type == "population":
            lines.append(
                f"- Denominator: registered {' / '.join(c.populations)}; value per {c.scale:,.0f}."
            )
        else:
            lines.append(
                f"- Denominator: {_describe(c.denominator_measure or 'items', c.denominator_filters)}; value in percent."
            )
        lines.append(f"- Units: {c.units}. Direction: {c.direction.replace('_', ' ')}.")
        thresholds = [v for v in c.variants if v.high_dose_threshold_mg is not None]
        if thresholds:
            lines.append(
                "- Variants: "
                + ", ".join(
                    f"`{v.id}` (>= {v.high_dose_threshold_mg:g} mg OME/day)" for v in thresholds
                )
                + "."
            )
        lines.append("")
    lines += [
        "## Which products count",
        "",
        "In scope are the 25 BNF chemical substances of the NHSBSA opioid comparators: the",
        "opioid analgesics of BNF 4.7.2 plus co-codamol and co-dydramol from 4.7.1. Drugs",
        "for substance dependence (BNF 4.10) and opioid-containing products elsewhere",
        "(codeine linctus, kaolin and morphine, ibuprofen/codeine) are not counted.",
        "'Non-cancer scope' is in scope and taken by mouth or through the skin. Every",
        "presentation prescribed is resolved from its code and name each month, so new",
        "products are picked up; any that cannot be read are listed in",
        "`unresolved_presentations` and never silently dropped. The table",
        "`opioid_presentations` gives the reading of every presentation seen.",
        "",
        "| BNF code | substance | strength class | counted as | regular long-acting |",
        "|---|---|---|---|---|",
    ]
    with open(REFERENCE_DIR / "opioid_substances.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            long_acting = {"patch": "patches", "modified_release_oral": "modified-release oral"}
            lines.append(
                f"| {row['chemical_code']} | {row['chemical_name']} | {row['strength_class']} "
                f"| {row['ome_substance']} | {long_acting.get(row['regular_long_acting'], '')} |"
            )
    with open(REFERENCE_DIR / "bnf_code_changes.csv", newline="") as fh:
        changes = list(csv.DictReader(fh))
    if changes:
        lines += [
            "",
            "BNF codes that changed are read as their current code, so series stay continuous:",
            "",
        ]
        lines += [f"- {', '.join(f'{k}: {v}' for k, v in c.items())}" for c in changes]
    lines += [
        "",
        "## Oral morphine equivalence",
        "",
        "OME for a row = total quantity x opioid mg per unit x the OME factor for the substance",
        "and route. Combination products count the opioid only. Patches are rates: mg per patch",
        "= micrograms/hour x wear hours / 1000, with factor 100 for fentanyl and buprenorphine.",
        "Liquids are per ml; injections per ampoule or vial.",
        "",
        f"Factor set in use: `{factor_set}`.",
        "",
        "| substance | route | factor | source |",
        "|---|---|---|---|",
    ]
    with open(REFERENCE_DIR / "ome_factors.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("factor_set") == factor_set:
                lines.append(
                    f"| {row['substance']} | {row['route']} | {row['factor']} | {row.get('source', '')} |"
                )
    lines += [
        "",
        "## High dose",
        "",
        "An item is high dose when the likely daily dose of a regular long-acting product reaches",
        "the threshold: strength x doses per day x factor (2 doses a day for twice-daily",
        "modified-release products, 1 for once-daily ones), or for patches micrograms/hour x 24",
        "/ 1000 x 100. Immediate-release products and injections are never high dose by this rule.",
        "",
        "## Quantities that look wrong",
        "",
        "Quantity is sometimes recorded as packs instead of units. Rows whose quantity per",
        "item exceeds the limit for their form (`reference/quantity_limits.csv`, e.g. more",
        "than 100 patches on one item) are flagged `implausible_quantity` in",
        "`presentation_breakdown`; they are counted as published, not corrected.",
        "",
        "## Statistics",
        "",
        f"Practices with fewer than {min_list_size:,} registered patients keep their values but are",
        "left out of deciles, percentile ranks and funnel limits, and are flagged.",
        "Deciles use linear interpolation (as SQL PERCENTILE_CONT); percentile ranks are",
        "PERCENT_RANK x 100. Funnel limits (95% and 99.8%) use a normal approximation to the",
        "Poisson (rates) or binomial (shares), plain and adjusted for over-dispersion",
        "(Spiegelhalter: z-scores winsorised at 10%/90%). Practices above the upper 99.8%",
        "limit are flagged 'high', below the lower 'low'. SPC follows NHS Making Data Count",
        "(XmR: a point outside the limits, a run of 7 on one side of the mean, a trend of 7,",
        "2 of 3 points near a limit), read as improvement or concern by each comparator's",
        "direction. Change is against the same month a year earlier.",
        "",
    ]
    return "\n".join(lines)
