"""Deterministic sample data in the real sources' shapes.

Everything the sample portal serves starts here: 18 months of English Prescribing Dataset
files (both header layouts), NHS England list-size files and the ODS ``epraccur`` extract,
for about 300 fictional cost centres in real-format organisations.

Why the care over determinism: tests compare pipeline outputs with known figures, and the
offline demo should give everyone the same numbers. So there is no wall clock, no
``hash()`` (salted per process), no set iteration, and randomness comes only from
``random.Random(<string seed>)`` through its ``random()`` method, the one part of the
module Python promises to keep stable across versions; the distributions on top of it
(normal, gamma, Poisson, binomial) are implemented here for the same reason.

The data are plausible, not real: practice multipliers are gamma-distributed, there is a
gentle seasonal cycle and downward trend, three practices prescribe about three times the
national rate of strong and high-dose opioids, and a handful of rows carry the defects and
edge cases (closing/opening/tiny practices, implausible quantities, the tapentadol code
change, a 0410 methadone row) that the pipeline must handle.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import os
import random
import threading
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo.sample_portal import catalogue as cat
from demo.sample_portal import history
from demo.sample_portal.catalogue import Presentation

GENERATOR_VERSION = 2
SEED = "opioid-comparators-sample"
MANIFEST_NAME = "manifest.json"

FIRST_MONTH = (2024, 7)
MONTH_COUNT = 18
LAYOUT_CHANGE_MONTH = "2025-03"  # first month with the current EPD header
RETIRED_LAST_MONTH = "2025-06"  # the retired EPD dataset stops here
CLOSE_DATE = "20250331"
OPEN_DATE = "20241101"
# Re-published at generation time: its resource's last_modified is months after created.
REPUBLISHED_MONTH = "2024-10"
# Resources whose last_modified is null, so clients must fall back to created.
NULL_LAST_MODIFIED_MONTHS = ("2024-08", "2025-05")
# List-size months whose single-year-of-age files are served zipped.
ZIPPED_SINGLE_AGE_MONTHS = ("2024-09", "2025-03", "2025-09")
# A fixed zip timestamp keeps archives byte-identical between runs.
ZIP_DATE_TIME = (2026, 1, 5, 0, 0, 0)

_MONTH_NAMES = (
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
)  # fmt: skip

_ORG_COLUMNS = (
    "YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "ICB_NAME", "ICB_CODE",
    "PCO_NAME", "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", "ADDRESS_1", "ADDRESS_2",
    "ADDRESS_3", "ADDRESS_4", "POSTCODE",
)  # fmt: skip
LEGACY_COLUMNS: tuple[str, ...] = _ORG_COLUMNS + (
    "BNF_CHEMICAL_SUBSTANCE", "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE", "BNF_DESCRIPTION",
    "BNF_CHAPTER_PLUS_CODE", "SNOMED_CODE", "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQUSAGE",
    "NIC", "ACTUAL_COST", "UNIDENTIFIED",
)  # fmt: skip
CURRENT_COLUMNS: tuple[str, ...] = _ORG_COLUMNS + (
    "BNF_CHEMICAL_SUBSTANCE_CODE", "BNF_CHEMICAL_SUBSTANCE", "BNF_PRESENTATION_CODE",
    "BNF_PRESENTATION_NAME", "BNF_CHAPTER_PLUS_CODE", "SNOMED_CODE", "QUANTITY", "ITEMS",
    "TOTAL_QUANTITY", "ADQ_USAGE", "NIC", "ACTUAL_COST", "UNIDENTIFIED",
)  # fmt: skip
# Columns summed when SNOMED rows are folded into the retired dataset's rows.
MEASURE_COLUMNS = frozenset(
    {"ITEMS", "TOTAL_QUANTITY", "ADQUSAGE", "ADQ_USAGE", "NIC", "ACTUAL_COST"}
)
# Text columns, so loaders never guess a code such as "0407" or "97A" is a number.
TEXT_COLUMNS = frozenset(
    set(_ORG_COLUMNS) - {"YEAR_MONTH"}
    | {
        "BNF_CHEMICAL_SUBSTANCE", "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE", "BNF_DESCRIPTION",
        "BNF_CHAPTER_PLUS_CODE", "BNF_CHEMICAL_SUBSTANCE_CODE", "BNF_PRESENTATION_CODE",
        "BNF_PRESENTATION_NAME", "STP_NAME", "STP_CODE", "AREA_TEAM_NAME", "AREA_TEAM_CODE",
    }
)  # fmt: skip

LIST_ALL_COLUMNS = (
    "PUBLICATION", "EXTRACT_DATE", "TYPE", "CODE", "SUB_ICB_LOCATION_CODE",
    "ONS_SUB_ICB_LOCATION_CODE", "POSTCODE", "SEX", "AGE", "NUMBER_OF_PATIENTS",
)  # fmt: skip
LIST_SINGLE_AGE_COLUMNS = (
    "PUBLICATION", "EXTRACT_DATE", "ORG_TYPE", "ORG_CODE", "POSTCODE", "SEX", "AGE",
    "NUMBER_OF_PATIENTS",
)  # fmt: skip
LIST_MAP_COLUMNS = (
    "PUBLICATION", "EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "PRACTICE_POSTCODE",
    "PCN_CODE", "PCN_NAME", "ONS_SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME", "ONS_ICB_CODE", "ICB_CODE", "ICB_NAME", "ONS_COMM_REGION_CODE",
    "COMM_REGION_CODE", "COMM_REGION_NAME", "SUPPLIER_NAME",
)  # fmt: skip
LIST_SIZE_FILES = (
    "gp-reg-pat-prac-all",
    "gp-reg-pat-prac-sing-age-male",
    "gp-reg-pat-prac-sing-age-female",
    "gp-reg-pat-prac-map",
)
AGE_LABELS = tuple(str(a) for a in range(95)) + ("95+",)
EPRACCUR_COLUMNS = 27


# -- months -------------------------------------------------------------------------------


def _all_months() -> tuple[str, ...]:
    year, month = FIRST_MONTH
    out = []
    for _ in range(MONTH_COUNT):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)


MONTHS: tuple[str, ...] = _all_months()
RETIRED_MONTHS: tuple[str, ...] = tuple(m for m in MONTHS if m <= RETIRED_LAST_MONTH)


def columns_for_month(month: str, *, snomed: bool = True) -> tuple[str, ...]:
    """The EPD header published for ``month`` (the retired dataset has no SNOMED_CODE)."""
    cols = CURRENT_COLUMNS if month >= LAYOUT_CHANGE_MONTH else LEGACY_COLUMNS
    return cols if snomed else tuple(c for c in cols if c != "SNOMED_CODE")


def resource_name(month: str, *, snomed: bool = True) -> str:
    return f"EPD_{'SNOMED_' if snomed else ''}{month.replace('-', '')}"


def year_month_value(month: str) -> str:
    """``YEAR_MONTH`` as written: integer ``202407`` before the header change, text after."""
    return month if month >= LAYOUT_CHANGE_MONTH else month.replace("-", "")


def extract_date(month: str) -> str:
    """List-size ``EXTRACT_DATE``: the format changed between publications (both are real)."""
    year, mon = int(month[:4]), int(month[5:])
    name = _MONTH_NAMES[mon - 1]
    if year == 2024:
        return f"01{name}{year}"
    return f"01-{name.title()}-{year % 100:02d}"


def month_slug(month: str) -> str:
    """The publication page slug, e.g. ``july-2024``."""
    names = (
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december",
    )  # fmt: skip
    return f"{names[int(month[5:]) - 1]}-{month[:4]}"


# -- randomness ---------------------------------------------------------------------------


class _Rng:
    """Stable random draws: only ``random.Random.random()`` is used, seeded by a string."""

    def __init__(self, *key: object) -> None:
        self._r = random.Random(":".join((SEED, *map(str, key))))
        self.random = self._r.random

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def normal(self) -> float:
        u1 = 1.0 - self.random()
        u2 = self.random()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def gamma(self, shape: float, scale: float = 1.0) -> float:
        """Marsaglia-Tsang; shape >= 1 is all the generator needs."""
        d = shape - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            x = self.normal()
            v = (1.0 + c * x) ** 3
            if v <= 0:
                continue
            u = 1.0 - self.random()
            if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
                return d * v * scale

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam < 30:
            limit = math.exp(-lam)
            k, p = 0, self.random()
            while p > limit:
                k += 1
                p *= self.random()
            return k
        return max(0, round(lam + math.sqrt(lam) * self.normal()))

    def binomial(self, n: int, p: float) -> int:
        if n <= 0 or p <= 0:
            return 0
        if p >= 1:
            return n
        if n <= 12:
            r = self.random
            return sum(1 for _ in range(n) if r() < p)
        mean, sd = n * p, math.sqrt(n * p * (1 - p))
        return min(n, max(0, round(mean + sd * self.normal())))

    def index(self, n: int) -> int:
        return min(n - 1, int(self.random() * n))


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join((SEED, *map(str, parts))).encode()).hexdigest()


# -- SNOMED codes ---------------------------------------------------------------------------

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 7, 8, 6, 0), (4, 2, 8, 6, 5, 7, 1, 3, 0, 9),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _verhoeff(digits: str) -> str:
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[(i + 1) % 8][int(ch)]]
    return str(_VERHOEFF_INV[check])


def snomed_code(bnf_code: str, index: int) -> str:
    """A well-formed SNOMED CT identifier for a presentation's ``index``-th product.

    Index 0 of a generic gets a short core-style id (fits an integer); the others get
    UK drug extension ids (namespace 1000001), 17 digits, as dm+d AMPs have, so they exceed
    the portal's integer range and come back as strings.
    """
    number = int(_digest("snomed", bnf_code, index)[:12], 16)
    if index == 0 and bnf_code[9:11] == "AA":
        body = f"{300000 + number % 600000}00"
    else:
        body = f"{1000000 + number % 9000000}100000110"
    return body + _verhoeff(body)


@dataclass(frozen=True)
class _Combo:
    snomed: str
    quantity: int
    weight: float
    price_factor: float


def _combos(p: Presentation) -> tuple[_Combo, ...]:
    """The SNOMED-code x pack-size rows a presentation is split into.

    Opioids get a generic (VMP) and a branded-generic (AMP) code and a second pack size,
    so one practice-presentation-month has several rows to sum; other chapters get one
    row, which keeps the sample small where nothing is tested.
    """
    packs = p.packs
    if p.group == cat.NON_OPIOID:
        raw = [(snomed_code(p.bnf_code, 0), packs[0], 1.0, 1.0)]
    elif p.bnf_code[9:11] == "AA":
        raw = [
            (snomed_code(p.bnf_code, 0), packs[0], 0.7, 1.0),
            (snomed_code(p.bnf_code, 1), packs[0], 0.2, 1.06),
        ]
        if len(packs) > 1 and p.rate >= 1.0:
            raw.append((snomed_code(p.bnf_code, 0), packs[1], 0.1, 1.0))
    else:
        raw = [(snomed_code(p.bnf_code, 1), packs[0], 0.85, 1.0)]
        if len(packs) > 1:
            raw.append((snomed_code(p.bnf_code, 1), packs[1], 0.15, 1.0))
    total = sum(w for _, _, w, _ in raw)
    return tuple(_Combo(s, q, w / total, f) for s, q, w, f in raw)


# -- organisations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    code: str
    ons_code: str
    name: str


@dataclass(frozen=True)
class Icb:
    code: str
    ons_code: str
    county: str
    region: Region

    @property
    def epd_name(self) -> str:
        return f"NHS {self.county.upper()} INTEGRATED CARE BOARD"

    @property
    def map_name(self) -> str:
        return f"NHS {self.county} Integrated Care Board"


@dataclass(frozen=True)
class SubIcb:
    code: str
    ons_code: str
    icb: Icb

    @property
    def epd_name(self) -> str:
        return f"NHS {self.icb.county.upper()} ICB - {self.code}"

    @property
    def map_name(self) -> str:
        return f"NHS {self.icb.county} ICB - {self.code}"


@dataclass(frozen=True)
class Pcn:
    code: str
    name: str
    sub_icb: SubIcb


@dataclass
class CostCentre:
    """A prescribing cost centre: GP practice or another setting (OOH, walk-in, ...)."""

    code: str
    name: str
    setting: int
    sub_icb: SubIcb
    address: tuple[str, str, str, str]
    postcode: str
    open_date: str
    phone: str
    close_date: str = ""
    status: str = "A"
    pcn: Pcn | None = None
    pcn_from_2025_04: Pcn | None = None
    first_month: str = MONTHS[0]
    last_month: str = MONTHS[-1]
    population: int = 0  # notional population for non-GP settings
    list_sizes: dict[str, int] = field(default_factory=dict)
    # Cumulative shares over (male 0..95+, female 0..95+), ending at 1.
    age_cumulative: tuple[float, ...] = ()
    multipliers: dict[str, float] = field(default_factory=dict)
    preference: dict[str, float] = field(default_factory=dict)
    supplier: str = "EMIS"

    def active(self, month: str) -> bool:
        return self.first_month <= month <= self.last_month

    def pcn_for(self, month: str) -> Pcn | None:
        if self.pcn_from_2025_04 is not None and month >= "2025-04":
            return self.pcn_from_2025_04
        return self.pcn


REGIONS = (
    Region("Y63", "E40000012", "NORTH EAST AND YORKSHIRE"),
    Region("Y61", "E40000007", "EAST OF ENGLAND"),
)
ICBS = (
    Icb("QSN", "E54000901", "Northshire", REGIONS[0]),
    Icb("QSW", "E54000902", "Woldshire", REGIONS[0]),
    Icb("QSF", "E54000903", "Fenshire", REGIONS[1]),
)
SUB_ICBS = (
    SubIcb("97A", "E38000901", ICBS[0]),
    SubIcb("97B", "E38000902", ICBS[0]),
    SubIcb("97C", "E38000903", ICBS[1]),
    SubIcb("97D", "E38000904", ICBS[1]),
    SubIcb("97E", "E38000905", ICBS[2]),
    SubIcb("97F", "E38000906", ICBS[2]),
)
_PCNS_PER_SUB_ICB = (4, 3, 3, 4, 3, 3)
_POSTCODE_AREAS = {"QSN": "ZN", "QSW": "ZW", "QSF": "ZF"}
_PRACTICE_LETTER = {"Y63": "B", "Y61": "D"}
GP_PRACTICE_COUNT = 290
_NON_GP = (
    # (setting, count, name pattern)
    (cat.SETTING_OUT_OF_HOURS, 6, "{county} OUT OF HOURS SERVICE {n}"),
    (cat.SETTING_WALK_IN, 4, "{town} WALK-IN CENTRE"),
    (cat.SETTING_PUBLIC_HEALTH, 2, "{county} SUBSTANCE MISUSE SERVICE"),
    (cat.SETTING_COMMUNITY, 4, "{town} COMMUNITY PALLIATIVE CARE TEAM"),
    (cat.SETTING_CARE_HOME, 2, "{town} CARE HOME SUPPORT TEAM"),
)
OUTLIER_STRONG_FACTOR = 3.2


def _postcode(rng: _Rng, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return (
        f"{area}{1 + rng.index(19)} {rng.index(10)}"
        f"{letters[rng.index(len(letters))]}{letters[rng.index(len(letters))]}"
    )


def _address(rng: _Rng, town: str, county: str) -> tuple[str, str, str, str]:
    street = cat.STREETS[rng.index(len(cat.STREETS))]
    first = ("THE HEALTH CENTRE", "THE SURGERY", f"{1 + rng.index(180)} {street}")[rng.index(3)]
    second = street if not first[0].isdigit() else ""
    return first, second, town, county.upper()


def _age_shape(rng: _Rng) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-practice shares of patients by (sex, single year of age), summing to 1.

    Children (0-17) take 18-22% so adults are 78-82%; an elderly tilt makes some
    practices older or younger; the male share falls with age as in the real population.
    """
    child_share = rng.uniform(0.18, 0.22)
    tilt = rng.uniform(-0.3, 0.35)
    male_share = rng.uniform(0.485, 0.51)
    child = [1.0 - 0.006 * a for a in range(18)]
    adult = []
    for a in range(18, 96):
        w = 1.25 if a <= 60 else 1.25 * math.exp(-(a - 60) / 16.0)
        if a >= 65:
            w *= 1.0 + tilt
        elif a <= 35:
            w *= 1.0 - tilt / 2.0
        if a == 95:
            w *= 2.2  # the open-ended 95+ band
        adult.append(w)
    cs, ad = sum(child), sum(adult)
    weights = [w * child_share / cs for w in child] + [w * (1 - child_share) / ad for w in adult]
    male, female = [], []
    for a, w in enumerate(weights):
        m = male_share + 0.015 if a < 18 else male_share - max(0.0, (a - 60) * 0.0045)
        male.append(w * m)
        female.append(w * (1 - m))
    return tuple(male), tuple(female)


def _allocate(total: int, cumulative: Sequence[float]) -> list[int]:
    """Split ``total`` by a cumulative share curve (ending at 1) with exact integer totals.

    Rounding the cumulative counts, not each cell, keeps every cell within one of its
    share and the sum exactly ``total``, in linear time.
    """
    counts, previous = [], 0
    for c in cumulative:
        upto = round(total * c)
        counts.append(upto - previous)
        previous = upto
    counts[-1] += total - previous
    return counts


@dataclass
class _World:
    pcns: list[Pcn]
    centres: list[CostCentre]  # real cost centres: GP practices and other settings
    unspecified: list[CostCentre]  # the "...998" codes
    welsh: CostCentre
    facts: dict[str, Any]


def _build_world() -> _World:
    rng = _Rng("world")
    towns = list(cat.TOWNS)
    pcns: list[Pcn] = []
    n = 0
    for sub, count in zip(SUB_ICBS, _PCNS_PER_SUB_ICB, strict=True):
        for _ in range(count):
            town = towns[n % len(towns)]
            partner = towns[(n * 7 + 3) % len(towns)]
            name = f"{town} AND {partner} PCN" if n % 3 == 0 else f"{town} PCN"
            pcns.append(Pcn(f"U9{1001 + n * 37:04d}", name, sub))
            n += 1

    # GP practices, spread over PCNs so each sub-ICB location holds about 48.
    practices: list[CostCentre] = []
    next_number = {"B": 1003, "D": 1002}
    for i in range(GP_PRACTICE_COUNT):
        pcn = pcns[(i * 11) % len(pcns)]
        sub = pcn.sub_icb
        letter = _PRACTICE_LETTER[sub.icb.region.code]
        code = f"{letter}8{next_number[letter]:04d}"
        next_number[letter] += 1 + rng.index(6)
        town = towns[rng.index(len(towns))]
        suffix = cat.PRACTICE_SUFFIXES[rng.index(len(cat.PRACTICE_SUFFIXES))]
        street = cat.STREETS[rng.index(len(cat.STREETS))]
        name = f"{town} {suffix}" if rng.random() < 0.6 else f"{street} {suffix}"
        practices.append(
            CostCentre(
                code=code,
                name=name,
                setting=cat.SETTING_GP,
                sub_icb=sub,
                address=_address(rng, town, sub.icb.county),
                postcode=_postcode(rng, _POSTCODE_AREAS[sub.icb.code]),
                open_date=f"{1974 + rng.index(40)}{1 + rng.index(12):02d}01",
                phone=f"01{rng.index(900) + 100:03d} {rng.index(900000) + 100000:06d}",
                pcn=pcn,
                supplier=cat.SUPPLIERS[rng.index(len(cat.SUPPLIERS))],
            )
        )
    practices.sort(key=lambda c: c.code)

    # Special practices, picked deterministically from the sorted list.
    picks = list(range(len(practices)))
    order = sorted(picks, key=lambda i: _digest("special", practices[i].code))
    closing, opening, tiny1, tiny2, out1, out2, out3, mover = (practices[i] for i in order[:8])
    closing.close_date, closing.status, closing.last_month = CLOSE_DATE, "C", "2025-03"
    opening.open_date, opening.first_month = OPEN_DATE, "2024-11"
    outliers = [out1, out2, out3]
    same_sub = [p for p in pcns if p.sub_icb is mover.sub_icb and p is not mover.pcn]
    mover.pcn_from_2025_04 = same_sub[0]

    outlier_codes = {p.code for p in outliers}
    for p in practices:
        _practice_traits(
            p,
            outlier=p.code in outlier_codes,
            tiny=p.code in (tiny1.code, tiny2.code),
            opening=p is opening,
        )

    others: list[CostCentre] = []
    serial = 2601
    for setting, count, pattern in _NON_GP:
        for j in range(count):
            sub = SUB_ICBS[(j * 5 + setting) % len(SUB_ICBS)]
            town = towns[rng.index(len(towns))]
            name = pattern.format(county=sub.icb.county.upper(), town=town, n=sub.code)
            low, high = cat.NON_GP_PROFILES[setting][1]
            others.append(
                CostCentre(
                    code=f"Y0{serial:04d}",
                    name=name,
                    setting=setting,
                    sub_icb=sub,
                    address=_address(rng, town, sub.icb.county),
                    postcode=_postcode(rng, _POSTCODE_AREAS[sub.icb.code]),
                    open_date=f"{2005 + rng.index(15)}0401",
                    phone=f"0300 {rng.index(900000) + 100000:06d}",
                    population=low + rng.index(high - low),
                    multipliers={"all": 1.0},
                )
            )
            serial += 7 + rng.index(40)

    unspecified = []
    for k, icb in enumerate(ICBS):
        sub = next(s for s in SUB_ICBS if s.icb is icb)
        unspecified.append(
            CostCentre(
                code=f"Y9{k + 1}998",
                name="UNSPECIFIED PRACTICE",
                setting=cat.SETTING_GP,
                sub_icb=sub,
                address=("-", "-", "-", "-"),
                postcode="-",
                open_date="20130401",
                phone="",
                population=900,
                multipliers={"all": 1.0},
            )
        )
    welsh = CostCentre(
        code="W00007",
        name="PRIMROSE HILL SURGERY",
        setting=cat.SETTING_GP,
        sub_icb=SUB_ICBS[0],
        address=("THE SURGERY", "HEOL Y FFYNNON", "LLANWERN", "GWENT"),
        postcode="NP18 2AA",
        open_date="19750401",
        phone="01633 000000",
    )
    centres = sorted(practices + others, key=lambda c: c.code)
    facts = {
        "outlier_practices": sorted(p.code for p in outliers),
        "closing_practice": {
            "code": closing.code,
            "close_date": "2025-03-31",
            "last_month": "2025-03",
        },
        "opening_practice": {
            "code": opening.code,
            "open_date": "2024-11-01",
            "first_month": "2024-11",
        },
        "tiny_practices": sorted([tiny1.code, tiny2.code]),
        "pcn_change": {
            "practice_code": mover.code,
            "from_month": "2025-04",
            "old_pcn": mover.pcn.code if mover.pcn else None,
            "new_pcn": mover.pcn_from_2025_04.code if mover.pcn_from_2025_04 else None,
        },
        "welsh_practice": welsh.code,
        "unspecified_practice_codes": [u.code for u in unspecified],
    }
    return _World(pcns, centres, unspecified, welsh, facts)


def _practice_traits(p: CostCentre, *, outlier: bool, tiny: bool, opening: bool) -> None:
    """List sizes by month, age structure and prescribing multipliers for one practice."""
    rng = _Rng("practice", p.code)
    if tiny:
        base = 560 + rng.index(380)
    elif outlier:
        base = 6000 + rng.index(5000)
    else:
        base = int(min(20000, max(2000, math.exp(math.log(7500) + 0.55 * rng.normal()))))
    size = float(base)
    for t, month in enumerate(MONTHS):
        size *= 1.0 + 0.0015 + 0.004 * rng.normal()
        if not p.active(month):
            continue
        value = size
        if opening:
            months_open = MONTHS.index(month) - MONTHS.index(p.first_month)
            value = 850 + 260 * months_open + 40 * rng.normal()
        if p.close_date and month >= "2025-01":
            value *= 0.9 ** (t - MONTHS.index("2024-12"))
        p.list_sizes[month] = max(50, round(value))
    male, female = _age_shape(rng)
    cumulative = list(itertools.accumulate(male + female))
    p.age_cumulative = tuple(cumulative[:-1]) + (1.0,)
    # Heterogeneous but not wild (coefficient of variation about a third, clipped), so the
    # three deliberate outliers stand clear of the ordinary tail.
    strong = min(1.6, max(0.4, rng.gamma(9.0, 1 / 9)))
    p.multipliers = {
        "all": 1.0,
        cat.WEAK: rng.gamma(8.0, 1 / 8),
        cat.STRONG: strong,
        cat.HIGH_DOSE: strong * rng.gamma(10.0, 0.1),
        cat.PALLIATIVE: rng.gamma(2.0, 0.5),
        cat.NON_OPIOID: rng.gamma(12.0, 1 / 12),
        cat.DEPENDENCE: rng.gamma(2.0, 0.5),
    }
    if outlier:
        # Clear outliers: strong and high-dose opioids at about three times the national rate.
        p.multipliers[cat.STRONG] = OUTLIER_STRONG_FACTOR * rng.uniform(1.0, 1.1)
        p.multipliers[cat.HIGH_DOSE] = OUTLIER_STRONG_FACTOR * rng.uniform(1.05, 1.2)
    p.preference = {pres.bnf_code: rng.gamma(8.0, 1 / 8) for pres in cat.CATALOGUE}


# -- prescribing ---------------------------------------------------------------------------------


def format_number(value: float) -> str:
    """A number as the sample's files write it: shortest form, no trailing ``.0``."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return repr(value)


def _field(value: str) -> str:
    """CSV quoting as Python's csv module does it (only when needed)."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _line(values: Iterable[str]) -> str:
    return ",".join(_field(v) for v in values)


@dataclass(frozen=True)
class ImplausibleRow:
    month: str
    practice_code: str
    bnf_code: str
    quantity: int


def _implausible_rows(world: _World) -> tuple[ImplausibleRow, ...]:
    """Items recorded in packs of hundreds of patches: a plausibility flag must find these."""
    wanted = (("2025-05", "0407020A0AAAEAE", 500), ("2024-11", "0407020B0BHABAI", 400))
    gps = [c for c in world.centres if all(month in c.list_sizes for month, _, _ in wanted)]
    order = sorted(gps, key=lambda c: _digest("implausible", c.code))
    return tuple(
        ImplausibleRow(month, centre.code, code, quantity)
        for (month, code, quantity), centre in zip(wanted, order, strict=False)
    )


def _season(month: str, t: int) -> float:
    """A gentle winter peak and a slow downward trend (opioid prescribing is falling)."""
    mon = int(month[5:])
    return (1.0 + 0.05 * math.cos(2 * math.pi * (mon - 1) / 12)) * (1.0 - 0.004 * t)


@dataclass(frozen=True)
class _Plan:
    """What one cost centre prescribes, fixed across months: (presentation, base rate)."""

    centre: CostCentre
    rates: tuple[tuple[int, float], ...]
    flag: str


def _plan(centre: CostCentre, allowed: frozenset[str] | None, flag: str = "False") -> _Plan:
    rates = []
    default = centre.multipliers.get("all", 1.0)
    for k, pres in enumerate(cat.CATALOGUE):
        if allowed is not None and pres.group not in allowed:
            continue
        mult = centre.multipliers.get(pres.group, default)
        rates.append((k, pres.rate * mult * centre.preference.get(pres.bnf_code, 1.0) / 1000.0))
    return _Plan(centre, tuple(rates), flag)


def _plans(world: _World) -> list[_Plan]:
    unidentified = CostCentre("-", "", 0, SUB_ICBS[0], ("", "", "", ""), "", "", "")
    plans = [_plan(unidentified, None, "True")]
    for centre in sorted(world.centres + world.unspecified, key=lambda c: c.code):
        if centre.setting == cat.SETTING_GP and centre.list_sizes:
            allowed = None
        elif centre.code.endswith("998"):
            allowed = frozenset({cat.WEAK, cat.STRONG, cat.NON_OPIOID})
        else:
            allowed = cat.NON_GP_PROFILES[centre.setting][0]
        plans.append(_plan(centre, allowed))
    return plans


def _population(centre: CostCentre, month: str) -> float:
    if centre.code == "-":
        return 1500.0  # unidentified doctors: a thin slice of everything
    if centre.list_sizes:
        return float(centre.list_sizes[month])
    return centre.population * (1.0 + 0.05 * _Rng("pop", centre.code, month).normal())


def _prefix(month: str, centre: CostCentre) -> str:
    ym = year_month_value(month)
    if centre.code == "-":
        return _line([ym, "UNIDENTIFIED", "-", "UNIDENTIFIED", "-", "UNIDENTIFIED", "-",
                      "UNIDENTIFIED DOCTORS", "-", "-", "-", "-", "-", "-"])  # fmt: skip
    sub = centre.sub_icb
    return _line(
        [
            ym,
            sub.icb.region.name,
            sub.icb.region.code,
            sub.icb.epd_name,
            sub.icb.code,
            sub.epd_name,
            sub.code,
            centre.name,
            centre.code,
            *centre.address,
            centre.postcode,
        ]
    )


def _fold(values: Sequence[tuple[float, ...]]) -> str:
    """Sum (items, total quantity, ADQ usage, NIC, cost) rows in order, as derive_retired does."""
    n, total, adq_usage, nic, cost = (sum(col[i] for col in values) for i in range(5))
    return (
        f"{int(n)},{format_number(round(total, 5))},{format_number(round(adq_usage, 5))},"
        f"{format_number(round(nic, 2))},{format_number(round(cost, 5))}"
    )


def _epd_month(
    plans: Sequence[_Plan], month: str, implausible: Sequence[ImplausibleRow]
) -> tuple[bytes, bytes | None]:
    """One month of the SNOMED dataset, and of the retired dataset while it ran, as CSV.

    Items per cost centre and presentation are Poisson around (population x rate x
    practice multipliers x season), then split over SNOMED code and pack size. The retired
    dataset folds the SNOMED rows of a presentation and pack size together, exactly as
    :func:`derive_retired` does for a re-published month.
    """
    t = MONTHS.index(month)
    season = _season(month, t)
    cost_ratio = 0.9437 - 0.0006 * (t % 4)
    mids, combos = [], []
    for p in cat.CATALOGUE:
        code, chem, chem_name = p.codes_for_month(month)
        mids.append(_line([chem, chem_name, code, p.name, p.chapter]))
        combos.append(
            tuple(
                (c.snomed, c.quantity, c.weight, p.unit_cost * c.price_factor, p.adq_per_unit)
                for c in _combos(p)
            )
        )
    index = {p.bnf_code: k for k, p in enumerate(cat.CATALOGUE)}
    order = sorted(range(len(cat.CATALOGUE)), key=lambda k: cat.CATALOGUE[k].bnf_code)
    rank = {k: r for r, k in enumerate(order)}
    # A row's measures depend only on (presentation, SNOMED code, quantity, items), and
    # most recur across practices: compute and format each once.
    measures: dict[tuple[int, str, int, int], tuple[float, float, float, float, str]] = {}
    folded: dict[tuple[tuple[int, str, int, int], ...], str] = {}
    lines = [",".join(columns_for_month(month))]
    retired = (
        [",".join(columns_for_month(month, snomed=False))] if month in RETIRED_MONTHS else None
    )
    for plan in plans:  # "-" first, then cost centres in code order
        centre = plan.centre
        if not centre.active(month):
            continue
        rng = _Rng("rx", centre.code, month)
        factor = _population(centre, month) * season
        draws = [(k, rng.poisson(factor * rate)) for k, rate in plan.rates]
        rows: list[tuple[int, str, int, int]] = []
        for k, items in draws:
            if items == 0:
                continue
            remaining, weight_left = items, 1.0
            last = len(combos[k]) - 1
            for i, (snomed, qty, weight, _, _) in enumerate(combos[k]):
                if i == last:
                    n = remaining
                else:
                    n = rng.binomial(remaining, min(1.0, weight / weight_left))
                remaining -= n
                weight_left -= weight
                if n:
                    rows.append((k, snomed, qty, n))
        for bad in implausible:
            if bad.month == month and bad.practice_code == centre.code:
                k = index[bad.bnf_code]
                rows.append((k, combos[k][0][0], bad.quantity, 1))
        if not rows:
            continue
        rows.sort(key=lambda r: (rank[r[0]], r[1], r[2]))
        prefix = _prefix(month, centre)
        groups: dict[tuple[int, int], list[tuple[int, str, int, int]]] = {}
        for key in rows:
            m = measures.get(key)
            if m is None:
                k, snomed, qty, n = key
                price, adq = next((c[3], c[4]) for c in combos[k] if c[0] == snomed)
                total = qty * n
                nic = round(total * price, 2)
                adq_usage, cost = round(total * adq, 5), round(nic * cost_ratio, 5)
                tail = f"{snomed},{qty},{n},{total},{format_number(adq_usage)},{format_number(nic)},{format_number(cost)}"
                m = measures[key] = (float(total), adq_usage, nic, cost, tail)
            lines.append(f"{prefix},{mids[key[0]]},{m[4]},{plan.flag}")
            if retired is not None:
                groups.setdefault((key[0], key[2]), []).append(key)
        if retired is not None:
            for members in groups.values():
                tail = folded.get(tuple(members))
                if tail is None:
                    tail = folded[tuple(members)] = _fold(
                        [(m[3], *measures[m][:4]) for m in members]
                    )
                retired.append(f"{prefix},{mids[members[0][0]]},{members[0][2]},{tail},{plan.flag}")
    snomed_bytes = ("\n".join(lines) + "\n").encode("latin-1")
    retired_bytes = ("\n".join(retired) + "\n").encode("latin-1") if retired else None
    return snomed_bytes, retired_bytes


# -- EPD transformations shared with the server -----------------------------------------------


def read_csv_bytes(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV (Latin-1, as the portal's files are read)."""
    reader = csv.reader(io.StringIO(data.decode("latin-1"), newline=""))
    rows = list(reader)
    if not rows:
        return [], []
    return rows[0], rows[1:]


def write_csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """Rows as CSV with the generator's quoting (minimal) and line endings (``\\n``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("latin-1")


def derive_retired(snomed_csv: bytes) -> bytes:
    """The retired dataset's month from the SNOMED one: rows folded over SNOMED codes.

    The retired EPD has one row per practice x presentation x pack size; the SNOMED
    dataset splits those further by SNOMED code. Measures are summed; order is kept.
    """
    header, rows = read_csv_bytes(snomed_csv)
    if "SNOMED_CODE" not in header:
        return snomed_csv
    drop = header.index("SNOMED_CODE")
    keep = [i for i in range(len(header)) if i != drop]
    measures = [i for i in keep if header[i] in MEASURE_COLUMNS]
    keys = [i for i in keep if i not in measures]
    groups: dict[tuple[str, ...], list[float]] = {}
    firsts: dict[tuple[str, ...], list[str]] = {}
    for row in rows:
        key = tuple(row[i] for i in keys)
        sums = groups.get(key)
        if sums is None:
            groups[key] = [float(row[i]) for i in measures]
            firsts[key] = row
        else:
            for j, i in enumerate(measures):
                sums[j] += float(row[i])
    out_rows = []
    for key, sums in groups.items():
        row = list(firsts[key])
        for j, i in enumerate(measures):
            digits = 2 if header[i] == "NIC" else 5
            row[i] = format_number(round(sums[j], digits) if header[i] != "ITEMS" else int(sums[j]))
        out_rows.append([row[i] for i in keep])
    return write_csv_bytes([header[i] for i in keep], out_rows)


def republish_month(csv_bytes: bytes, month: str, revision: int) -> bytes:
    """A re-publication's small, deterministic correction: one item more on ~3% of rows."""
    header, rows = read_csv_bytes(csv_bytes)
    col = {name: i for i, name in enumerate(header)}
    adq = col.get("ADQUSAGE", col.get("ADQ_USAGE"))
    for n, row in enumerate(rows):
        if zlib.crc32(f"{SEED}:{month}:{revision}:{n}".encode()) % 33:
            continue
        items = int(row[col["ITEMS"]])
        if items < 1:
            continue
        ratio = (items + 1) / items
        row[col["ITEMS"]] = str(items + 1)
        row[col["TOTAL_QUANTITY"]] = format_number(float(row[col["QUANTITY"]]) * (items + 1))
        row[col["NIC"]] = format_number(round(float(row[col["NIC"]]) * ratio, 2))
        row[col["ACTUAL_COST"]] = format_number(round(float(row[col["ACTUAL_COST"]]) * ratio, 5))
        if adq is not None:
            row[adq] = format_number(round(float(row[adq]) * ratio, 5))
    return write_csv_bytes(header, rows)


def deterministic_zip(member: str, data: bytes, *, zip64: bool = False) -> bytes:
    """A zip holding one file, byte-identical for identical input."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(member, date_time=ZIP_DATE_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with zf.open(info, "w", force_zip64=zip64) as fh:
            fh.write(data)
    return buf.getvalue()


# -- list sizes and ODS -------------------------------------------------------------------------


def list_size_path(month: str, filename: str) -> str:
    """The hashed URL path of a list-size file, as the publication pages link it."""
    h = hashlib.sha1(f"{SEED}:{month}:{filename}".encode()).hexdigest().upper()
    return f"/files/{h[:2]}/{h[2:8]}/{filename}"


def _list_size_files(world: _World, month: str) -> dict[str, bytes]:
    ext = extract_date(month)
    gps = [c for c in world.centres if c.setting == cat.SETTING_GP and month in c.list_sizes]
    all_rows, male_rows, female_rows, map_rows = [], [], [], []
    for p in gps:
        total = p.list_sizes[month]
        counts = _allocate(total, p.age_cumulative)
        male, female = counts[:96], counts[96:]
        sub = p.sub_icb
        all_rows.append(
            f"GP_PRAC_PAT_LIST,{ext},GP,{p.code},{sub.code},{sub.ons_code},{p.postcode},ALL,ALL,{total}"
        )
        for sex, values, out in (("MALE", male, male_rows), ("FEMALE", female, female_rows)):
            head = f"GP_PRAC_PAT_LIST,{ext},GP,{p.code},{p.postcode},{sex},"
            out.extend(f"{head}{label},{v}" for label, v in zip(AGE_LABELS, values, strict=True))
            out.append(f"{head}ALL,{sum(values)}")
        pcn = p.pcn_for(month)
        assert pcn is not None
        icb, region = sub.icb, sub.icb.region
        map_rows.append(
            _line(
                [
                    "GP_PRAC_PAT_LIST",
                    ext,
                    p.code,
                    p.name,
                    p.postcode,
                    pcn.code,
                    pcn.name,
                    sub.ons_code,
                    sub.code,
                    sub.map_name,
                    icb.ons_code,
                    icb.code,
                    icb.map_name,
                    region.ons_code,
                    region.code,
                    region.name,
                    p.supplier,
                ]
            )  # fmt: skip
        )

    def csv_bytes(header: Sequence[str], rows: list[str]) -> bytes:
        return ("\n".join([",".join(header), *rows]) + "\n").encode("latin-1")

    files = {
        "gp-reg-pat-prac-all.csv": csv_bytes(LIST_ALL_COLUMNS, all_rows),
        "gp-reg-pat-prac-map.csv": csv_bytes(LIST_MAP_COLUMNS, map_rows),
    }
    for sex, rows in (("male", male_rows), ("female", female_rows)):
        name = f"gp-reg-pat-prac-sing-age-{sex}"
        data = csv_bytes(LIST_SINGLE_AGE_COLUMNS, rows)
        if month in ZIPPED_SINGLE_AGE_MONTHS:
            files[f"{name}.zip"] = deterministic_zip(f"{name}.csv", data)
        else:
            files[f"{name}.csv"] = data
    return files


def _epraccur(world: _World) -> bytes:
    rows = []
    for c in sorted(world.centres + world.unspecified + [world.welsh], key=lambda c: c.code):
        sub = c.sub_icb
        welsh = c.code.startswith("W")
        record = [""] * EPRACCUR_COLUMNS
        record[0], record[1] = c.code, c.name
        record[2] = "W00" if welsh else sub.icb.region.code
        record[3] = "Q99" if welsh else sub.icb.code
        record[4:8] = list(c.address)
        record[8] = ""
        record[9] = c.postcode
        record[10], record[11], record[12] = c.open_date, c.close_date, c.status
        record[13] = "B"
        record[14] = "7A1" if welsh else sub.code
        record[15] = c.open_date if c.open_date > "20130401" else "20130401"
        record[16] = c.close_date
        record[17] = c.phone
        record[24] = "0"
        record[25] = str(c.setting)
        rows.append(",".join(f'"{v}"' for v in record))
    return ("\r\n".join(rows) + "\r\n").encode("latin-1")


# -- manifest and entry point -----------------------------------------------------------------


@dataclass(frozen=True)
class SampleManifest:
    """What was generated: version, months, file hashes and the facts tests rely on."""

    generator_version: int
    months: tuple[str, ...]
    files: dict[str, str]
    facts: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {
                "generator_version": self.generator_version,
                "months": list(self.months),
                "files": self.files,
                "facts": self.facts,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def load(cls, path: Path) -> SampleManifest:
        raw = json.loads(path.read_text())
        return cls(raw["generator_version"], tuple(raw["months"]), raw["files"], raw["facts"])


def write_atomic(path: Path, data: bytes) -> str:
    """Write atomically (temp file + rename) and return the SHA-256 of the content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def generate_sample(out_dir: Path) -> SampleManifest:
    """Write the sample into ``out_dir`` once; later calls return the existing manifest.

    The manifest is written last, so an interrupted run is simply redone.
    """
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST_NAME
    if manifest_path.exists():
        try:
            existing = SampleManifest.load(manifest_path)
        except (ValueError, KeyError):
            existing = None
        if (
            existing
            and existing.generator_version == GENERATOR_VERSION
            and all((out_dir / rel).exists() for rel in existing.files)
        ):
            return existing

    world = _build_world()
    implausible = _implausible_rows(world)
    plans = _plans(world)
    files: dict[str, str] = {}
    history_bases: dict[str, bytes] = {}
    for month in MONTHS:
        snomed, retired = _epd_month(plans, month, implausible)
        rel = f"epd/{resource_name(month)}.csv"
        files[rel] = write_atomic(out_dir / rel, snomed)
        if month in history.HISTORIC_MONTHS.values():
            history_bases[resource_name(month)] = snomed
        if retired is not None:
            rel = f"epd/{resource_name(month, snomed=False)}.csv"
            files[rel] = write_atomic(out_dir / rel, retired)
    list_links: dict[str, dict[str, str]] = {}
    for month in MONTHS:
        list_links[month] = {}
        for filename, data in _list_size_files(world, month).items():
            rel = f"list_sizes/{month}/{filename}"
            files[rel] = write_atomic(out_dir / rel, data)
            list_links[month][filename] = list_size_path(month, filename)
    historic_files, historic_links = history.generate(
        lambda rel, data: write_atomic(out_dir / rel, data),
        history_bases,
        lambda month: _list_size_files(world, month),
    )
    files.update(historic_files)
    list_links.update(historic_links)
    files["ods/epraccur.zip"] = write_atomic(
        out_dir / "ods/epraccur.zip", deterministic_zip("epraccur.csv", _epraccur(world))
    )

    settings: dict[str, int] = {}
    for c in world.centres:
        settings[str(c.setting)] = settings.get(str(c.setting), 0) + 1
    facts = dict(world.facts)
    facts.update(
        {
            "months": list(MONTHS),
            "layout_change_month": LAYOUT_CHANGE_MONTH,
            "retired_months": list(RETIRED_MONTHS),
            "historic_months": list(history.HISTORIC_MONTHS),
            "republished_month": REPUBLISHED_MONTH,
            "null_last_modified_months": list(NULL_LAST_MODIFIED_MONTHS),
            "zipped_single_age_months": list(ZIPPED_SINGLE_AGE_MONTHS),
            "regions": [{"code": r.code, "ons_code": r.ons_code, "name": r.name} for r in REGIONS],
            "icbs": [
                {
                    "code": i.code,
                    "ons_code": i.ons_code,
                    "name": i.map_name,
                    "region": i.region.code,
                }
                for i in ICBS
            ],
            "sub_icbs": [
                {"code": s.code, "ons_code": s.ons_code, "icb": s.icb.code} for s in SUB_ICBS
            ],
            "pcn_count": len(world.pcns),
            "cost_centres": len(world.centres),
            "settings": dict(sorted(settings.items())),
            "gp_practices": [c.code for c in world.centres if c.setting == cat.SETTING_GP],
            "implausible_rows": [vars(r) for r in implausible],
            "tapentadol": {
                "legacy_chemical_code": "0407020AH",
                "chemical_code": "0407020AG",
                "change_month": cat.TAPENTADOL_CODE_CHANGE_MONTH,
            },
            "list_size_files": list_links,
        }
    )
    manifest = SampleManifest(GENERATOR_VERSION, MONTHS, dict(sorted(files.items())), facts)
    write_atomic(manifest_path, manifest.to_json().encode())
    return manifest
