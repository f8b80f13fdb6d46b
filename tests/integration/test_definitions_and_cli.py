"""The code location loads the way Dagster tools load it, and the CLI works as documented."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import REPO_ROOT

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.integration


def test_dg_check_defs_loads_the_code_location():
    done = subprocess.run(
        [str(BIN / "dg"), "check", "defs"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_every_asset_is_described_grouped_kinded_and_owned():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert len(keys) == 9
    for key in keys:
        node = graph.get(key)
        assert node.description and len(node.description) > 40, key
        assert node.group_name in {"ingest", "reference", "comparators", "publish"}, key
        assert node.owners, key
        assert node.kinds, key


def test_great_expectations_is_not_imported_when_the_code_location_loads():
    code = "import sys, pipelines.definitions; print('great_expectations' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.stdout.strip() == "False", done.stderr


def test_opioids_ome_audits_a_presentation_list(tmp_path):
    source = tmp_path / "presentations.csv"
    source.write_text(
        "bnf_code,bnf_name\n"
        "0407020A0AAABAB,Fentanyl 25micrograms/hour transdermal patches\n"
        "0407010F0AAAHAH,Co-codamol 30mg/500mg tablets\n"
    )
    done = subprocess.run(
        [str(BIN / "opioids"), "ome", str(source)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0])[:3] == ["bnf_code", "bnf_name", "chemical_code"]
    fentanyl = next(r for r in rows if r["bnf_code"] == "0407020A0AAABAB")
    codamol = next(r for r in rows if r["bnf_code"] == "0407010F0AAAHAH")
    assert float(codamol["ome_mg_per_unit"]) == pytest.approx(3.0)
    assert float(fentanyl["mg_per_unit"]) == pytest.approx(1.8)
    assert float(fentanyl["ome_mg_per_unit"]) == pytest.approx(180)
    assert float(fentanyl["likely_daily_ome_mg"]) == pytest.approx(60)


def test_opioids_ome_rejects_a_file_without_the_columns(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("code,name\nx,y\n")
    done = subprocess.run(
        [str(BIN / "opioids"), "ome", str(source)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "bnf_code" in done.stderr
