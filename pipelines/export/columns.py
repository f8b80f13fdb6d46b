"""What an export holds: its levels, formats and every column with what it means.

The same text heads the spreadsheet's columns (as a note) and its About sheet.
"""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("icb", "sub_icb", "pcn", "practice")
FORMATS: tuple[str, ...] = ("csv", "parquet", "xlsx")
EXPORT_MONTHS = 12

LEVEL_LABELS: dict[str, str] = {
    "england": "England",  # the dashboard's workbooks also cover England and the regions
    "region": "NHS England region",
    "icb": "ICB",
    "sub_icb": "sub-ICB location",
    "pcn": "PCN",
    "practice": "GP practice",
}


def organisation_title(level: str, code: str, name: str | None, *, bracketed: bool = False) -> str:
    """A heading such as ``ICB QSN Northshire ICB`` (or ``ICB QSN (Northshire ICB)``
    with ``bracketed``); England is just ``England``."""
    if level == "england":
        return "England"
    head = f"{LEVEL_LABELS[level]} {code}"
    if not name:
        return head
    return f"{head} ({name})" if bracketed else f"{head} {name}"


#: What the export reads; an extract published before these existed cannot be exported.
REQUIRED_RELATIONS: tuple[str, ...] = (
    "comparators",
    "practices",
    "practice_comparators",
    "organisation_comparators",
    "national_deciles_wide",
)

#: The columns of the CSV and Parquet export, in order, with what each means. The same
#: text heads the spreadsheet's columns (as a note) and its About sheet.
EXPORT_COLUMNS: dict[str, str] = {
    "org_level": "Level of the exported organisation: icb, sub_icb, pcn or practice.",
    "org_code": "Code of the exported organisation.",
    "practice_code": "ODS code of the GP practice.",
    "practice_name": "Practice name (ODS).",
    "pcn_code": "Primary Care Network code of the practice.",
    "pcn_name": "Primary Care Network name.",
    "sub_icb_code": "Sub-ICB location code.",
    "sub_icb_name": "Sub-ICB location name.",
    "icb_code": "Integrated Care Board code.",
    "icb_name": "Integrated Care Board name.",
    "month": "Dispensing month; for 3m and 12m rows the last month of the window.",
    "comparator_id": "Comparator identifier (one sheet each in the spreadsheet).",
    "comparator_title": "Comparator name.",
    "variant": "standard, or the high-dose threshold: 90mg (Opioids Aware) or 120mg.",
    "denominator_type": "patients (all ages), adults (18+) or long_acting_items (for shares).",
    "period": "1m, 3m or 12m: months summed in numerator and denominator.",
    "units": "Units of value, the limits, deciles and organisation values.",
    "numerator": "Prescription items, or mg OME per day, summed over the period.",
    "denominator": "Registered people (or items, for shares) summed over the period.",
    "value": "The comparator: scale x numerator / denominator. Blank when the denominator "
    "is missing or zero, or a month of the window is missing.",
    "list_size": "Registered patients (all ages) that month.",
    "small_practice": "TRUE when below the minimum list size (1,000 by default): shown, "
    "but not ranked or flagged.",
    "percentile_rank": "Rank among England's eligible practices, 0 (lowest) to 100, "
    "same month and key. Blank when not ranked.",
    "funnel_flag": "high / low / within against the plain 99.8% funnel limits.",
    "od_funnel_flag": "high / low / within against the 99.8% limits adjusted for "
    "over-dispersion: the flag to act on.",
    "funnel_lower_998": "Plain lower 99.8% funnel limit for this practice's denominator.",
    "funnel_upper_998": "Plain upper 99.8% funnel limit for this practice's denominator.",
    "od_lower_998": "Over-dispersion adjusted lower 99.8% funnel limit.",
    "od_upper_998": "Over-dispersion adjusted upper 99.8% funnel limit.",
    "national_rate": "England over eligible practices: sum of numerators / sum of "
    "denominators (the funnel centre line).",
    "national_p10": "National 10th percentile of practice values, same month and key.",
    "national_p20": "National 20th percentile.",
    "national_p30": "National 30th percentile.",
    "national_p40": "National 40th percentile.",
    "national_p50": "National median.",
    "national_p60": "National 60th percentile.",
    "national_p70": "National 70th percentile.",
    "national_p80": "National 80th percentile.",
    "national_p90": "National 90th percentile.",
    "spc_signal": "SPC (XmR) reading of this month in the practice's monthly series: "
    "improvement, concern, neither or common_cause. 1m rows with 12+ months only.",
    "spc_rules": "Special-cause rules this month is part of (outside_limits, run_of_7, "
    "trend_of_7, two_of_three_near_limit).",
    "value_12m_ago": "The value 12 months earlier (blank when not in the extract).",
    "change_abs": "value - value_12m_ago (percentage points for shares).",
    "change_rel": "Change as a share of value_12m_ago.",
    "org_value": "The exported organisation's own value, same month and key "
    "(sum over its practices).",
    "england_value": "England's value over all practices, same month and key.",
}

#: The columns of the organisation sheet (the organisation's own series).
ORGANISATION_COLUMNS: dict[str, str] = {
    "month": EXPORT_COLUMNS["month"],
    "comparator_id": "Comparator identifier.",
    "comparator_title": EXPORT_COLUMNS["comparator_title"],
    "variant": EXPORT_COLUMNS["variant"],
    "denominator_type": EXPORT_COLUMNS["denominator_type"],
    "period": EXPORT_COLUMNS["period"],
    "units": EXPORT_COLUMNS["units"],
    "numerator": "Sum of the practices' numerators over the period.",
    "denominator": "Sum of the practices' denominators over the period.",
    "value": "The organisation's value: scale x numerator / denominator.",
    "percentile_rank": "Rank among organisations of the same level, 0 (lowest) to 100 "
    "(for a practice: among England's eligible practices).",
    "n_organisations": "How many organisations of the level were ranked.",
    "england_value": EXPORT_COLUMNS["england_value"],
}

PRACTICE_COLUMNS: dict[str, str] = {
    "practice_code": "ODS code of the GP practice.",
    "practice_name": "Practice name (ODS).",
    "postcode": "Practice postcode.",
    "pcn_code": "Primary Care Network code.",
    "pcn_name": "Primary Care Network name.",
    "sub_icb_code": "Sub-ICB location code.",
    "sub_icb_name": "Sub-ICB location name.",
    "icb_code": "Integrated Care Board code.",
    "icb_name": "Integrated Care Board name.",
    "status_code": "ODS status: A active, C closed, D dormant, P proposed.",
    "open_date": "Date the practice opened.",
    "close_date": "Date the practice closed (blank while open).",
    "latest_patients": "Registered patients (all ages), latest month with a list size.",
    "latest_adults": "Registered patients aged 18+, same month.",
    "latest_list_size_month": "The month of the latest list size.",
}

#: Columns left out of the spreadsheet's per-comparator sheets: they repeat the sheet's
#: comparator or the organisation, or are on the Practices sheet (one line per practice
#: rather than once per row keeps a large ICB's workbook small and quick to open).
_SHEET_OMITS: frozenset[str] = frozenset(
    {
        "org_level",
        "org_code",
        "comparator_id",
        "comparator_title",
        "units",
        "pcn_code",
        "sub_icb_name",
        "icb_code",
        "icb_name",
    }
)

# Columns holding a value in the comparator's units (shares become percent cells).
_VALUE_COLUMNS: frozenset[str] = frozenset(
    {
        "value",
        "funnel_lower_998",
        "funnel_upper_998",
        "od_lower_998",
        "od_upper_998",
        "national_rate",
        "value_12m_ago",
        "change_abs",
        "org_value",
        "england_value",
        *(f"national_p{p}" for p in range(10, 100, 10)),
    }
)
_COUNT_COLUMNS: frozenset[str] = frozenset(
    {"denominator", "list_size", "latest_patients", "latest_adults", "n_organisations"}
)
_RANK_COLUMNS: frozenset[str] = frozenset({"percentile_rank"})
_FRACTION_COLUMNS: frozenset[str] = frozenset({"change_rel"})
