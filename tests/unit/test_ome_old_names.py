"""Product names of every era: the older abbreviated style, and brands read via their generic.

Hand-computed cases first (each states the arithmetic); then a generated set: for every
branded product in the real-products file, old-style names built from the BNF code
structure (brand from the dm+d name, form and strength from the generic's old-style name,
with the release marker or the strength left out, and abbreviations varied) must resolve
to what the product's dm+d name resolves to.
"""

from __future__ import annotations

import csv
import re

import polars as pl
import pytest

from pipelines.ome import load_reference, resolve, resolve_frame
from pipelines.ome.generic import generic_code, is_generic
from tests.support import shared_data

MIN_SHARE = 0.99


@pytest.fixture(scope="module")
def uk():
    return load_reference("uk")


def test_generic_code_follows_the_bnf_layout():
    assert generic_code("0407020Q0BEAAAB") == "0407020Q0AAABAB"
    assert generic_code("0407020Q0AAABAB") is None  # already generic
    assert generic_code("0407020Q0") is None
    assert is_generic("0407020Q0AAABAB") and not is_generic("0407020Q0BEAAAB")


@pytest.mark.parametrize(
    ("code", "name", "form", "route", "mg_per_unit", "ome_per_unit"),
    [
        # sublingual buprenorphine 200 micrograms: 0.2 mg x 60
        (
            "0407020B0AAAAAA",
            "Buprenorphine_Tab Subling 200mcg",
            "sublingual_tablet",
            "sublingual",
            0.2,
            12.0,
        ),
        # fentanyl buccal 100 micrograms: 0.1 mg x 130
        ("0407020A0AAAKAK", "Fentanyl_Tab Buccal 100mcg S/F", "buccal_tablet", "buccal", 0.1, 13.0),
        # co-codamol caplets 30/500: codeine 30 mg x 0.1
        ("0407010F0AAAHAH", "Co-Codamol_Capl 30mg/500mg", "tablet", "oral", 30.0, 3.0),
        # gastro-resistant tablet is still a tablet, not modified release
        ("0407020C0AAAAAA", "Codeine Phos_Tab E/C 30mg", "tablet", "oral", 30.0, 3.0),
        # 10mg/5ml = 2 mg per ml, oral suspension
        (
            "0407010N0AAAEAE",
            "Co-Dydramol_Oral Susp 10mg/500mg/5ml",
            "oral_liquid",
            "oral",
            2.0,
            0.2,
        ),
        # morphine 10 mg/ml x 2 ml ampoule = 20 mg, x 2
        ("0407020Q0AAAHAH", "Morph Sulf_Inj 10mg/ml 2ml Amp", "injection", "injection", 20.0, 40.0),
        # suppository abbreviated to Supp
        ("0407020Q0AABCBC", "Morph Sulf_Supp 10mg", "suppository", "rectal", 10.0, 10.0),
        # fentanyl 25 mcg/h over 72 h = 1.8 mg per patch, x 100
        ("0407020A0AAAAAA", "Fentanyl_T/Derm Patch 25mcg/hr", "patch", "transdermal", 1.8, 180.0),
        ("0407020A0BBAAAA", "Durogesic DTrans 25mcg/hr", "patch", "transdermal", 1.8, 180.0),
        # 12 micrograms/hour written "microgram": 0.864 mg per patch
        ("0407020A0AAAFAF", "Fentanyl_Patch 12microgram/hr", "patch", "transdermal", 0.864, 86.4),
    ],
)
def test_abbreviated_forms(uk, code, name, form, route, mg_per_unit, ome_per_unit):
    r = resolve(code, name, uk)
    assert (r.form, r.route, r.resolved) == (form, route, True), r.note
    assert r.mg_per_unit == pytest.approx(mg_per_unit)
    assert r.ome_mg_per_unit == pytest.approx(ome_per_unit)


@pytest.mark.parametrize(
    ("name", "doses_per_day", "likely_daily"),
    [
        ("Oxycodone HCl_Tab 40mg S/R", 2, 120.0),  # 40 x 2 x 1.5
        ("Oxycodone HCl_Tab 40mg 12hr", 2, 120.0),
        ("Oxycodone HCl_Tab 40mgS/R", 2, 120.0),  # glued marker
        ("Oxycodone HCl_Tab 40mg 24hr", 1, 60.0),
    ],
)
def test_release_markers(uk, name, doses_per_day, likely_daily):
    r = resolve("0407020AD" + "AAAJAJ", name, uk)
    assert r.regular_long_acting and r.doses_per_day == doses_per_day, r.note
    assert r.likely_daily_ome_mg == pytest.approx(likely_daily)


ZOMORPH_10 = "0407020Q0BBAAAY"  # brand; generic equivalent 0407020Q0AAAYAY


def test_brand_without_release_marker_takes_it_from_its_generic(uk):
    alone = resolve(ZOMORPH_10, "Zomorph_Cap 10mg", uk)
    assert not alone.regular_long_acting  # the name alone reads as an immediate-release capsule
    frame = pl.DataFrame(
        {
            "bnf_code": [ZOMORPH_10, "0407020Q0AAAYAY"],
            "bnf_name": ["Zomorph_Cap 10mg", "Morph Sulf_Cap 10mg M/R"],
        }
    )
    brand = resolve_frame(frame, uk).filter(pl.col("bnf_code") == ZOMORPH_10).row(0, named=True)
    # morphine MR capsule, twice daily: 10 mg x 2 x 1 = 20 mg OME a day
    assert brand["regular_long_acting"] and brand["doses_per_day"] == 2
    assert brand["likely_daily_ome_mg"] == pytest.approx(20.0)
    assert "release type taken from generic equivalent 0407020Q0AAAYAY" in brand["note"]


def test_generic_names_from_other_months_are_used(uk):
    frame = pl.DataFrame({"bnf_code": ["0407010N0BGAAAH"], "bnf_name": ["Remedeine_Tab"]})
    out = resolve_frame(
        frame, uk, generics={"0407010N0AAAHAH": "Paracet/Dihydrocodeine_Tab 500mg/20mg"}
    ).row(0, named=True)
    # dihydrocodeine 20 mg (the smaller mass of the pair) x 0.1
    assert out["mg_per_unit"] == pytest.approx(20.0) and out["ome_mg_per_unit"] == pytest.approx(
        2.0
    )


def test_brand_name_beats_its_generic(uk):
    frame = pl.DataFrame(
        {
            "bnf_code": ["040702040BBAGAD", "040702040AAADAD"],
            "bnf_name": ["Zydol XL_Tab 150mg", "Tramadol HCl_Tab 150mg M/R"],
        }
    )
    brand = resolve_frame(frame, uk).filter(pl.col("bnf_code") == "040702040BBAGAD")
    assert brand.get_column("doses_per_day").to_list() == [1]  # XL: once daily, as the brand says


# --- generated old-style names for every real branded product --------------------------

_STRENGTH = re.compile(
    r"\d[\d.]*(?:/[\d.]+)?(?:mg|mcg|g|microgram)s?(?:/[\d.]*(?:mg|mcg|g|ml|hr))*", re.I
)
_ABBREVIATIONS = (
    ("Transdermal Patch", "T/Derm Patch"),
    ("Tab Sublingual", "Tab Subling"),
    ("Suppos", "Supp"),
)


def _brand(dmd_name: str) -> str:
    """Leading capitalised words (and bare numbers) of a dm+d brand name: the brand."""
    words = []
    for word in dmd_name.split():
        if not (word[0].isupper() or word.isdigit()):
            break
        words.append(word)
    return " ".join(words)


def _old_style(brand: str, generic_old: str, *, keep_strength: bool, variant: int) -> str:
    form_part = generic_old.split("_", 1)[1]
    strengths = _STRENGTH.findall(form_part)
    form = _STRENGTH.sub(" ", form_part)
    form = re.sub(r"\bM/R\b|\bS/F\b", " ", form, flags=re.I)
    if variant % 2:
        for full, short in _ABBREVIATIONS:
            form = form.replace(full, short)
    form = " ".join(form.split())
    name = f"{brand}_{form}"
    if keep_strength and strengths:
        name += " " + strengths[0]
    return name


@pytest.fixture(scope="module")
def generated() -> list[tuple[str, str, str, str]]:
    """(brand code, dm+d name, old-style name, generic code) for every real brand product."""
    with shared_data("real-opioid-presentations.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        code = row["bnf_code"]
        brand = _brand(row["bnf_name"])
        if is_generic(code) or not brand or "_" not in row["curated_name"]:
            continue
        for i, keep in enumerate((True, False)):
            old = _old_style(brand, row["curated_name"], keep_strength=keep, variant=len(out) + i)
            out.append((code, row["bnf_name"], old, generic_code(code) or ""))
    return out


def test_generated_old_style_brand_names_resolve_like_their_dmd_names(uk, generated):
    assert len(generated) > 600
    with shared_data("real-opioid-presentations.csv").open(newline="", encoding="utf-8") as fh:
        generics = {
            generic_code(r["bnf_code"]) or r["bnf_code"]: r["curated_name"]
            for r in csv.DictReader(fh)
        }
    frame = pl.DataFrame(
        {"bnf_code": [g[0] for g in generated], "bnf_name": [g[2] for g in generated]}
    )
    old = {(r["bnf_code"], r["bnf_name"]): r for r in resolve_frame(frame, uk, generics).to_dicts()}
    compared = (
        "route",
        "mg_per_unit",
        "ome_mg_per_unit",
        "regular_long_acting",
        "likely_daily_ome_mg",
    )
    mismatches = []
    for code, dmd_name, old_name, _ in generated:
        want = resolve(code, dmd_name, uk)
        got = old[(code, old_name)]
        if not want.resolved:
            continue
        if not got["resolved"] or any(got[c] != pytest.approx(getattr(want, c)) for c in compared):
            mismatches.append(f"{code} {old_name!r} vs {dmd_name!r}: {got['note']}")
    for line in mismatches:
        print("MISMATCH", line)
    assert 1 - len(mismatches) / len(generated) >= MIN_SHARE, mismatches[:20]


def test_real_old_style_generic_names_resolve(uk):
    """The generics' own old-style names: at least 99% give the expected OME per unit."""
    with shared_data("real-opioid-presentations.csv").open(newline="", encoding="utf-8") as fh:
        rows = {(r["bnf_code"], r["curated_name"]): r for r in csv.DictReader(fh)}
    bad = []
    for (code, name), row in rows.items():
        r = resolve(code, name, uk)
        if r.route != row["route"] or r.ome_mg_per_unit != pytest.approx(
            float(row["ome_mg_per_unit"])
        ):
            bad.append(f"{code} {name!r}: {r.note}")
    assert 1 - len(bad) / len(rows) >= MIN_SHARE, bad


def test_a_product_is_one_series_either_side_of_a_bnf_code_change():
    """Tapentadol 100mg MR: 0407020AH... in December 2024, 0407020AG... from January 2025."""
    from assets.reference import resolve_month

    months = {
        "2024-12": ("0407020AHAAADAD", "Tapentadol_Tab 100mg M/R"),
        "2025-01": ("0407020AGAAADAD", "Tapentadol 100mg modified-release tablets"),
    }
    rows = [
        resolve_month(pl.DataFrame({"bnf_code": [c], "bnf_name": [n]}), "uk").row(0, named=True)
        for c, n in months.values()
    ]
    assert {r["canonical_chemical_code"] for r in rows} == {"0407020AG"}
    # 100 mg x 0.4 = 40 mg OME per tablet; twice daily: 80 mg a day, on both sides
    assert [(r["ome_mg_per_unit"], r["likely_daily_ome_mg"]) for r in rows] == [(40.0, 80.0)] * 2
