"""The synthetic national-scale EPD generator: shape, determinism and distributions."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from demo.generate_epd import epd_columns, generate_epd
from demo.sample_portal.catalogue import OPIOID_CATALOGUE
from pipelines.cli import main
from pipelines.sources.epd import detect_layout

MONTH = date(2024, 9, 1)


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False, encoding="latin1")


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("gen") / "EPD_202409.csv"
    return path, generate_epd(MONTH, 60_000, "legacy", path)


def test_exact_row_count_and_the_real_header(medium) -> None:
    path, info = medium
    frame = _read(path)
    assert frame.height == info["rows"] == 60_000
    assert tuple(frame.columns) == epd_columns("legacy")
    assert detect_layout(frame.columns, where="t").name == "legacy"
    assert frame["YEAR_MONTH"].unique().to_list() == ["202409"]


def test_distributions_look_like_a_national_month(medium) -> None:
    path, info = medium
    frame = _read(path)
    share = frame["BNF_CODE"].str.starts_with("0407").mean()
    assert 0.02 <= share <= 0.03
    assert info["opioid_rows"] == frame["BNF_CODE"].str.starts_with("0407").sum()
    # Opioid codes are real ones from the catalogue; the 0410 methadone is there too.
    real = {p.bnf_code for p in OPIOID_CATALOGUE} | {"0407020AHAAADAD", "0407020AHBBACAC",
                                                     "0407020AHBBAEAE"}  # fmt: skip
    opioid_codes = set(frame.filter(pl.col("BNF_CODE").str.starts_with("0407"))["BNF_CODE"])
    assert opioid_codes <= real | {"0407010H0AAAMAM", "0407041T0AAACAC"}
    # Several rows per practice and presentation (SNOMED codes and quantities).
    per_group = frame.group_by("PRACTICE_CODE", "BNF_CODE").len()
    assert per_group["len"].mean() > 1.3
    assert (
        frame.select("PRACTICE_CODE", "BNF_CODE", "SNOMED_CODE", "QUANTITY").is_duplicated().sum()
        == 0
    )
    # GP practices, other cost centres, unidentified and unspecified codes.
    codes = set(frame["PRACTICE_CODE"])
    assert "-" in codes and any(c.endswith("998") for c in codes)
    assert any(c.startswith("Y") and not c.endswith("998") for c in codes)
    assert info["gp_practices"] == 60
    # Measures are consistent: total quantity = quantity x items.
    nums = frame.select(pl.col("QUANTITY", "ITEMS", "TOTAL_QUANTITY").cast(pl.Float64))
    assert (nums["QUANTITY"] * nums["ITEMS"] == nums["TOTAL_QUANTITY"]).all()
    assert (nums["ITEMS"] >= 1).all()


def test_latin1_bytes_and_quoted_fields_are_present(medium) -> None:
    path, _ = medium
    data = path.read_bytes()
    assert "CAFÉ QUARTER SURGERY".encode("latin-1") in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert b'"UNIT ' in data  # an address with a comma, quoted
    rows = list(csv.reader(io.StringIO(data.decode("latin-1"))))
    assert {len(r) for r in rows} == {len(epd_columns("legacy"))}


def test_same_seed_same_bytes_and_zip_copy_matches(tmp_path: Path) -> None:
    a, b, z = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "a.zip"
    generate_epd(MONTH, 5_000, "current", a, copies=[z], seed=3)
    generate_epd(MONTH, 5_000, "current", b, seed=3)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    with zipfile.ZipFile(z) as zf:
        (info,) = zf.infolist()
        assert info.filename == "a.csv"
        assert zf.read(info) == a.read_bytes()
    other = tmp_path / "c.csv"
    generate_epd(MONTH, 5_000, "current", other, seed=4)
    assert other.read_bytes() != a.read_bytes()


def test_current_layout_has_text_month_and_chemical_names(tmp_path: Path) -> None:
    path = tmp_path / "EPD_SNOMED_202504.zip"
    info = generate_epd(date(2025, 4, 1), 3_000, "current", path)
    with zipfile.ZipFile(path) as zf:
        frame = pl.read_csv(zf.read("EPD_SNOMED_202504.csv"), infer_schema=False, encoding="latin1")
    assert tuple(frame.columns) == epd_columns("current")
    assert frame["YEAR_MONTH"].unique().to_list() == ["2025-04"]
    # BNF_CHEMICAL_SUBSTANCE is the *name* in the current layout, the code before it.
    assert frame["BNF_CHEMICAL_SUBSTANCE_CODE"].str.len_chars().unique().to_list() == [9]
    assert not frame["BNF_CHEMICAL_SUBSTANCE"].str.contains(r"^\d{4}").any()
    assert info["files"][str(path)] == path.stat().st_size


def test_tiny_files_and_bad_arguments(tmp_path: Path) -> None:
    info = generate_epd(MONTH, 1, "legacy", tmp_path / "one.csv")
    assert _read(tmp_path / "one.csv").height == 1 == info["rows"]
    with pytest.raises(ValueError, match="layout"):
        generate_epd(MONTH, 10, "modern", tmp_path / "x.csv")
    with pytest.raises(ValueError, match="rows"):
        generate_epd(MONTH, 0, "legacy", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_command_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli.zip"
    args = ["generate-epd", "--month", "2025-03", "--rows", "2000", "--layout", "current"]
    assert main([*args, "--out", str(out)]) == 0
    assert "2,000 rows" in capsys.readouterr().out
    assert zipfile.is_zipfile(out)
    assert main(["generate-epd", "--month", "2025/03", "--out", str(tmp_path / "x.csv")]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
