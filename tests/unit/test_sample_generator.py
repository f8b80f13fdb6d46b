"""The bundled sample: deterministic, in the real layouts, with the edge cases tests need."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import duckdb
import pytest

from demo.sample_portal import catalogue as cat
from demo.sample_portal import generator as gen
from demo.sample_portal.generator import SampleManifest, generate_sample
from tests.support import shared_data

REAL_PRESENTATIONS = "real-opioid-presentations.csv"
# Months read where a test needs volumes: both layouts and both tapentadol codes.
MONTHS_SAMPLED = ("2024-07", "2024-12", "2025-04", "2025-09")
STRONG_CHEMICALS = (
    "0407020A0", "0407020Q0", "0407020AD", "0407020B0", "0407020AG", "0407020AH",
    "040702050", "0407020AF", "0407020K0", "0407020M0",
)  # fmt: skip


@pytest.fixture(scope="session")
def sample(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SampleManifest]:
    """The session's sample: the shared portal's when there is one (generating takes a
    few seconds, so do it once), else a fresh one."""
    try:
        portal = request.getfixturevalue("portal")
    except pytest.FixtureLookupError:
        root = tmp_path_factory.mktemp("sample")
        return root, generate_sample(root)
    return portal.data_dir, portal.manifest


def _head(root: Path, month: str) -> tuple[list[str], list[str]]:
    """Header and first row of a month, without reading the whole file."""
    with (root / "epd" / f"{gen.resource_name(month)}.csv").open(encoding="latin-1") as fh:
        header, first = next(csv.reader(fh)), next(csv.reader(fh))
    return header, first


def _epd(root: Path, month: str, *, snomed: bool = True) -> tuple[list[str], list[list[str]]]:
    data = (root / "epd" / f"{gen.resource_name(month, snomed=snomed)}.csv").read_bytes()
    return gen.read_csv_bytes(data)


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("latin-1"))))


def _list_file(root: Path, month: str, stem: str) -> list[dict[str, str]]:
    folder = root / "list_sizes" / month
    if (folder / f"{stem}.zip").exists():
        with zipfile.ZipFile(folder / f"{stem}.zip") as zf:
            assert zf.namelist() == [f"{stem}.csv"]
            return _csv(zf.read(f"{stem}.csv"))
    return _csv((folder / f"{stem}.csv").read_bytes())


def _epraccur(root: Path) -> list[list[str]]:
    with zipfile.ZipFile(root / "ods" / "epraccur.zip") as zf:
        assert zf.namelist() == ["epraccur.csv"]
        return list(csv.reader(io.StringIO(zf.read("epraccur.csv").decode("latin-1"))))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generation_is_byte_identical(sample: tuple[Path, SampleManifest], tmp_path: Path) -> None:
    root, manifest = sample
    again = generate_sample(tmp_path / "again")
    # The manifest's hashes are of the bytes written, so equal manifests and matching
    # re-hashes of the second copy mean two byte-identical generations.
    assert (tmp_path / "again" / gen.MANIFEST_NAME).read_bytes() == (
        root / gen.MANIFEST_NAME
    ).read_bytes()
    assert again.files == manifest.files
    for rel, digest in manifest.files.items():
        assert _sha(tmp_path / "again" / rel) == digest, rel


def test_second_call_reuses_the_sample(sample: tuple[Path, SampleManifest]) -> None:
    root, manifest = sample
    before = (root / gen.MANIFEST_NAME).stat().st_mtime_ns
    assert generate_sample(root) == manifest
    assert (root / gen.MANIFEST_NAME).stat().st_mtime_ns == before


def test_months_and_header_layouts(sample: tuple[Path, SampleManifest]) -> None:
    root, manifest = sample
    assert manifest.months[0] == "2024-07" and manifest.months[-1] == "2025-12"
    assert len(manifest.months) == 18
    for month in manifest.months:
        header, row = _head(root, month)
        col = {c: i for i, c in enumerate(header)}
        if month < "2025-03":
            assert header == list(gen.LEGACY_COLUMNS)
            assert row[col["YEAR_MONTH"]] == month.replace("-", "")
            assert len(row[col["BNF_CHEMICAL_SUBSTANCE"]]) == 9  # a code
        else:
            assert header == list(gen.CURRENT_COLUMNS)
            assert row[col["YEAR_MONTH"]] == month
            assert len(row[col["BNF_CHEMICAL_SUBSTANCE_CODE"]]) == 9
            assert not row[col["BNF_CHEMICAL_SUBSTANCE"]][:4].isdigit()  # a name
    retired = sorted(p.name for p in (root / "epd").glob("EPD_202[45]*.csv"))
    assert retired[0] == "EPD_202407.csv" and retired[-1] == "EPD_202506.csv"
    historic = sorted(p.name for p in (root / "epd").glob("EPD_20[12][0-9]*.csv"))
    assert historic[:3] == ["EPD_201401.csv", "EPD_201402.csv", "EPD_201403.csv"]
    assert len(retired) == 12
    assert "SNOMED_CODE" not in _epd(root, "2025-04", snomed=False)[0]


def test_rows_are_full_epd_rows(sample: tuple[Path, SampleManifest]) -> None:
    root, manifest = sample
    header, rows = _epd(root, "2025-05")
    col = {c: i for i, c in enumerate(header)}
    for row in rows:
        quantity, items = float(row[col["QUANTITY"]]), int(row[col["ITEMS"]])
        assert float(row[col["TOTAL_QUANTITY"]]) == quantity * items
        assert items >= 1
    codes = {r[col["BNF_PRESENTATION_CODE"]][:2] for r in rows}
    assert {"01", "02", "03", "04", "06"} <= codes  # not only opioids
    unidentified = [r for r in rows if r[col["PRACTICE_CODE"]] == "-"]
    assert unidentified and all(r[col["UNIDENTIFIED"]] == "True" for r in unidentified)
    assert {r[col["PRACTICE_NAME"]] for r in unidentified} == {"UNIDENTIFIED DOCTORS"}
    assert any(r[col["PRACTICE_CODE"]].endswith("998") for r in rows)
    assert any(r[col["BNF_PRESENTATION_CODE"]].startswith("0410") for r in rows)
    # Several rows (SNOMED codes, pack sizes) for one practice and presentation.
    seen: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r[col["PRACTICE_CODE"]], r[col["BNF_PRESENTATION_CODE"]])
        seen[key] = seen.get(key, 0) + 1
    assert max(seen.values()) >= 3
    assert any(len(r[col["SNOMED_CODE"]]) > 11 for r in rows)  # above the integer range
    for bad in manifest.facts["implausible_rows"]:
        h, month_rows = _epd(root, bad["month"])
        c = {n: i for i, n in enumerate(h)}
        code_col = c.get("BNF_CODE", c.get("BNF_PRESENTATION_CODE"))
        assert any(
            r[c["PRACTICE_CODE"]] == bad["practice_code"]
            and r[code_col] == bad["bnf_code"]
            and float(r[c["QUANTITY"]]) == bad["quantity"]
            for r in month_rows
        )


def test_cost_centres_settings_and_organisations(sample: tuple[Path, SampleManifest]) -> None:
    root, manifest = sample
    records = _epraccur(root)
    assert all(len(r) == gen.EPRACCUR_COLUMNS for r in records)
    assert not records[0][0].isupper() or records[0][0] != "ORGANISATION_CODE"  # no header
    real = [r for r in records if not r[0].startswith("W") and not r[0].endswith("998")]
    assert len(real) >= 300
    settings = {int(r[25]) for r in real}
    assert {1, 2, 4, 8, 9, 14} <= settings
    assert sum(1 for r in real if r[25] == "4") >= 250
    assert any(r[0].startswith("W00") for r in records)
    assert {r[3] for r in real} == {i["code"] for i in manifest.facts["icbs"]}
    assert len(manifest.facts["icbs"]) >= 2 and len(manifest.facts["regions"]) == 2
    gp = [r for r in real if r[25] == "4"]
    assert all(len(r[0]) == 6 and r[0][0].isalpha() and r[0][1:].isdigit() for r in gp)
    assert manifest.facts["pcn_count"] == 20
    assert len({r[14] for r in real}) == 6  # sub-ICB locations


def test_closing_opening_and_tiny_practices(sample: tuple[Path, SampleManifest]) -> None:
    root, manifest = sample
    facts = manifest.facts
    closing, opening = facts["closing_practice"]["code"], facts["opening_practice"]["code"]
    by_code = {r[0]: r for r in _epraccur(root)}
    assert by_code[closing][11] == "20250331" and by_code[closing][12] == "C"
    assert by_code[opening][10] == "20241101"
    for month in manifest.months:
        epd = (root / "epd" / f"{gen.resource_name(month)}.csv").read_bytes()
        listed = {r["CODE"] for r in _list_file(root, month, "gp-reg-pat-prac-all")}
        assert (f",{closing},".encode() in epd) == (month <= "2025-03"), month
        assert (closing in listed) == (month <= "2025-03"), month
        assert (f",{opening},".encode() in epd) == (month >= "2024-11"), month
        assert (opening in listed) == (month >= "2024-11"), month
    sizes = {
        r["CODE"]: int(r["NUMBER_OF_PATIENTS"])
        for r in _list_file(root, "2025-06", "gp-reg-pat-prac-all")
    }
    assert all(sizes[code] < 1000 for code in facts["tiny_practices"])
    ordinary = [n for code, n in sizes.items() if code not in facts["tiny_practices"]]
    assert sorted(ordinary)[len(ordinary) // 2] > 4000


@pytest.mark.parametrize("month", ["2024-07", "2024-09", "2025-03", "2025-12"])
def test_list_sizes_are_consistent(sample: tuple[Path, SampleManifest], month: str) -> None:
    root, _ = sample
    totals = {
        r["CODE"]: int(r["NUMBER_OF_PATIENTS"])
        for r in _list_file(root, month, "gp-reg-pat-prac-all")
    }
    all_rows = _list_file(root, month, "gp-reg-pat-prac-all")
    assert {(r["TYPE"], r["SEX"], r["AGE"]) for r in all_rows} == {("GP", "ALL", "ALL")}
    by_sex = {}
    for sex in ("male", "female"):
        rows = _list_file(root, month, f"gp-reg-pat-prac-sing-age-{sex}")
        assert list(rows[0]) == list(gen.LIST_SINGLE_AGE_COLUMNS)
        ages: dict[str, dict[str, int]] = {}
        for r in rows:
            ages.setdefault(r["ORG_CODE"], {})[r["AGE"]] = int(r["NUMBER_OF_PATIENTS"])
        for code, by_age in ages.items():
            assert list(by_age) == [*gen.AGE_LABELS, "ALL"]
            assert sum(v for k, v in by_age.items() if k != "ALL") == by_age["ALL"], code
        by_sex[sex] = ages
    assert set(totals) == set(by_sex["male"]) == set(by_sex["female"])
    epraccur = {r[0]: r[25] for r in _epraccur(root)}
    assert {epraccur[code] for code in totals} == {"4"}  # practices only
    for code, total in totals.items():
        male, female = by_sex["male"][code], by_sex["female"][code]
        assert male["ALL"] + female["ALL"] == total
        adults = sum(
            v
            for ages in (male, female)
            for k, v in ages.items()
            if k not in ("ALL",) and (k == "95+" or int(k) >= 18)
        )
        assert adults <= total
        if total >= 1000:
            assert 0.77 <= adults / total <= 0.83, code
    mapping = _list_file(root, month, "gp-reg-pat-prac-map")
    assert list(mapping[0]) == list(gen.LIST_MAP_COLUMNS)
    assert {r["PRACTICE_CODE"] for r in mapping} == set(totals)


def test_extract_date_formats_vary() -> None:
    assert gen.extract_date("2024-10") == "01OCT2024"
    assert gen.extract_date("2025-10") == "01-Oct-25"


def test_opioid_catalogue() -> None:
    codes = [p.bnf_code for p in cat.OPIOID_CATALOGUE]
    assert len(codes) == len(set(codes)) >= 40
    for p in cat.OPIOID_CATALOGUE:
        if p.group == cat.DEPENDENCE:
            assert p.bnf_code.startswith("0410")
        else:
            assert p.bnf_code.startswith("0407"), p
        assert len(p.bnf_code) == 15
    assert any(p.group == cat.DEPENDENCE for p in cat.OPIOID_CATALOGUE)
    tapentadol = [p for p in cat.OPIOID_CATALOGUE if p.legacy_chemical_code]
    assert tapentadol
    for p in tapentadol:
        assert p.codes_for_month("2024-12")[0].startswith("0407020AH")
        assert p.codes_for_month("2025-01")[0].startswith("0407020AG")
    assert any(p.bnf_code.startswith("0407010H0") for p in cat.NON_OPIOID_CATALOGUE)


def test_catalogue_codes_and_names_are_real() -> None:
    real: dict[str, set[str]] = {}
    with shared_data(REAL_PRESENTATIONS).open(newline="") as fh:
        for row in csv.DictReader(fh):
            real.setdefault(row["bnf_code"], set()).add(row["bnf_name"])
    for p in cat.OPIOID_CATALOGUE:
        if p.code_verified and p.bnf_code.startswith("0407"):
            assert p.name in real.get(p.bnf_code, set()), p.bnf_code


def test_tapentadol_code_changes_in_january_2025(sample: tuple[Path, SampleManifest]) -> None:
    root, _ = sample
    for month, old, new in (("2024-12", True, False), ("2025-01", False, True)):
        header, rows = _epd(root, month)
        codes = {r[header.index("BNF_CODE")] for r in rows}
        assert any(c.startswith("0407020AH") for c in codes) is old
        assert any(c.startswith("0407020AG") for c in codes) is new


def test_outliers_prescribe_about_three_times_the_national_rate(
    sample: tuple[Path, SampleManifest],
) -> None:
    root, manifest = sample
    con = duckdb.connect()
    items: dict[str, float] = {}
    patients: dict[str, float] = {}
    for month in MONTHS_SAMPLED:
        chem = "BNF_CHEMICAL_SUBSTANCE" if month < "2025-03" else "BNF_CHEMICAL_SUBSTANCE_CODE"
        marks = ", ".join("?" for _ in STRONG_CHEMICALS)
        epd = str(root / "epd" / f"{gen.resource_name(month)}.csv")
        for code, n in con.execute(
            f"SELECT PRACTICE_CODE, sum(ITEMS) FROM read_csv(?) WHERE {chem} IN ({marks}) GROUP BY 1",
            [epd, *STRONG_CHEMICALS],
        ).fetchall():
            items[code] = items.get(code, 0) + n
        for r in _list_file(root, month, "gp-reg-pat-prac-all"):
            patients[r["CODE"]] = patients.get(r["CODE"], 0) + int(r["NUMBER_OF_PATIENTS"])
    rates = {c: items.get(c, 0) * 1000 / n for c, n in patients.items() if n > 4000}
    national = sorted(rates.values())[len(rates) // 2]
    outliers = manifest.facts["outlier_practices"]
    assert len(outliers) == 3
    for code in outliers:
        assert rates[code] >= 2.5 * national, code
    assert max(r for c, r in rates.items() if c not in outliers) < 2.3 * national


def test_retired_derivation_matches_generated_file(sample: tuple[Path, SampleManifest]) -> None:
    root, _ = sample
    snomed = (root / "epd" / "EPD_SNOMED_202503.csv").read_bytes()
    assert gen.derive_retired(snomed) == (root / "epd" / "EPD_202503.csv").read_bytes()


def test_republication_changes_a_few_items_deterministically(
    sample: tuple[Path, SampleManifest],
) -> None:
    root, _ = sample
    data = (root / "epd" / "EPD_SNOMED_202501.csv").read_bytes()
    first = gen.republish_month(data, "2025-01", 1)
    assert first == gen.republish_month(data, "2025-01", 1)
    header, before = gen.read_csv_bytes(data)
    _, after = gen.read_csv_bytes(first)
    items = header.index("ITEMS")
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert 0 < len(changed) < len(before) * 0.06
    assert all(int(after[i][items]) == int(before[i][items]) + 1 for i in changed)
