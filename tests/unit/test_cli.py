"""The command line as a user meets it: help with examples, a version, and expected
failures told in a line or two, checked before any work starts."""

from __future__ import annotations

import pytest

from pipelines.cli import main, main_group
from pipelines.config import setting_docs

SUBCOMMANDS = sorted(main_group.commands)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("opioids, version ")


def test_top_level_help_lists_examples_and_every_setting(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Examples:" in out
    for doc in setting_docs():
        assert doc.env in out


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_an_example(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out, command
    # Every option says what it is for.
    for param in main_group.commands[command].params:
        if param.param_type_name == "option" and param.name != "help":
            assert param.help, f"{command} --{param.name} has no help text"


def test_a_malformed_month_is_one_line(capsys) -> None:
    assert main(["refresh", "--from", "2025/01", "--to", "2025-02"]) == 2
    err = capsys.readouterr().err
    assert len(_lines(err)) <= 3 and "YYYY-MM" in err and "Traceback" not in err


def test_months_in_the_wrong_order_are_one_line(capsys) -> None:
    assert main(["refresh", "--from", "2025-03", "--to", "2025-01"]) == 2
    err = capsys.readouterr().err
    assert _lines(err) == ["error: --to 2025-01 is before --from 2025-03"]


def test_a_month_outside_the_partitions_is_refused_before_any_work(
    capsys, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("OPIOIDS_DATA_DIR", str(tmp_path / "data"))
    assert main(["refresh", "--from", "2019-01", "--to", "2019-02"]) == 2
    err = capsys.readouterr().err
    assert "2019-01 is outside the monthly partitions" in err
    assert "OPIOIDS_FIRST_MONTH" in err and len(_lines(err)) <= 2
    assert not (tmp_path / "data").exists()  # nothing was started


def test_a_bad_setting_is_named(capsys, monkeypatch) -> None:
    monkeypatch.setenv("OPIOIDS_FETCH_ROUTE", "carrier-pigeon")
    assert main(["refresh", "--from", "2025-01", "--to", "2025-01"]) == 2
    err = capsys.readouterr().err
    assert _lines(err) == [
        "error: OPIOIDS_FETCH_ROUTE must be one of sql, bulk, auto, not 'carrier-pigeon'"
    ]


def test_an_unknown_option_is_a_usage_error(capsys) -> None:
    assert main(["refresh", "--form", "2025-01"]) == 2
    err = capsys.readouterr().err
    assert "No such option" in err and "Traceback" not in err


def test_a_refresh_runs_contiguous_months_as_one_range_each() -> None:
    from datetime import date

    from pipelines.runner import contiguous_blocks

    months = [date(2020, 11, 1), date(2014, 1, 1), date(2014, 2, 1), date(2020, 10, 1)]
    assert contiguous_blocks(months) == [
        [date(2014, 1, 1), date(2014, 2, 1)],
        [date(2020, 10, 1), date(2020, 11, 1)],
    ]
    assert contiguous_blocks([date(2024, 12, 1), date(2025, 1, 1)]) == [
        [date(2024, 12, 1), date(2025, 1, 1)]
    ]
