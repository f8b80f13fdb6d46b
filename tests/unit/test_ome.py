"""Hand-computed checks of the OME resolver against the method in the reference notes."""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import fields
from pathlib import Path

import polars as pl
import pytest

from pipelines.ome import (
    RESOLUTION_COLUMNS,
    RESOLUTION_SCHEMA,
    Resolution,
    canonical_chemical_code,
    load_reference,
    resolve,
    resolve_frame,
    write_ome_csv,
)
from pipelines.ome.reference import REFERENCE_DIR

FENTANYL = "0407020A0"
BUPRENORPHINE = "0407020B0"
MORPHINE_SULFATE = "0407020Q0"
OXYCODONE = "0407020AD"
OXYCODONE_NALOXONE = "0407020AF"
TAPENTADOL = "0407020AG"
HYDROMORPHONE = "040702050"
METHADONE = "0407020M0"
CO_CODAMOL = "0407010F0"
CO_DYDRAMOL = "0407010N0"
TRAMADOL = "040702040"
DIAMORPHINE = "0407020K0"


OME_TABLES = (
    "opioid_substances.csv",
    "ome_factors.csv",
    "ome_overrides.csv",
    "bnf_code_changes.csv",
)


def code(chemical: str, rest: str = "AAAAAAA") -> str:
    """A 15-character presentation code; only the first 9 characters matter here."""
    return (chemical + rest)[:15]


@pytest.fixture(scope="module")
def uk():
    return load_reference("uk")


def test_resolution_fields_are_the_public_columns():
    assert tuple(f.name for f in fields(Resolution)) == RESOLUTION_COLUMNS
    assert tuple(RESOLUTION_SCHEMA) == RESOLUTION_COLUMNS
    assert len(RESOLUTION_COLUMNS) == 21


# --- hand-computed presentations ----------------------------------------------------------


def test_fentanyl_25_patch(uk):
    r = resolve("0407020A0AAAAAA", "Fentanyl 25micrograms/hour transdermal patches", uk)
    assert (r.substance, r.route, r.form) == ("fentanyl", "transdermal", "patch")
    assert (r.strength_value, r.strength_unit) == (25.0, "micrograms/hour")
    assert r.wear_hours == 72
    assert r.mg_per_unit == pytest.approx(1.8)  # 25 mcg/h x 72 h / 1000
    assert r.ome_factor == 100
    assert r.ome_mg_per_unit == pytest.approx(180.0)
    assert r.likely_daily_ome_mg == pytest.approx(60.0)  # 25 x 24 / 1000 x 100
    assert r.regular_long_acting and r.non_cancer_scope and r.resolved and r.strong
    assert r.doses_per_day is None


def test_co_codamol_30_500_hundred_tablets_is_300mg_ome(uk):
    r = resolve(code(CO_CODAMOL), "Co-codamol 30mg/500mg effervescent tablets", uk)
    assert (r.substance, r.strong, r.route, r.form) == ("codeine", False, "oral", "tablet")
    assert (r.strength_value, r.strength_unit) == (30.0, "mg")
    assert r.mg_per_unit == 30.0 and r.ome_factor == pytest.approx(0.1)
    assert 100 * r.ome_mg_per_unit == pytest.approx(300.0)
    assert not r.regular_long_acting and r.likely_daily_ome_mg is None


def test_morphine_liquid_is_per_ml(uk):
    r = resolve(code(MORPHINE_SULFATE), "Morphine sulfate 10mg/5ml oral solution", uk)
    assert (r.form, r.route) == ("oral_liquid", "oral")
    assert (r.strength_value, r.strength_unit) == (10.0, "mg/5ml")
    assert r.mg_per_unit == pytest.approx(2.0)
    assert r.ome_mg_per_unit == pytest.approx(2.0)
    # immediate-release liquid: breakthrough, never "high dose"
    assert not r.regular_long_acting and r.likely_daily_ome_mg is None


def test_co_codamol_liquid_counts_codeine_per_ml(uk):
    r = resolve(code(CO_CODAMOL), "Co-codamol 8mg/500mg/5ml oral solution", uk)
    assert (r.strength_value, r.strength_unit) == (8.0, "mg/5ml")
    assert r.mg_per_unit == pytest.approx(1.6)
    assert r.ome_mg_per_unit == pytest.approx(0.16)


@pytest.mark.parametrize(
    ("name", "mg"),
    [
        ("Oxycodone 5mg / Naloxone 2.5mg modified-release tablets", 5.0),
        ("Targinact 10mg/5mg modified-release tablets", 10.0),
        ("Oxycodone 40mg/5ml / Naloxone 20mg/5ml oral suspension", 8.0),
    ],
)
def test_oxycodone_naloxone_counts_oxycodone_only(uk, name, mg):
    r = resolve(code(OXYCODONE_NALOXONE), name, uk)
    assert r.substance == "oxycodone"
    assert r.mg_per_unit == pytest.approx(mg)
    assert r.ome_mg_per_unit == pytest.approx(mg * 1.5)


def test_oxycodone_naloxone_mr_is_regular_long_acting(uk):
    r = resolve(
        code(OXYCODONE_NALOXONE), "Oxycodone 5mg / Naloxone 2.5mg modified-release tablets", uk
    )
    assert r.regular_long_acting and r.doses_per_day == 2
    assert r.likely_daily_ome_mg == pytest.approx(15.0)


@pytest.mark.parametrize(
    ("name", "wear", "mg"),
    [
        ("Transtec 35micrograms/hour transdermal patches", 96, 3.36),
        ("Buprenorphine 52.5micrograms/hour transdermal patches", 96, 5.04),
        ("Buprenorphine 70micrograms/hour transdermal patches", 96, 6.72),
        ("Butec 10micrograms/hour transdermal patches", 168, 1.68),
        ("BuTrans 5micrograms/hour transdermal patches", 168, 0.84),
    ],
)
def test_buprenorphine_patch_wear_time(uk, name, wear, mg):
    r = resolve(code(BUPRENORPHINE), name, uk)
    assert r.wear_hours == wear
    assert r.mg_per_unit == pytest.approx(mg)
    assert r.ome_mg_per_unit == pytest.approx(mg * 100)
    if wear == 96:
        assert "96 h assumed" in r.note  # the approximation is recorded


def test_patch_wear_time_stated_in_name_wins(uk):
    r = resolve(code(BUPRENORPHINE), "Buprenorphine_Patch 35mcg/hr (96hr)", uk)
    assert r.wear_hours == 96 and r.mg_per_unit == pytest.approx(3.36)
    r = resolve(code(BUPRENORPHINE), "Buprenorphine_Patch 10mcg/hr (7day)", uk)
    assert r.wear_hours == 168 and r.mg_per_unit == pytest.approx(1.68)


def test_unknown_buprenorphine_patch_rate_is_unresolved(uk):
    r = resolve(code(BUPRENORPHINE), "Buprenorphine 40micrograms/hour transdermal patches", uk)
    assert not r.resolved and r.mg_per_unit is None
    assert "wear time" in r.note


def test_physeptone_ampoule(uk):
    r = resolve(code(METHADONE), "Physeptone 35mg/3.5ml solution for injection ampoules", uk)
    assert (r.route, r.form) == ("injection", "injection")
    assert r.mg_per_unit == pytest.approx(35.0)  # one ampoule: 10 mg/ml x 3.5 ml
    assert r.ome_factor == 3
    assert r.ome_mg_per_unit == pytest.approx(105.0)
    assert "dose-dependent" in r.note
    assert not r.non_cancer_scope and not r.regular_long_acting


def test_injection_concentration_times_container_volume(uk):
    r = resolve(code(METHADONE), "Methadone HCl_Inj 10mg/ml 2ml Amp", uk)
    assert r.mg_per_unit == pytest.approx(20.0)
    r = resolve(
        code(MORPHINE_SULFATE), "Morphine sulfate 10mg/ml solution for injection 2ml ampoules", uk
    )
    assert r.mg_per_unit == pytest.approx(20.0) and r.ome_mg_per_unit == pytest.approx(40.0)


def test_injection_per_ml_without_volume_is_unresolved(uk):
    r = resolve(
        code(MORPHINE_SULFATE), "Morphine sulfate 10mg/ml solution for injection ampoules", uk
    )
    assert not r.resolved and "volume" in r.note


def test_diamorphine_powder_vial_is_the_stated_mg(uk):
    r = resolve(code(DIAMORPHINE), "Diamorphine 10mg powder for solution for injection vials", uk)
    assert r.mg_per_unit == 10.0 and r.ome_factor == pytest.approx(3.3)
    assert r.ome_mg_per_unit == pytest.approx(33.0)


def test_instanyl_is_per_dose(uk):
    r = resolve(code(FENTANYL), "Instanyl 100micrograms/dose nasal spray", uk)
    assert (r.route, r.form) == ("nasal", "nasal_spray")
    assert (r.strength_value, r.strength_unit) == (100.0, "micrograms/dose")
    assert r.mg_per_unit == pytest.approx(0.1)
    assert r.ome_factor == 160 and r.ome_mg_per_unit == pytest.approx(16.0)
    assert not r.non_cancer_scope and not r.regular_long_acting


def test_actiq_lozenge_is_buccal(uk):
    r = resolve(code(FENTANYL), "Actiq 1.6mg lozenges with integral oromucosal applicator", uk)
    assert (r.route, r.form) == ("buccal", "lozenge")
    assert r.mg_per_unit == pytest.approx(1.6) and r.ome_mg_per_unit == pytest.approx(208.0)


def test_fentanyl_buccal_film_is_not_lost(uk):
    r = resolve(code(FENTANYL), "Fentanyl 200microgram buccal films sugar free", uk)
    assert r.resolved and (r.route, r.form) == ("buccal", "buccal_film")
    assert r.ome_mg_per_unit == pytest.approx(26.0)


def test_zomorph_brand_without_substance(uk):
    r = resolve(code(MORPHINE_SULFATE), "Zomorph 30mg modified-release capsules", uk)
    assert (r.substance, r.form, r.mg_per_unit) == ("morphine", "capsule", 30.0)
    assert r.regular_long_acting and r.doses_per_day == 2
    assert r.likely_daily_ome_mg == pytest.approx(60.0)


def test_mst_granules_are_counted_per_sachet(uk):
    r = resolve(code(MORPHINE_SULFATE), "MST Continus suspension 20mg granules sachets", uk)
    assert (r.form, r.route, r.mg_per_unit) == ("granules", "oral", 20.0)
    assert r.regular_long_acting and r.doses_per_day == 2


def test_tramadol_products(uk):
    xl = resolve(code(TRAMADOL), "Zydol XL 300mg tablets", uk)
    assert xl.mg_per_unit == 300.0 and xl.ome_mg_per_unit == pytest.approx(30.0)
    assert xl.doses_per_day == 1  # once daily, but tramadol is not a "regular long-acting" product
    assert not xl.regular_long_acting and xl.likely_daily_ome_mg is None
    combo = resolve(code(TRAMADOL), "Tramadol 75mg / Paracetamol 650mg tablets", uk)
    assert combo.mg_per_unit == 75.0 and combo.ome_mg_per_unit == pytest.approx(7.5)


def test_paracetamol_combination_written_paracetamol_first(uk):
    r = resolve(code(CO_DYDRAMOL), "Eroset 500mg/10mg tablets", uk)
    assert r.mg_per_unit == 10.0 and r.substance == "dihydrocodeine"


def test_grams_and_micrograms_convert_to_mg(uk):
    r = resolve(code(MORPHINE_SULFATE), "Morphine sulfate 1g/5ml oral solution", uk)
    assert r.mg_per_unit == pytest.approx(200.0)
    r = resolve(code(MORPHINE_SULFATE), "Morphine sulfate 500micrograms/5ml oral solution", uk)
    assert r.mg_per_unit == pytest.approx(0.1)


def test_unit_dose_vials_are_counted_per_vial(uk):
    r = resolve(
        code(MORPHINE_SULFATE), "Morphine sulfate 30mg/5ml oral solution unit dose vials", uk
    )
    assert r.form == "oral_liquid_unit_dose" and r.mg_per_unit == pytest.approx(30.0)


def test_older_bnf_style_names(uk):
    r = resolve(code(OXYCODONE_NALOXONE), "Oxycodone HCl/Naloxone HCl_Tab 10/5mgM/R", uk)
    assert r.mg_per_unit == 10.0 and r.regular_long_acting and r.doses_per_day == 2
    r = resolve(code(MORPHINE_SULFATE), "Morph Sulf_Liq Spec 10mg/5ml", uk)
    assert (r.form, r.mg_per_unit) == ("oral_liquid", pytest.approx(2.0))
    r = resolve(code(FENTANYL), "Fentanyl_Nsl Spy 100mcg", uk)
    assert (r.route, r.mg_per_unit) == ("nasal", pytest.approx(0.1))


# --- the public high-dose cut-offs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("chemical", "name", "daily"),
    [
        # fentanyl patch: >= 37.5 mcg/h at 90, >= 50 at 120
        (FENTANYL, "Fentanyl 12micrograms/hour transdermal patches", 28.8),
        (FENTANYL, "Fentanyl 25micrograms/hour transdermal patches", 60.0),
        (FENTANYL, "Fentanyl 37.5micrograms/hour transdermal patches", 90.0),
        (FENTANYL, "Fentanyl 50micrograms/hour transdermal patches", 120.0),
        (FENTANYL, "Fentanyl 100micrograms/hour transdermal patches", 240.0),
        # buprenorphine patch: 52.5 and 70 mcg/h at both thresholds
        (BUPRENORPHINE, "Butec 20micrograms/hour transdermal patches", 48.0),
        (BUPRENORPHINE, "Transtec 35micrograms/hour transdermal patches", 84.0),
        (BUPRENORPHINE, "Transtec 52.5micrograms/hour transdermal patches", 126.0),
        (BUPRENORPHINE, "Transtec 70micrograms/hour transdermal patches", 168.0),
        # oxycodone MR twice daily: >= 30 mg at 90, >= 40 mg at 120
        (OXYCODONE, "Oxycodone 20mg modified-release tablets", 60.0),
        (OXYCODONE, "OxyContin 30mg modified-release tablets", 90.0),
        (OXYCODONE, "Longtec 40mg modified-release tablets", 120.0),
        # tapentadol MR: >= 112.5 mg at 90, >= 150 mg at 120
        (TAPENTADOL, "Palexia SR 100mg tablets", 80.0),
        (TAPENTADOL, "Tapentadol 112.5mg modified-release tablets", 90.0),
        (TAPENTADOL, "Palexia SR 150mg tablets", 120.0),
        # morphine MR twice daily: >= 45 mg at 90, >= 60 mg at 120
        (MORPHINE_SULFATE, "Zomorph 30mg modified-release capsules", 60.0),
        (MORPHINE_SULFATE, "Morphine 45mg modified-release tablets", 90.0),
        (MORPHINE_SULFATE, "MST Continus 60mg tablets", 120.0),
        # MXL once daily: >= 90 mg at 90, >= 120 mg at 120
        (MORPHINE_SULFATE, "MXL 60mg capsules", 60.0),
        (MORPHINE_SULFATE, "MXL 90mg capsules", 90.0),
        (MORPHINE_SULFATE, "MXL 120mg capsules", 120.0),
        # hydromorphone MR: >= 9 mg at 90, >= 12 mg at 120
        (HYDROMORPHONE, "Palladone SR 8mg capsules", 80.0),
        (HYDROMORPHONE, "Hydromorphone 9mg modified-release capsules", 90.0),
        (HYDROMORPHONE, "Hydromorphone 12mg modified-release capsules", 120.0),
        # Onexila XL oxycodone is once daily
        (OXYCODONE, "Onexila XL 40mg tablets", 60.0),
        (OXYCODONE, "Onexila XL 80mg tablets", 120.0),
    ],
)
def test_high_dose_cut_offs(uk, chemical, name, daily):
    r = resolve(code(chemical), name, uk)
    assert r.resolved and r.regular_long_acting
    assert r.likely_daily_ome_mg == pytest.approx(daily)
    # the threshold comparison is exact at the boundary (no 89.999... from float noise)
    assert (r.likely_daily_ome_mg >= 90) == (daily >= 90)
    assert (r.likely_daily_ome_mg >= 120) == (daily >= 120)


def test_once_daily_generic_override(uk):
    r = resolve("0407020Q0AADUDU", "Morphine 90mg modified-release capsules", uk)
    assert r.doses_per_day == 1 and r.likely_daily_ome_mg == pytest.approx(90.0)
    assert "override" in r.note


@pytest.mark.parametrize(
    ("chemical", "name"),
    [
        (MORPHINE_SULFATE, "Oramorph 10mg/5ml oral solution"),
        (MORPHINE_SULFATE, "Sevredol 20mg tablets"),
        (MORPHINE_SULFATE, "Morphine sulfate 10mg/1ml solution for injection ampoules"),
        (OXYCODONE, "OxyNorm 10mg capsules"),
        (FENTANYL, "Abstral 100microgram sublingual tablets"),
    ],
)
def test_breakthrough_and_injections_are_never_high_dose(uk, chemical, name):
    r = resolve(code(chemical), name, uk)
    assert r.resolved and not r.regular_long_acting and r.likely_daily_ome_mg is None


# --- factor sets ------------------------------------------------------------------------------


def test_factor_set_switching():
    uk = load_reference("uk")
    cms = load_reference("us_cms")
    pre = load_reference("uk_pre_2020")
    cases = [
        (CO_CODAMOL, "Co-codamol 30mg/500mg tablets", 0.1, 0.15),
        (TRAMADOL, "Tramadol 50mg capsules", 0.1, 0.2),
        (HYDROMORPHONE, "Palladone 1.3mg capsules", 5.0, 4.0),
        (TAPENTADOL, "Palexia 50mg tablets", 0.4, 0.3),
        (MORPHINE_SULFATE, "Sevredol 10mg tablets", 1.0, 1.0),
    ]
    for chemical, name, f_uk, f_cms in cases:
        a = resolve(code(chemical), name, uk)
        b = resolve(code(chemical), name, cms)
        assert a.ome_factor == pytest.approx(f_uk) and b.ome_factor == pytest.approx(f_cms)
        assert b.ome_mg_per_unit == pytest.approx(a.mg_per_unit * f_cms)
    oxy = resolve(code(OXYCODONE), "OxyContin 30mg modified-release tablets", pre)
    assert oxy.ome_factor == 2 and oxy.likely_daily_ome_mg == pytest.approx(120.0)
    assert oxy.ome_factor_source.startswith("uk-pre-2020-08")
    assert resolve(code(OXYCODONE), "OxyContin 30mg modified-release tablets", uk).ome_factor == 1.5


def test_unknown_factor_set_names_the_available_sets():
    with pytest.raises(ValueError, match="available") as exc:
        load_reference("nonexistent")
    assert "uk" in str(exc.value) and "us_cms" in str(exc.value)


def test_every_factor_set_covers_the_same_substances_and_routes():
    rows = list(csv.DictReader((REFERENCE_DIR / "ome_factors.csv").open()))
    keys: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        keys.setdefault(row["factor_set"], set()).add((row["substance"], row["route"]))
        assert float(row["factor"]) > 0 and row["source"]
    assert len({frozenset(v) for v in keys.values()}) == 1
    versions = {(r["factor_set"], r["version"]) for r in rows}
    assert len(versions) == len(keys)


def test_every_in_scope_substance_has_a_factor(uk):
    assert len(uk.substances) == 25
    with_factor = {s for s, _ in uk.factors}
    assert {s.ome_substance for s in uk.substances.values()} <= with_factor


# --- unresolved, out of scope, code changes ---------------------------------------------------


def test_missing_factor_is_unresolved_never_zero(uk):
    r = resolve(code(FENTANYL), "Fentanyl 100microgram suppositories", uk)
    assert r.in_scope and r.route == "rectal" and not r.resolved
    assert r.ome_factor is None and r.ome_mg_per_unit is None
    assert "no OME factor for fentanyl by rectal route" in r.note


def test_missing_factor_row_in_a_custom_table(tmp_path):
    for name in OME_TABLES:
        shutil.copy(REFERENCE_DIR / name, tmp_path / name)
    factors = tmp_path / "ome_factors.csv"
    kept = [
        line
        for line in factors.read_text().splitlines()
        if not line.startswith("uk,uk-2020-08,fentanyl,buccal,")
    ]
    factors.write_text("\n".join(kept) + "\n")
    ref = load_reference("uk", reference_dir=tmp_path)
    r = resolve(code(FENTANYL), "Fentanyl 200microgram buccal films sugar free", ref)
    assert not r.resolved and r.mg_per_unit == pytest.approx(0.2)
    assert r.ome_mg_per_unit is None and "no OME factor" in r.note


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Morphine and Cocaine elixir", "no opioid strength"),
        ("Morphine sulfate 10mg widgets", "form and route not recognised"),
        ("", "form and route not recognised"),
    ],
)
def test_unreadable_names_are_unresolved_with_a_note(uk, name, fragment):
    r = resolve(code("0407020P0"), name, uk)
    assert r.in_scope and not r.resolved
    assert r.mg_per_unit is None and r.ome_mg_per_unit is None
    assert fragment in r.note


def test_brand_without_strength_uses_override(uk):
    r = resolve("0407010F0BWAAAB", "Feminax Period Pain capsules", uk)
    assert r.resolved and r.mg_per_unit == 8.0 and "override" in r.note


@pytest.mark.parametrize(
    ("bnf_code", "name"),
    [
        ("0407010H0AAAMAM", "Paracetamol 500mg tablets"),
        ("0410030A0AAAAAA", "Methadone 1mg/ml oral solution"),
        ("0407010Q0AAAAAA", "Co-proxamol 32.5mg/325mg tablets"),
        ("-", "-"),
        (None, None),
    ],
)
def test_out_of_scope_rows_are_resolved_with_nothing_to_compute(uk, bnf_code, name):
    r = resolve(bnf_code, name, uk)
    assert not r.in_scope and r.resolved
    assert r.ome_mg_per_unit is None and not r.non_cancer_scope and not r.regular_long_acting


def test_tapentadol_code_change():
    assert canonical_chemical_code("0407020AH") == "0407020AG"
    assert canonical_chemical_code("0407020AHAAAAAA") == "0407020AG"
    assert canonical_chemical_code("0407020AG") == "0407020AG"
    assert canonical_chemical_code("0407020Q0BBAAAK") == "0407020Q0"
    r = resolve("0407020AHAAAAAA", "Tapentadol 50mg tablets", load_reference())
    assert r.substance == "tapentadol" and r.chemical_code == "0407020AH"
    assert r.ome_mg_per_unit == pytest.approx(20.0)


# --- frames and files -------------------------------------------------------------------------


def test_resolve_frame_distinct_sorted_and_typed(uk):
    df = pl.DataFrame(
        {
            "bnf_code": [
                "0407020Q0AAAAAA",
                "0407010F0AAAHAH",
                "0407010F0AAAHAH",
                "0407010H0AAAMAM",
            ],
            "bnf_name": [
                "Morphine sulfate 10mg/5ml oral solution",
                "Co-codamol 30mg/500mg tablets",
                "Co-codamol 30mg/500mg tablets",
                "Paracetamol 500mg tablets",
            ],
            "items": [1, 2, 3, 4],
        }
    )
    out = resolve_frame(df, uk)
    assert out.columns == list(RESOLUTION_COLUMNS)
    assert out.schema == pl.Schema(RESOLUTION_SCHEMA)
    assert out.height == 3
    assert out["bnf_code"].to_list() == sorted(out["bnf_code"].to_list())
    assert out.filter(pl.col("bnf_code") == "0407010H0AAAMAM")["in_scope"].to_list() == [False]


def test_resolve_frame_needs_both_columns(uk):
    with pytest.raises(ValueError, match="bnf_name"):
        resolve_frame(pl.DataFrame({"bnf_code": ["0407020Q0AAAAAA"]}), uk)


def test_resolve_frame_resolves_a_thousand_presentations():
    strengths = range(1, 1001)
    df = pl.DataFrame(
        {
            "bnf_code": [f"0407020Q0AA{i:04d}" for i in strengths],
            "bnf_name": [f"Morphine {i}mg modified-release tablets" for i in strengths],
        }
    )
    ref = load_reference()  # fresh reference, so nothing is cached yet
    out = resolve_frame(df, ref)
    assert out.height == 1000 and out["resolved"].all()
    # Strength is read per row, not from one cached name (speed belongs in benchmarks).
    assert out.filter(pl.col("bnf_code") == "0407020Q0AA0250")["mg_per_unit"].item() == 250


def test_write_ome_csv_round_trip(tmp_path):
    src = tmp_path / "presentations.csv"
    src.write_text(
        "bnf_code,bnf_name,extra\n"
        "040702040AAAAAA,Tramadol 50mg capsules,x\n"
        "0407020A0AAAAAA,Fentanyl 25micrograms/hour transdermal patches,y\n"
        "040702040AAAAAA,Tramadol 50mg capsules,z\n"
        "0407020P0AAAIAI,Morphine and Cocaine elixir,w\n"
    )
    buf = io.StringIO()
    n = write_ome_csv(src, buf)
    assert n == 3
    back = pl.read_csv(io.StringIO(buf.getvalue()), schema=RESOLUTION_SCHEMA)
    assert back.columns == list(RESOLUTION_COLUMNS) and back.height == 3
    # leading zeros survive, and the file equals the in-memory frame
    assert "040702040AAAAAA" in back["bnf_code"].to_list()
    expected = resolve_frame(pl.read_csv(src, infer_schema=False), load_reference())
    assert back.equals(expected)
    fent = back.filter(pl.col("bnf_code") == "0407020A0AAAAAA").row(0, named=True)
    assert fent["ome_mg_per_unit"] == pytest.approx(180.0)
    assert back.filter(~pl.col("resolved")).height == 1


def test_write_ome_csv_other_factor_set(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("bnf_code,bnf_name\n040702040AAAAAA,Tramadol 50mg capsules\n")
    buf = io.StringIO()
    write_ome_csv(src, buf, factor_set="us_cms")
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert float(row["ome_factor"]) == pytest.approx(0.2)


def test_write_ome_csv_missing_columns(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("code,name\n040702040AAAAAA,Tramadol 50mg capsules\n")
    with pytest.raises(ValueError, match="bnf_code"):
        write_ome_csv(src, io.StringIO())
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="bnf_code"):
        write_ome_csv(empty, io.StringIO())


def test_header_only_input_writes_header_only(tmp_path):
    src = tmp_path / "h.csv"
    src.write_text("bnf_code,bnf_name\n")
    buf = io.StringIO()
    assert write_ome_csv(src, buf) == 0
    assert buf.getvalue().strip() == ",".join(RESOLUTION_COLUMNS)


def test_reference_readme_documents_every_ome_table():
    readme = (REFERENCE_DIR / "README.md").read_text()
    for name in OME_TABLES:
        assert (REFERENCE_DIR / name).exists() and name in readme


def test_resolution_is_cached_per_code_and_name(uk):
    a = resolve(code(TRAMADOL), "Tramadol 50mg capsules", uk)
    b = resolve(code(TRAMADOL), "Tramadol 50mg capsules", uk)
    assert a is b


def test_public_path_is_repo_root():
    assert Path(__file__).resolve().parents[2] / "reference" == REFERENCE_DIR
