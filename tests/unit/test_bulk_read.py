"""Reading bulk EPD files: the staged frame equals normalising the same rows.

The reference here is deliberately independent of DuckDB: Python's ``csv`` module reads
the file as Latin-1, keeps section 0407, sums with ``Decimal`` (as the portal's typed
columns do) and hands the result to ``normalise``, exactly the path the SQL route takes.
"""

from __future__ import annotations

import zipfile
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from demo.generate_epd import generate_epd
from pipelines.http import SourceError
from pipelines.sources import bulk_rejects
from pipelines.sources.bulk_read import read_epd_file
from pipelines.sources.epd import STAGED_SCHEMA, SchemaError, detect_layout, normalise

MONTHS = {"legacy": date(2024, 9, 1), "current": date(2025, 4, 1)}
MEASURES = ("items", "total_quantity", "nic", "actual_cost")


def reference_frame(path: Path, month: date) -> pl.DataFrame:
    """The staged frame computed the slow, obvious way (what the portal's SQL does)."""
    import csv

    with path.open("r", encoding="latin-1", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        layout = detect_layout(header, where="reference")
        index = {k: header.index(v) for k, v in layout.columns.items()}
        groups: dict[tuple[str, str, str], dict[str, object]] = {}
        sums: dict[tuple[str, str, str], dict[str, Decimal]] = defaultdict(
            lambda: dict.fromkeys(MEASURES, Decimal(0))
        )
        for row in reader:
            if not row[index["bnf_code"]].startswith("0407"):
                continue
            key = (row[index["year_month"]], row[index["practice_code"]], row[index["bnf_code"]])
            g = groups.setdefault(key, {"rows": 0, "quantity": None, "keys": set()})
            g["rows"] = int(g["rows"]) + 1  # type: ignore[call-overload]
            row_key = tuple(
                Decimal(row[header.index(c)]) if c == "QUANTITY" else row[header.index(c)]
                for c in layout.row_key
            )
            g["keys"].add(row_key)  # type: ignore[union-attr]
            for name in ("practice_name", "sub_icb_code", "icb_code", "region_code",
                         "chemical_code", "bnf_name"):  # fmt: skip
                value = row[index[name]]
                g[name] = max(str(g.get(name, value)), value)
            quantity = Decimal(row[index["quantity"]])
            g["quantity"] = quantity if g["quantity"] is None else max(g["quantity"], quantity)  # type: ignore[type-var]
            for m in MEASURES:
                sums[key][m] += Decimal(row[index[m]])
    records = []
    for key, g in groups.items():
        ym, practice, bnf = key
        records.append(
            {
                layout.source("year_month"): ym,
                layout.source("practice_code"): practice,
                layout.source("bnf_code"): bnf,
                **{
                    layout.source(n): g[n]
                    for n in (
                        "practice_name",
                        "sub_icb_code",
                        "icb_code",
                        "region_code",
                        "chemical_code",
                        "bnf_name",
                    )
                },  # fmt: skip
                layout.source("quantity"): str(g["quantity"]),
                **{layout.source(m): str(sums[key][m]) for m in MEASURES},
                "SOURCE_ROWS": str(g["rows"]),
                "DISTINCT_ROWS": str(len(g["keys"])),  # type: ignore[arg-type]
            }
        )
    raw = pl.DataFrame(records, schema={k: pl.String for k in records[0]})
    return normalise(raw, layout, month, where="reference")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """A small month in each layout, as CSV and zip, with the generator's own counts."""
    out: dict[str, dict[str, object]] = {}
    root = tmp_path_factory.mktemp("bulk_read")
    for layout, month in MONTHS.items():
        csv_path = root / f"{layout}.csv"
        zip_path = root / f"{layout}.zip"
        info = generate_epd(month, 30_000, layout, csv_path, copies=[zip_path], seed=7)
        out[layout] = {
            "csv": csv_path,
            "zip": zip_path,
            "info": info,
            "reference": reference_frame(csv_path, month),
        }
    return out


@pytest.mark.parametrize("layout", ["legacy", "current"])
@pytest.mark.parametrize("source", ["csv", "zip"])
def test_file_reads_to_the_reference_frame(generated, layout: str, source: str) -> None:
    case = generated[layout]
    result = read_epd_file(case[source], MONTHS[layout], where="test")
    assert result.frame.schema == pl.Schema(STAGED_SCHEMA)
    assert result.frame.equals(case["reference"])
    assert result.layout.name == layout
    assert result.rows_read == 30_000
    assert result.mode == ("lines-direct" if source == "csv" else "lines-pipe")
    assert result.member == (
        None if source == "csv" else "legacy.csv" if layout == "legacy" else "current.csv"
    )


@pytest.mark.parametrize("layout", ["legacy", "current"])
def test_direct_and_pipe_reads_agree(generated, layout: str) -> None:
    case = generated[layout]
    direct = read_epd_file(case["csv"], MONTHS[layout], where="t", mode="direct")
    piped = read_epd_file(case["csv"], MONTHS[layout], where="t", mode="pipe")
    assert direct.mode == "lines-direct" and piped.mode == "lines-pipe"
    assert direct.frame.equals(piped.frame)
    assert direct.rows_read == piped.rows_read == 30_000
    # The generated file has practices with Latin-1 names: the direct read re-read them.
    assert direct.latin1 > 0


def test_normalising_the_raw_rows_agrees_up_to_float_rounding(generated) -> None:
    """normalise() on unaggregated rows sums floats; the bulk route sums exactly."""
    case = generated["legacy"]
    raw = pl.read_csv(case["csv"], infer_schema=False, encoding="latin1")
    layout = detect_layout(raw.columns, where="t")
    naive = normalise(raw, layout, MONTHS["legacy"], where="t")
    result = read_epd_file(case["csv"], MONTHS["legacy"], where="t")
    assert_frame_equal(result.frame, naive, check_exact=False, rel_tol=1e-12)


def test_the_frame_has_the_generated_opioid_rows(generated) -> None:
    case = generated["current"]
    result = read_epd_file(case["zip"], MONTHS["current"], where="t")
    assert int(result.frame["source_rows"].sum()) == case["info"]["opioid_rows"]  # type: ignore[index]
    assert result.frame["bnf_code"].str.starts_with("0407").all()
    assert not result.frame["bnf_code"].str.starts_with("0410").any()


def test_latin1_names_survive_in_both_ways_in(generated) -> None:
    case = generated["legacy"]
    for mode in ("direct", "pipe"):
        frame = read_epd_file(case["csv"], MONTHS["legacy"], where="t", mode=mode).frame
        names = set(frame["practice_name"].to_list())
        assert "CAFÉ QUARTER SURGERY" in names, mode


def _write(path: Path, header: str, rows: list[str], *, encoding: str = "latin-1") -> Path:
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


LEGACY_HEADER = (
    "YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,ICB_NAME,ICB_CODE,PCO_NAME,PCO_CODE,"
    "PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,"
    "BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,"
    "ACTUAL_COST,UNIDENTIFIED"
)


def _row(
    practice: str, name: str, bnf: str, qty: str, items: str, nic: str, addr: str = "X"
) -> str:
    return (
        f"202409,R,Y63,I,QSN,P,97A,{name},{practice},{addr},{bnf[:9]},Chem,{bnf},Desc,"
        f"04: CNS,{qty},{items},{float(qty) * int(items):g},1,{nic},{nic},False"
    )


def test_accents_in_opioid_and_other_rows_and_quoted_fields(tmp_path: Path) -> None:
    rows = [
        _row("A00001", "CAFÉ SURGERY", "0407010F0AAAHAH", "100", "2", "0.1"),
        _row("A00001", "CAFÉ SURGERY", "0407010F0AAAHAH", "30", "1", "0.2"),
        _row("A00001", "CAFÉ SURGERY", "0212000B0AAABAB", "28", "1", "0.3"),
        _row("A00002", "PLAIN", "0407020C0AAAEAE", "28", "1", "0.7", addr='"1, CÔTE ROAD"'),
        _row("A00002", "PLAIN", "0407020C0AAAEAE", "56", "3", "0.1"),
    ]
    path = _write(tmp_path / "t.csv", LEGACY_HEADER, rows)
    expected = reference_frame(path, MONTHS["legacy"])
    for mode in ("direct", "pipe"):
        result = read_epd_file(path, MONTHS["legacy"], where="t", mode=mode)
        assert result.frame.equals(expected), mode
        assert result.rows_read == 5
    frame = expected.sort("practice_code")
    assert frame["practice_name"].to_list() == ["CAFÉ SURGERY", "PLAIN"]
    # Exact decimal sums: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
    assert frame["nic"].to_list() == [0.3, 0.8]
    assert frame["source_rows"].to_list() == [2, 2]


def test_utf8_with_bom_is_read_as_utf8(tmp_path: Path) -> None:
    rows = [_row("A00001", "CAFÉ SURGERY", "0407010F0AAAHAH", "100", "2", "1.5")]
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([LEGACY_HEADER, *rows]) + "\n").encode())
    result = read_epd_file(path, MONTHS["legacy"], where="t")
    assert result.encoding == "utf-8"
    assert result.frame["practice_name"].to_list() == ["CAFÉ SURGERY"]


def test_crlf_line_endings(tmp_path: Path) -> None:
    rows = [_row("A00001", "N", "0407010F0AAAHAH", "100", "2", "1.5")] * 3
    path = tmp_path / "crlf.csv"
    path.write_bytes(("\r\n".join([LEGACY_HEADER, *rows]) + "\r\n").encode())
    for mode in ("direct", "pipe"):
        result = read_epd_file(path, MONTHS["legacy"], where="t", mode=mode)
        assert result.frame["source_rows"].to_list() == [3]
        assert result.rows_read == 3


def test_non_numeric_measure_in_an_opioid_row_fails_naming_it(tmp_path: Path) -> None:
    rows = [_row("A00001", "N", "0407010F0AAAHAH", "100", "2", "1.5").replace(",100,", ",N/A,")]
    path = _write(tmp_path / "bad.csv", LEGACY_HEADER, rows)
    for mode in ("direct", "pipe"):
        with pytest.raises(SchemaError, match="N/A"):
            read_epd_file(path, MONTHS["legacy"], where="EPD_202409", mode=mode)


def test_a_malformed_row_fails(tmp_path: Path) -> None:
    rows = [_row("A00001", "N", "0407010F0AAAHAH", "100", "2", "1.5") + ",EXTRA"]
    path = _write(tmp_path / "bad.csv", LEGACY_HEADER, rows)
    for mode in ("direct", "pipe"):
        with pytest.raises(SchemaError, match="EPD_202409"):
            read_epd_file(path, MONTHS["legacy"], where="EPD_202409", mode=mode)


def test_a_repeated_row_is_counted_as_a_duplicate(tmp_path: Path) -> None:
    """Two rows with the same practice, presentation and pack size double-count."""
    row = _row("A00001", "N", "0407010F0AAAHAH", "100", "2", "1.5")
    path = _write(tmp_path / "dup.csv", LEGACY_HEADER, [row, row, _row("A00001", "N",
                  "0407010F0AAAHAH", "30", "1", "1")])  # fmt: skip
    for mode in ("direct", "pipe"):
        frame = read_epd_file(path, MONTHS["legacy"], where="t", mode=mode).frame
        assert frame["source_rows"].to_list() == [3]
        assert frame["duplicate_rows"].to_list() == [1]
    assert reference_frame(path, MONTHS["legacy"])["duplicate_rows"].to_list() == [1]


def test_unknown_header_fails_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "h.csv", "A,B,C", ["1,2,3"])
    with pytest.raises(SchemaError, match="neither EPD layout"):
        read_epd_file(path, MONTHS["legacy"], where="t")


def test_zip_must_hold_one_csv(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", LEGACY_HEADER + "\n")
        zf.writestr("b.csv", LEGACY_HEADER + "\n")
    with pytest.raises(SourceError, match="expected one CSV"):
        read_epd_file(path, MONTHS["legacy"], where="t")


def test_corrupt_zip_member_is_a_source_error(generated, tmp_path: Path) -> None:
    data = bytearray(Path(generated["legacy"]["zip"]).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # damage the deflate stream
    path = tmp_path / "broken.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError):
        read_epd_file(path, MONTHS["legacy"], where="t")


def test_member_hash_is_checked(generated) -> None:
    import hashlib

    case = generated["legacy"]
    digest = hashlib.sha256(Path(case["csv"]).read_bytes()).hexdigest()
    ok = read_epd_file(case["zip"], MONTHS["legacy"], where="t", expected_hash=("sha256", digest))
    assert ok.hash_checked == "sha256"
    with pytest.raises(SourceError, match="sha256"):
        read_epd_file(case["zip"], MONTHS["legacy"], where="t", expected_hash=("sha256", "0" * 64))


def test_lines_that_cannot_be_located_fall_back_to_the_pipe(generated, monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> list[bytes]:
        raise bulk_rejects.Fallback("test")

    monkeypatch.setattr(bulk_rejects, "_records_at", refuse)
    case = generated["legacy"]
    result = read_epd_file(case["csv"], MONTHS["legacy"], where="t")
    assert result.mode == "full-pipe"
    assert result.frame.equals(case["reference"])
    assert result.rows_read == 30_000


@pytest.mark.parametrize("mode", ["direct", "pipe"])
def test_a_quoted_newline_falls_back_to_parsing_every_row(tmp_path: Path, mode: str) -> None:
    """A record split across lines defeats the line filter; the full parse handles it."""
    rows = [
        _row("A00001", "N", "0407010F0AAAHAH", "100", "2", "1.5", addr='"FLAT 1\nHIGH ST"'),
        _row("A00002", "N", "0407010F0AAAHAH", "100", "1", "2.5"),
    ]
    path = _write(tmp_path / "nl.csv", LEGACY_HEADER, rows)
    result = read_epd_file(path, MONTHS["legacy"], where="t", mode=mode)
    assert result.mode == f"full-{mode}"
    assert result.frame["source_rows"].to_list() == [1, 1]
    assert result.frame.equals(reference_frame(path, MONTHS["legacy"]))
