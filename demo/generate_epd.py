"""A synthetic national-scale EPD month, for benchmarks and tests of the bulk route.

A real month is about 18 million rows and 7 GB of CSV. Nobody should need to download
one to find out whether the bulk route copes, so this module writes a file with the same
columns (either header layout), the same shape and plausible distributions, fast enough
to make 18 million rows in a couple of minutes on two cores:

* about 6,500 GP practices (letter + five digits) and a quarter as many other cost
  centres (``Y`` codes), one unidentified-doctors centre (``-``) and a few ``...998``
  unspecified-practice codes, in 7 regions, 42 ICBs and about 106 sub-ICB locations;
* a BNF mix of real section 0407 presentations (the sample catalogue's codes and names)
  making about 2.5% of rows, and about 11,000 synthetic presentations in real-format
  codes across the other chapters (including the real 0410 methadone, which must never
  count as an analgesic);
* one row per practice x presentation x SNOMED code x quantity per item, so a
  practice-presentation has several rows, as in the real file: popular presentations at
  large practices get many rows (each pack size and multiple of it is its own row);
* a few practice names and addresses with Latin-1 characters and embedded commas, so
  encoding and quoting are exercised at scale.

Speed comes from building each chunk of rows as index arrays (numpy) into small
pre-rendered tables: each cost centre's 14 organisation columns and each presentation's
five BNF columns are rendered to CSV text once, and a chunk is written by Polars as
three text columns and seven numbers without quoting. A zip is compressed in a second
thread while the next chunk is generated. Output is deterministic for a given seed,
row count, month and layout (and numpy version).
"""

from __future__ import annotations

import io
import logging
import os
import queue
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from demo.sample_portal import catalogue as cat

log = logging.getLogger(__name__)

Layout = Literal["legacy", "current"]
LAYOUTS: tuple[str, ...] = ("legacy", "current")
DEFAULT_SEED = 20240101
DEFAULT_OPIOID_SHARE = 0.025
DEFAULT_CHUNK_ROWS = 1_000_000
# Level 1 deflates about 4x faster than the default 6 and the file stays about 1/8 of the
# CSV; inflating (what the pipeline does) runs at about the same speed either way.
DEFAULT_ZIP_LEVEL = 1
ZIP_DATE_TIME = (2026, 1, 5, 0, 0, 0)

FULL_SCALE_GP_PRACTICES = 6_500
ROWS_PER_PRACTICE_SCALE = 1_000  # below full scale, one practice per 1,000 rows
OTHER_CENTRE_RATIO = 0.25
UNIDENTIFIED_ROW_SHARE = 0.015
UNSPECIFIED_ROW_SHARE = 0.004
OTHER_ROW_SHARE = 0.06
MEAN_EXTRA_ITEMS = 4.0
QUANTITY_SLOTS = 24

_ORG_COLUMNS = (
    "YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "ICB_NAME", "ICB_CODE",
    "PCO_NAME", "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", "ADDRESS_1", "ADDRESS_2",
    "ADDRESS_3", "ADDRESS_4", "POSTCODE",
)  # fmt: skip
_BNF_COLUMNS = {
    "legacy": (
        "BNF_CHEMICAL_SUBSTANCE", "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE",
        "BNF_DESCRIPTION", "BNF_CHAPTER_PLUS_CODE",
    ),
    "current": (
        "BNF_CHEMICAL_SUBSTANCE_CODE", "BNF_CHEMICAL_SUBSTANCE", "BNF_PRESENTATION_CODE",
        "BNF_PRESENTATION_NAME", "BNF_CHAPTER_PLUS_CODE",
    ),
}  # fmt: skip
_TAIL_COLUMNS = {
    "legacy": ("SNOMED_CODE", "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQUSAGE", "NIC",
               "ACTUAL_COST", "UNIDENTIFIED"),
    "current": ("SNOMED_CODE", "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQ_USAGE", "NIC",
                "ACTUAL_COST", "UNIDENTIFIED"),
}  # fmt: skip


def epd_columns(layout: str) -> tuple[str, ...]:
    """The full header of a SNOMED-dataset EPD file in ``layout`` (as the portal serves it)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    return _ORG_COLUMNS + _BNF_COLUMNS[layout] + _TAIL_COLUMNS[layout]


# -- names ------------------------------------------------------------------------------------

REGIONS = (
    ("Y56", "LONDON"),
    ("Y58", "SOUTH WEST"),
    ("Y59", "SOUTH EAST"),
    ("Y60", "MIDLANDS"),
    ("Y61", "EAST OF ENGLAND"),
    ("Y62", "NORTH WEST"),
    ("Y63", "NORTH EAST AND YORKSHIRE"),
)
ICBS_PER_REGION = (5, 7, 6, 11, 6, 4, 3)  # 42, roughly as in England
CHAPTERS = {
    1: "Gastro-Intestinal System", 2: "Cardiovascular System", 3: "Respiratory System",
    4: "Central Nervous System", 5: "Infections", 6: "Endocrine System",
    7: "Obstetrics, Gynae + Urinary Tract Disorders", 8: "Malignant Disease & Immunosuppression",
    9: "Nutrition and Blood", 10: "Musculoskeletal & Joint Diseases", 11: "Eye",
    12: "Ear, Nose and Oropharynx", 13: "Skin", 14: "Immunological Products & Vaccines",
    15: "Anaesthesia", 19: "Other Drugs and Preparations", 20: "Dressings", 21: "Appliances",
    22: "Incontinence Appliances", 23: "Stoma Appliances",
}  # fmt: skip
# Relative share of rows by chapter (cardiovascular and CNS dominate primary care).
CHAPTER_WEIGHT = {
    1: 9, 2: 16, 3: 8, 4: 15, 5: 5, 6: 9, 7: 4, 8: 2, 9: 6, 10: 5, 11: 3, 12: 2, 13: 8,
    14: 0.5, 15: 0.2, 19: 0.5, 20: 3, 21: 3, 22: 1, 23: 1,
}  # fmt: skip
_SYLLABLES = (
    "ash", "bar", "bel", "bran", "brook", "bur", "cal", "car", "chel", "clay", "crest",
    "dal", "den", "dun", "ed", "elm", "fair", "fal", "fen", "gar", "glen", "har", "hay",
    "hol", "kel", "kirk", "lan", "lea", "lin", "mar", "mel", "mil", "mor", "nor", "oak",
    "pen", "ris", "ros", "sal", "sel", "shaw", "stan", "stock", "sut", "thorn", "tor",
    "wal", "wel", "wes", "whit", "win", "wood",
)  # fmt: skip
_PLACE_ENDINGS = (
    "by", "ton", "ham", "field", "ford", "well", "wick", "stead", "bury", "ley", "mouth",
    "dale", "holme", "worth", "cliffe", "minster", "thorpe",
)  # fmt: skip
_DRUG_STARTS = (
    "ab", "ac", "al", "am", "an", "ar", "ben", "bi", "ca", "ce", "cl", "da", "de", "di", "do",
    "en", "es", "fe", "flu", "ga", "gli", "hy", "ib", "in", "ke", "la", "le", "li", "lo", "me",
    "mi", "mo", "na", "ne", "ni", "no", "ol", "om", "pa", "pe", "pi", "pra", "pro", "qui",
    "ra", "ri", "ro", "sa", "se", "si", "so", "ta", "te", "ti", "to", "tra", "va", "ve", "za",
)  # fmt: skip
_DRUG_MIDDLES = ("bu", "ce", "da", "fe", "ga", "li", "lo", "ma", "mi", "na", "ni", "pa", "ra",
                 "ri", "ro", "sa", "ta", "ti", "va", "xi", "zo")  # fmt: skip
_DRUG_ENDINGS = (
    "zole", "pril", "sartan", "statin", "olol", "pine", "mab", "tide", "mide", "done",
    "cillin", "mycin", "floxacin", "tadine", "lukast", "parin", "dronate", "gliptin",
    "azepam", "oxetine", "semide", "thiazide", "sone", "lone", "gel", "fen",
)  # fmt: skip
_FORMS = (
    ("tablets", (28, 56, 30)), ("capsules", (28, 30, 56)), ("oral solution", (100, 150, 300)),
    ("cream", (30, 50, 100)), ("gastro-resistant tablets", (28, 56)),
    ("modified-release tablets", (28, 56, 30)), ("oral suspension", (100, 150)),
    ("eye drops", (5, 10)), ("inhaler", (1, 2)), ("solution for injection ampoules", (5, 10)),
    ("ointment", (30, 100)), ("dispersible tablets", (28, 100)), ("soluble tablets", (20, 32)),
    ("transdermal patches", (4, 8)), ("suppositories", (12, 10)), ("nasal spray", (1,)),
)  # fmt: skip
_STRENGTHS = ("1mg", "2mg", "2.5mg", "5mg", "10mg", "20mg", "25mg", "40mg", "50mg", "100mg",
              "200mg", "250mg", "500mg", "100micrograms", "250micrograms", "5mg/5ml",
              "0.1%", "1%", "2%")  # fmt: skip
_PRACTICE_SUFFIXES = ("MEDICAL CENTRE", "SURGERY", "HEALTH CENTRE", "MEDICAL PRACTICE",
                      "FAMILY PRACTICE", "GROUP PRACTICE", "PARTNERSHIP")  # fmt: skip
_STREETS = ("STATION ROAD", "HIGH STREET", "CHURCH LANE", "MILL ROAD", "PARK AVENUE",
            "VICTORIA ROAD", "NORTH STREET", "QUEEN STREET", "WESTGATE", "MARKET PLACE",
            "HOSPITAL ROAD", "GREEN LANE")  # fmt: skip
# Real practice and street names occasionally carry accented letters: Latin-1 in the file.
_LATIN1_NAMES = ("CAFÉ QUARTER SURGERY", "BRONTË HOUSE MEDICAL CENTRE",
                 "ST AGNÈS FAMILY PRACTICE", "CÔTE HILL SURGERY", "NUÑEZ HEALTH CENTRE")  # fmt: skip
_LATIN1_EVERY = 1_300  # practices 1, 1301, 2601, ... get one of those names
# Polars writes UTF-8, so accented letters are generated as ASCII control characters that
# never occur in EPD text and swapped for their Latin-1 bytes in the few chunks holding them.
_LATIN1_CHARS = sorted({ch for name in _LATIN1_NAMES for ch in name if ord(ch) > 127})
_TO_PLACEHOLDER = str.maketrans({ch: chr(1 + i) for i, ch in enumerate(_LATIN1_CHARS)})
_PLACEHOLDERS = [(bytes([1 + i]), ch.encode("latin-1")) for i, ch in enumerate(_LATIN1_CHARS)]
_FLAGS = pl.Series("flags", ["False", "True"], dtype=pl.String)
_OTHER_SETTINGS = ("OUT OF HOURS SERVICE", "WALK-IN CENTRE", "SUBSTANCE MISUSE SERVICE",
                   "COMMUNITY PALLIATIVE CARE TEAM", "URGENT TREATMENT CENTRE",
                   "PRISON HEALTHCARE", "CARE HOME SUPPORT TEAM")  # fmt: skip
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _place(i: int) -> str:
    a = _SYLLABLES[i % len(_SYLLABLES)]
    b = _PLACE_ENDINGS[(i // len(_SYLLABLES)) % len(_PLACE_ENDINGS)]
    return (a + b).upper()


def _drug(i: int) -> str:
    a = _DRUG_STARTS[i % len(_DRUG_STARTS)]
    rest = i // len(_DRUG_STARTS)
    b = _DRUG_MIDDLES[rest % len(_DRUG_MIDDLES)]
    c = _DRUG_ENDINGS[(rest // len(_DRUG_MIDDLES)) % len(_DRUG_ENDINGS)]
    return (a + b + c).capitalize()


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_line(values: Sequence[str]) -> str:
    return ",".join(_csv_field(v) for v in values)


# -- the world: cost centres and presentations ---------------------------------------------------


@dataclass(frozen=True)
class _Centres:
    prefix: list[str]  # the 14 organisation columns, rendered as CSV text
    size: np.ndarray  # relative row budget (sums to 1)
    opioid_share: np.ndarray  # this centre's share of rows that are section 0407
    item_scale: np.ndarray  # relative items per row
    unidentified: np.ndarray  # bool
    gp_practices: int


def _centres(rng: np.random.Generator, rows: int, year_month: str) -> _Centres:
    n_gp = int(np.clip(rows // ROWS_PER_PRACTICE_SCALE, 3, FULL_SCALE_GP_PRACTICES))
    n_other = max(1, round(n_gp * OTHER_CENTRE_RATIO))
    n_icb = sum(ICBS_PER_REGION)
    n_unspecified = max(1, min(n_icb, n_gp // 150))

    # Organisations: 42 ICBs in 7 regions, 2-3 sub-ICB locations each.
    icbs: list[tuple[str, str, str, str]] = []  # region name, region code, icb name, icb code
    for r, ((rcode, rname), count) in enumerate(zip(REGIONS, ICBS_PER_REGION, strict=True)):
        for k in range(count):
            n = len(icbs)
            county = f"{_place(n * 7 + 3)} AND {_place(n * 5 + 400)}"
            code = f"Q{_LETTERS[r * 3 + k // 8]}{'0123456789ABCDEFGHJK'[(n * 13) % 20]}"
            icbs.append((rname, rcode, f"NHS {county} INTEGRATED CARE BOARD", code))
    subs: list[tuple[int, str, str]] = []  # icb index, name, code
    for i, (_, _, icb_name, _) in enumerate(icbs):
        county = icb_name.removeprefix("NHS ").removesuffix(" INTEGRATED CARE BOARD")
        for k in range(2 + (i % 3 == 0)):
            code = f"{10 + len(subs) % 90:02d}{_LETTERS[(len(subs) // 90 + k * 5) % 24]}"
            subs.append((i, f"NHS {county} ICB - {code}", code))

    prefixes: list[str] = []
    sizes: list[float] = []
    shares: list[float] = []
    scales: list[float] = []
    unidentified: list[bool] = []

    def org(sub_index: int) -> list[str]:
        icb_index, sub_name, sub_code = subs[sub_index]
        rname, rcode, icb_name, icb_code = icbs[icb_index]
        return [rname, rcode, icb_name, icb_code, sub_name, sub_code]

    def address(i: int, town: str, county: str) -> list[str]:
        street = _STREETS[i % len(_STREETS)]
        district = f"{_place(i * 3 + 17)} {('PARK', 'VILLAGE', 'ESTATE', 'GREEN')[i % 4]}"
        if i % 19 == 0:  # an embedded comma: the field is quoted
            return [f"UNIT {1 + i % 9}, {street}", district, town, county]
        if i % 3 == 0:
            return [f"THE {town} HEALTH CENTRE", street, town, county]
        return [f"{1 + i % 180} {street}", district, town, county]

    def postcode(i: int) -> str:
        return (
            f"{_LETTERS[i % 24]}{_LETTERS[(i // 24) % 24]}{1 + i % 29} "
            f"{i % 10}{_LETTERS[(i // 7) % 24]}{_LETTERS[(i // 3) % 24]}"
        )

    # The unidentified-doctors centre comes first, as its code "-" sorts first.
    prefixes.append(
        _csv_line(
            [
                year_month,
                "UNIDENTIFIED",
                "-",
                "UNIDENTIFIED",
                "-",
                "UNIDENTIFIED",
                "-",
                "UNIDENTIFIED DOCTORS",
                "-",
                "-",
                "-",
                "-",
                "-",
                "-",
            ]
        )  # fmt: skip
    )
    sizes.append(UNIDENTIFIED_ROW_SHARE)
    shares.append(DEFAULT_OPIOID_SHARE)
    scales.append(0.5)
    unidentified.append(True)

    gp_numbers = np.sort(rng.choice(np.arange(1000, 99999), size=n_gp, replace=False))
    list_size = np.exp(rng.normal(np.log(8000.0), 0.55, size=n_gp))
    gp_share = (1 - UNIDENTIFIED_ROW_SHARE - UNSPECIFIED_ROW_SHARE - OTHER_ROW_SHARE) * (
        list_size / list_size.sum()
    )
    opioid_variation = rng.gamma(6.0, 1 / 6.0, size=n_gp)
    entries: list[tuple[str, str, int, float, float, float]] = []
    for i in range(n_gp):
        letter = _LETTERS[(i * len(_LETTERS)) // n_gp]
        code = f"{letter}{gp_numbers[i] % 100000:05d}"
        town = _place(i)
        if i % _LATIN1_EVERY == 1:
            name = _LATIN1_NAMES[(i // _LATIN1_EVERY) % len(_LATIN1_NAMES)]
            name = name.translate(_TO_PLACEHOLDER)
        elif i % 5 < 3:
            name = f"{town} {_PRACTICE_SUFFIXES[i % len(_PRACTICE_SUFFIXES)]}"
        else:
            name = f"{_STREETS[i % len(_STREETS)]} {_PRACTICE_SUFFIXES[i % 7]}"
        entries.append(
            (code, name, i % len(subs), float(gp_share[i]), float(opioid_variation[i]), 1.0)
        )
    for j in range(n_other):
        setting = _OTHER_SETTINGS[j % len(_OTHER_SETTINGS)]
        code = f"Y{(j * 37 + 1001) % 100000:05d}"
        entries.append(
            (code, f"{_place(j * 11 + 5)} {setting}", (j * 5) % len(subs),
             OTHER_ROW_SHARE / n_other, 1.4 if j % 7 in (0, 3) else 0.6, 0.6)
        )  # fmt: skip
    for u in range(n_unspecified):
        code = f"Y{u:02d}998"
        entries.append(
            (code, "UNSPECIFIED PRACTICE", u % len(subs), UNSPECIFIED_ROW_SHARE / n_unspecified,
             1.0, 0.4)
        )  # fmt: skip
    seen: set[str] = set()
    for code, name, sub_index, size, share, scale in sorted(entries):
        if code in seen:  # a collision of the simple code schemes: skip, sizes renormalise
            continue
        seen.add(code)
        town = _place(sub_index * 3 + len(prefixes))
        county = subs[sub_index][1].removeprefix("NHS ").split(" ICB")[0]
        addr = (
            ["-", "-", "-", "-"]
            if name == "UNSPECIFIED PRACTICE"
            else address(len(prefixes), town, county)
        )
        pc = "-" if name == "UNSPECIFIED PRACTICE" else postcode(len(prefixes) * 7919)
        prefixes.append(_csv_line([year_month, *org(sub_index), name, code, *addr, pc]))
        sizes.append(size)
        shares.append(DEFAULT_OPIOID_SHARE * share)
        scales.append(scale)
        unidentified.append(False)
    size_arr = np.asarray(sizes)
    return _Centres(
        prefix=prefixes,
        size=size_arr / size_arr.sum(),
        opioid_share=np.asarray(shares),
        item_scale=np.asarray(scales),
        unidentified=np.asarray(unidentified),
        gp_practices=n_gp,
    )


@dataclass(frozen=True)
class _Presentations:
    mid: list[str]  # the five BNF columns, rendered as CSV text
    section_0407: np.ndarray  # bool
    weight: np.ndarray  # popularity within its pool
    n_snomed: np.ndarray  # SNOMED codes per presentation (1-4)
    snomed_offset: np.ndarray  # index of its first code in ``snomed``
    snomed: list[str]
    quantities: np.ndarray  # (n, QUANTITY_SLOTS) distinct quantities per item, commonest first
    quantity_max: np.ndarray
    unit_cost: np.ndarray
    adq_per_unit: np.ndarray
    item_scale: np.ndarray


def _quantity_ladder(packs: Sequence[int]) -> np.ndarray:
    """Distinct quantities per item: the pack sizes, then their multiples in order.

    Quantities beyond the ladder are its largest + k x the first pack, distinct too.
    """
    ladder = list(dict.fromkeys(packs))
    multiples = sorted({p * m for p in packs for m in range(2, QUANTITY_SLOTS + 1)} - set(ladder))
    ladder += multiples[: QUANTITY_SLOTS - len(ladder)]
    return np.asarray(ladder[:QUANTITY_SLOTS], dtype=np.int64)


def _snomed_codes(rng: np.random.Generator, n: int) -> list[str]:
    """Well-formed-looking SNOMED identifiers: short core ids and 17-18 digit dm+d ids."""
    short = rng.integers(30_000_000, 999_999_999, size=n)
    long_ = rng.integers(10_000_000, 99_999_999, size=n)
    use_long = rng.random(n) < 0.7
    return [
        f"{b}1000001{10 + b % 90}" if lng else str(a)
        for a, b, lng in zip(short.tolist(), long_.tolist(), use_long.tolist(), strict=True)
    ]


def _presentations(rng: np.random.Generator, month: str) -> _Presentations:
    rows: list[tuple[str, str, str, str, str, bool, float, tuple[int, ...], float, float]] = []
    # Real section 0407 presentations (and the real 0410 methadone) from the sample catalogue.
    for p in cat.CATALOGUE:
        if p.bnf_code.startswith("0407") or p.bnf_code.startswith("0410"):
            code, chem, chem_name = p.codes_for_month(month)
            rows.append(
                (code, p.name, chem, chem_name, p.chapter, code.startswith("0407"), p.rate,
                 p.packs, p.unit_cost, p.adq_per_unit)
            )  # fmt: skip
    # Synthetic presentations in real-format codes for every other chapter.
    chapters = list(CHAPTERS)
    chapter_p = np.asarray([CHAPTER_WEIGHT[c] for c in chapters], dtype=float)
    chapter_p /= chapter_p.sum()
    n_chemicals = 1_400
    chem_chapters = rng.choice(chapters, size=n_chemicals, p=chapter_p)
    chem_popularity = np.exp(rng.normal(0.0, 1.6, size=n_chemicals))
    for c in range(n_chemicals):
        chapter = int(chem_chapters[c])
        section = 1 + (c * 7) % 12
        if chapter == 4 and section == 7:
            section = 8  # keep section 0407 to the real codes above
        chem = f"{chapter:02d}{section:02d}{(c // 24) % 12:02d}0{_LETTERS[c % 24]}{c // 288}"
        name = _drug(c)
        n_pres = 1 + int(rng.integers(0, 12))
        for k in range(n_pres):
            form, packs = _FORMS[(c + k * 3) % len(_FORMS)]
            strength = _STRENGTHS[(c * 5 + k) % len(_STRENGTHS)]
            pair = f"{_LETTERS[k % 24]}{_LETTERS[(k // 24 + c) % 24]}"
            if k % 4 == 3:  # a brand
                code = f"{chem}B{_LETTERS[c % 24]}{pair}{pair[::-1]}"
                pname = f"{name.upper()[:1]}{name[1:4]}ex {strength} {form}"
            else:
                code = f"{chem}AA{pair}{pair}"
                pname = f"{name} {strength} {form}"
            cost = float(np.exp(rng.normal(-2.5, 1.3)))
            rows.append(
                (code, pname, chem, name, f"{chapter:02d}: {CHAPTERS[chapter]}", False,
                 float(chem_popularity[c] * np.exp(rng.normal(0, 0.8))), packs, cost,
                 float(rng.choice((0.25, 0.5, 1.0, 1.0, 2.0))))
            )  # fmt: skip
    rows.sort(key=lambda r: r[0])
    dedup: list[Any] = []
    for r in rows:
        if not dedup or dedup[-1][0] != r[0]:
            dedup.append(r)
    rows = dedup
    n = len(rows)
    # Both layouts order these five the same way (code, name, presentation, name, chapter);
    # only the header names differ.
    mids = [
        _csv_line([chem, chem_name, code, pname, chapter])
        for code, pname, chem, chem_name, chapter, *_ in rows
    ]
    is_0407 = np.asarray([r[5] for r in rows])
    # Generics have 1-4 SNOMED codes (VMP and AMPs), brands 1-2.
    n_snomed = np.where(
        np.asarray([r[0][9] == "A" for r in rows]),
        rng.integers(1, 5, size=n),
        rng.integers(1, 3, size=n),
    )
    offset = np.concatenate(([0], np.cumsum(n_snomed)[:-1]))
    quantities = np.zeros((n, QUANTITY_SLOTS), dtype=np.int64)
    for i, r in enumerate(rows):
        quantities[i] = _quantity_ladder(r[7])
    return _Presentations(
        mid=mids,
        section_0407=is_0407,
        weight=np.asarray([r[6] for r in rows], dtype=float),
        n_snomed=n_snomed,
        snomed_offset=offset,
        snomed=_snomed_codes(rng, int(n_snomed.sum())),
        quantities=quantities,
        quantity_max=quantities.max(axis=1),
        unit_cost=np.asarray([r[8] for r in rows], dtype=float),
        adq_per_unit=np.asarray([r[9] for r in rows], dtype=float),
        item_scale=np.exp(rng.normal(0.0, 0.6, size=n)),
    )


# -- the plan: which practice prescribes which presentation, in how many rows --------------------


@dataclass(frozen=True)
class _Plan:
    centre: np.ndarray  # per group (practice x presentation), in file order
    presentation: np.ndarray
    rows: np.ndarray  # rows in the group (SNOMED code x quantity per item)


def _weighted_sample(
    rng: np.random.Generator, candidates: np.ndarray, log_weight: np.ndarray, k: int
) -> np.ndarray:
    """``k`` distinct candidates, drawn by weight without replacement (Gumbel top-k)."""
    if k >= len(candidates):
        return candidates
    keys = log_weight + rng.gumbel(size=len(candidates))
    return candidates[np.argpartition(-keys, k - 1)[:k]]


def _plan(
    rng: np.random.Generator, centres: _Centres, pres: _Presentations, rows: int, share: float
) -> _Plan:
    opioid_ids = np.flatnonzero(pres.section_0407)
    other_ids = np.flatnonzero(~pres.section_0407)
    log_w_opioid = np.log(pres.weight[opioid_ids])
    log_w_other = np.log(pres.weight[other_ids])
    budget = centres.size * rows
    g_centre: list[np.ndarray] = []
    g_pres: list[np.ndarray] = []
    g_rows: list[np.ndarray] = []
    largest = int(np.argmax(budget))
    for c in range(len(centres.prefix)):
        total = budget[c]
        if total < 0.5 and c != largest:  # tiny files: most centres have no rows at all
            continue
        opioid = total * min(0.5, share / DEFAULT_OPIOID_SHARE * centres.opioid_share[c])
        picks = []
        for ids, log_w, want, rows_per_group in (
            (opioid_ids, log_w_opioid, opioid, 2.2),
            (other_ids, log_w_other, total - opioid, 1.6),
        ):
            groups = int(min(len(ids), max(1, round(want / rows_per_group))))
            chosen = _weighted_sample(rng, ids, log_w, groups)
            extra = max(0.0, want / len(chosen) - 1.0)
            picks.append((chosen, 1 + rng.poisson(extra, size=len(chosen))))
        chosen = np.concatenate([p[0] for p in picks])
        counts = np.concatenate([p[1] for p in picks])
        order = np.argsort(chosen, kind="stable")
        g_pres.append(chosen[order].astype(np.int32))
        g_rows.append(counts[order].astype(np.int64))
        g_centre.append(np.full(len(chosen), c, dtype=np.int32))
    centre = np.concatenate(g_centre)
    presentation = np.concatenate(g_pres)
    counts = np.concatenate(g_rows)
    _fit_total(rng, counts, rows)
    keep = counts > 0
    return _Plan(centre[keep], presentation[keep], counts[keep])


def _fit_total(rng: np.random.Generator, counts: np.ndarray, rows: int) -> None:
    """Adjust group row counts in place so they add up to exactly ``rows``.

    Removing a row drops one SNOMED/quantity variant of a group (groups of one row can
    vanish only when there is nothing else to remove); adding one adds a variant.
    """
    excess = int(counts.sum()) - rows
    if excess > 0:
        removable = counts - 1
        pool = int(removable.sum())
        if excess > pool:
            counts[:] = np.maximum(counts - removable, 0)
            excess -= pool
            ones = np.flatnonzero(counts)
            drop = rng.choice(ones, size=excess, replace=False)
            counts[drop] = 0
            return
        picks = np.sort(rng.choice(pool, size=excess, replace=False))
        groups = np.searchsorted(np.cumsum(removable), picks, side="right")
        counts -= np.bincount(groups, minlength=len(counts))
    elif excess < 0:
        groups = rng.integers(0, len(counts), size=-excess)
        counts += np.bincount(groups, minlength=len(counts))


# -- writing ---------------------------------------------------------------------------------------


def _chunk_frame(
    rng: np.random.Generator,
    plan: _Plan,
    centres: _Centres,
    pres: _Presentations,
    prefix: pl.Series,
    mid: pl.Series,
    snomed: pl.Series,
    start: int,
    stop: int,
) -> pl.DataFrame:
    """Rows for groups ``start:stop`` as a frame whose CSV (unquoted) is the EPD lines."""
    counts = plan.rows[start:stop]
    n = int(counts.sum())
    centre = np.repeat(plan.centre[start:stop], counts)
    p = np.repeat(plan.presentation[start:stop], counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    j = np.arange(n, dtype=np.int64) - first  # which variant within the group
    s = pres.n_snomed[p]
    snomed_idx = pres.snomed_offset[p] + j % s
    # Each SNOMED code's k-th row takes the k-th quantity of the presentation's ladder, so
    # no two rows of a practice share presentation, SNOMED code and quantity.
    slot = j // s
    last = QUANTITY_SLOTS - 1
    beyond = np.maximum(0, slot - last)
    quantity = np.where(
        beyond > 0,
        pres.quantity_max[p] + beyond * pres.quantities[p, 0],
        pres.quantities[p, np.minimum(slot, last)],
    )
    lam = MEAN_EXTRA_ITEMS * centres.item_scale[centre] * pres.item_scale[p] / np.maximum(1, j)
    items = 1 + rng.poisson(lam * rng.exponential(1.0, size=n))
    total = quantity * items
    nic = np.maximum(0.01, np.round(total * pres.unit_cost[p], 2))
    actual = np.round(nic * (0.9437 - 0.0004 * (j % 3)), 5)
    adq = np.round(total * pres.adq_per_unit[p], 3)
    return pl.DataFrame(
        {
            "prefix": prefix.gather(centre),
            "mid": mid.gather(p),
            "snomed": snomed.gather(snomed_idx),
            "quantity": quantity,
            "items": items,
            "total_quantity": total,
            "adq": adq,
            "nic": nic,
            "actual_cost": actual,
            "unidentified": _FLAGS.gather(centres.unidentified[centre].astype(np.int8)),
        }
    )


class _Sink:
    """One output file: plain CSV, or a zip with one CSV member (zip64, deflated).

    Writes happen on a background thread, so compressing a chunk overlaps generating
    the next one (zlib and file writes release the GIL).
    """

    def __init__(self, path: Path, member: str, zip_level: int) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
        self._zip: zipfile.ZipFile | None = None
        self._out: Any = self._raw
        if path.suffix.lower() == ".zip":
            self._zip = zipfile.ZipFile(
                self._raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=zip_level
            )
            info = zipfile.ZipInfo(member, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            # A ZipInfo carries its own level (else zlib's default 6, four times slower):
            # ``_compresslevel`` up to Python 3.12, ``compress_level`` from 3.13.
            for attr in ("compress_level", "_compresslevel"):
                if attr in zipfile.ZipInfo.__slots__:
                    setattr(info, attr, zip_level)
            self._out = self._zip.open(info, "w", force_zip64=True)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name=f"write {path.name}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            if self._error is None:
                try:
                    self._out.write(data)
                except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                    self._error = exc

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self, *, ok: bool) -> None:
        self._queue.put(None)
        self._thread.join()
        try:
            if self._zip is not None:
                self._out.close()
                self._zip.close()
            self._raw.close()
        finally:
            if ok and self._error is None:
                os.replace(self.tmp, self.path)
            else:
                self.tmp.unlink(missing_ok=True)
        if self._error is not None:
            raise self._error


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    """The chunk's lines in Latin-1, as the portal's files are encoded."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, quote_style="never")
    data = buffer.getvalue()
    for placeholder, latin1 in _PLACEHOLDERS:
        if placeholder in data:  # a byte search; replace() is several times faster than translate()
            data = data.replace(placeholder, latin1)
    return data


def generate_epd(
    month: date,
    rows: int,
    layout: Layout | str,
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    copies: Sequence[Path] = (),
    opioid_share: float = DEFAULT_OPIOID_SHARE,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    zip_level: int = DEFAULT_ZIP_LEVEL,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write a synthetic EPD month of exactly ``rows`` rows to ``out`` (CSV, or zip by suffix).

    ``copies`` are further files (CSV or zip by suffix) written with the same rows in the
    same pass: a benchmark needs the CSV and its zip without generating twice. Every file
    is written under a temporary name and renamed into place when complete. Returns
    counts that tests and benchmarks check against (rows, 0407 rows, practices, bytes).
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if not 0 < opioid_share < 0.5:
        raise ValueError("opioid_share must be between 0 and 0.5")
    started = time.monotonic()
    month = month.replace(day=1)
    month_text = f"{month:%Y-%m}"
    year_month = month_text if layout == "current" else f"{month:%Y%m}"
    header = ",".join(epd_columns(layout)) + "\n"
    rng = np.random.default_rng([seed, month.year * 100 + month.month, rows])
    centres = _centres(rng, rows, year_month)
    pres = _presentations(rng, month_text)
    plan = _plan(rng, centres, pres, rows, opioid_share)
    prefix = pl.Series("prefix", centres.prefix, dtype=pl.String)
    mid = pl.Series("mid", pres.mid, dtype=pl.String)
    snomed = pl.Series("snomed", pres.snomed, dtype=pl.String)

    paths = [Path(out), *map(Path, copies)]
    member = f"{Path(out).name.split('.')[0]}.csv"
    sinks: list[_Sink] = []
    ok = False
    try:
        sinks = [_Sink(p, member, zip_level) for p in paths]
        for sink in sinks:
            sink.write(header.encode("latin-1"))
        ends = np.cumsum(plan.rows)
        written = 0
        opioid_rows = 0
        start = 0
        for chunk_index, stop in enumerate(_chunk_bounds(ends, chunk_rows)):
            chunk_rng = np.random.default_rng([seed, chunk_index, rows, 7])
            frame = _chunk_frame(chunk_rng, plan, centres, pres, prefix, mid, snomed, start, stop)
            data = _csv_bytes(frame)
            for sink in sinks:
                sink.write(data)
            opioid_rows += int(
                (plan.rows[start:stop] * pres.section_0407[plan.presentation[start:stop]]).sum()
            )
            written += frame.height
            start = stop
            if progress is not None:
                progress(written, rows)
        ok = True
    finally:
        errors = []
        for sink in sinks:
            try:
                sink.close(ok=ok)
            except BaseException as exc:  # noqa: BLE001 - report the first after closing all
                errors.append(exc)
        if errors and ok:
            raise errors[0]
    if written != rows:  # pragma: no cover - _fit_total guarantees this
        raise AssertionError(f"wrote {written} rows, not {rows}")
    seconds = time.monotonic() - started
    result = {
        "month": month_text,
        "layout": layout,
        "rows": rows,
        "opioid_rows": opioid_rows,
        "gp_practices": centres.gp_practices,
        "cost_centres": int(np.unique(plan.centre).size),
        "presentations": len(pres.mid),
        "files": {str(p): p.stat().st_size for p in paths},
        "member": member,
        "seed": seed,
        "seconds": round(seconds, 2),
    }
    log.info(
        "generated %s rows (%s in section 0407) of %s (%s layout) in %.1fs: %s",
        f"{rows:,}",
        f"{opioid_rows:,}",
        month_text,
        layout,
        seconds,
        ", ".join(paths_str for paths_str in result["files"]),
    )
    return result


def _chunk_bounds(ends: np.ndarray, chunk_rows: int) -> Iterator[int]:
    """Group indices that end each chunk of about ``chunk_rows`` rows."""
    total = int(ends[-1]) if len(ends) else 0
    target = chunk_rows
    while True:
        stop = int(np.searchsorted(ends, min(target, total), side="left")) + 1
        stop = min(stop, len(ends))
        yield stop
        if stop >= len(ends):
            return
        target = int(ends[stop - 1]) + chunk_rows


def run_cli(*, month: date, rows: int, layout: str, out: Path, seed: int = DEFAULT_SEED) -> int:
    """Generate as ``opioids generate-epd`` asked, printing progress on one line."""
    import sys

    started = time.monotonic()

    def show(done: int, total: int) -> None:
        rate = done / max(1e-9, time.monotonic() - started)
        print(
            f"\r  {done:,}/{total:,} rows ({100 * done / total:.0f}%, {rate / 1e6:.1f} M rows/s)",
            end="",
            file=sys.stderr,
            flush=True,
        )

    result = generate_epd(month, rows, layout, Path(out), seed=seed, progress=show)
    print(file=sys.stderr)
    for path, size in result["files"].items():
        print(
            f"{path}: {result['rows']:,} rows ({result['opioid_rows']:,} in section 0407), "
            f"{result['gp_practices']:,} GP practices, {size / 1e6:,.1f} MB, "
            f"{result['seconds']:.1f}s"
        )
    return 0
