"""Great Expectations suites, run as Dagster asset checks beside their assets.

Each suite is hand-written JSON in ``expectations/``; each expectation in it is one asset
check, named by its ``meta.check``, with ``meta.severity`` ``critical`` (blocking: the
asset writes nothing and downstream assets and the publication do not run) or
``warning`` (shown in the UI, run continues). Values that depend on configuration or on
the previous month are written ``{"$PARAMETER": "name"}`` and filled in here before the
suite is built, so a missing parameter (e.g. no previous month yet) skips that check
explicitly instead of passing silently.

Great Expectations has no Polars or DuckDB support that works, so frames are validated as
pandas; it is imported lazily because importing it costs seconds and hundreds of MB, and
the code location must load fast.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    PartitionsDefinition,
)
from dagster._utils.warnings import PreviewWarning

from pipelines.config import EXPECTATIONS_DIR

SEVERITIES = ("critical", "warning")
SAMPLE_ROWS = 5


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file and the expectation."""


@dataclass(frozen=True)
class Expectation:
    check: str
    type: str
    kwargs: dict[str, Any]
    severity: str
    description: str


@dataclass(frozen=True)
class Suite:
    name: str
    asset: str
    expectations: tuple[Expectation, ...]

    def check_specs(
        self, partitions_def: PartitionsDefinition | None = None
    ) -> list[AssetCheckSpec]:
        """One Dagster check per expectation; critical ones block downstream assets.

        A partitioned asset's checks take its partitions, so each result is attached to
        the partition it judged (the UI shows a check's status per month). Dagster 1.13
        marks partitioned checks as a preview; the warning says nothing a user can act on.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PreviewWarning)
            return self._check_specs(partitions_def)

    def _check_specs(self, partitions_def: PartitionsDefinition | None) -> list[AssetCheckSpec]:
        return [
            AssetCheckSpec(
                name=e.check,
                asset=self.asset,
                blocking=e.severity == "critical",
                description=f"[{e.severity}] {e.description}",
                partitions_def=partitions_def,
            )
            for e in self.expectations
        ]


@cache
def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> Suite:
    path = directory / f"{name}.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SuiteError(f"{path}: cannot read suite ({exc})") from exc
    asset = doc.get("meta", {}).get("asset")
    if doc.get("name") != name or not asset:
        raise SuiteError(f"{path}: 'name' must be {name!r} and meta.asset must name the asset")
    expectations, seen = [], set()
    for i, raw in enumerate(doc.get("expectations", [])):
        meta = raw.get("meta", {})
        where = f"{path.name} expectation {i + 1}"
        check, severity = meta.get("check"), meta.get("severity")
        if not check or check in seen:
            raise SuiteError(f"{where}: meta.check missing or repeated ({check!r})")
        if severity not in SEVERITIES:
            raise SuiteError(f"{where}: meta.severity must be one of {SEVERITIES}")
        if not meta.get("description"):
            raise SuiteError(f"{where}: meta.description is required (it is shown in the UI)")
        seen.add(check)
        expectations.append(
            Expectation(
                check, raw["type"], dict(raw.get("kwargs", {})), severity, meta["description"]
            )
        )
    if not expectations:
        raise SuiteError(f"{path}: no expectations")
    return Suite(name=name, asset=asset, expectations=tuple(expectations))


@dataclass
class CheckOutcome:
    """What one expectation found, in the terms a data engineer reads in the UI."""

    check: str
    severity: str
    description: str
    passed: bool
    skipped: bool = False
    observed_value: Any = None
    unexpected_count: int | None = None
    sample: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def blocking_failure(self) -> bool:
        return not self.passed and self.severity == "critical"

    def summary(self, where: str = "") -> str:
        prefix = f"{where}: " if where else ""
        if self.skipped:
            return f"{prefix}{self.check} skipped ({self.observed_value})"
        parts = [f"{prefix}{self.check} {'passed' if self.passed else 'FAILED'}"]
        if self.observed_value is not None:
            parts.append(f"observed {self.observed_value}")
        if self.unexpected_count:
            parts.append(f"{self.unexpected_count} unexpected row(s)")
        if self.sample and not self.passed:
            parts.append(f"first failing row {self.sample[0]}")
        if self.error:
            parts.append(f"error: {self.error}")
        return "; ".join(parts) + f" ({self.description})"

    def to_check_result(self, asset_key: str, where: str = "") -> AssetCheckResult:
        """``where`` names the month and resource, so the check says what it looked at."""
        metadata: dict[str, Any] = {
            "severity": self.severity,
            "description": self.description,
            "skipped": self.skipped,
            "observed_value": MetadataValue.text(_text(self.observed_value)),
            "unexpected_count": MetadataValue.int(int(self.unexpected_count or 0)),
        }
        if self.sample:
            metadata["failing_rows_sample"] = MetadataValue.json(self.sample)
        if self.error:
            metadata["error"] = self.error
        if where:
            metadata["checked"] = where
        return AssetCheckResult(
            asset_key=asset_key,
            check_name=self.check,
            passed=self.passed,
            severity=AssetCheckSeverity.ERROR
            if self.severity == "critical"
            else AssetCheckSeverity.WARN,
            metadata=metadata,
            description=self.summary(where),
        )


def _text(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _resolve(value: Any, parameters: dict[str, Any], missing: list[str]) -> Any:
    if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
        name = value["$PARAMETER"]
        if parameters.get(name) is None:
            missing.append(name)
            return None
        return parameters[name]
    if isinstance(value, list):
        return [_resolve(v, parameters, missing) for v in value]
    return value


@cache
def _validator() -> Any:
    """One ephemeral Great Expectations context per process, with progress bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("frames")
    return source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")


def validate(
    frame: pl.DataFrame, suite: Suite, parameters: dict[str, Any] | None = None
) -> list[CheckOutcome]:
    """Run a suite on a frame; every expectation yields an outcome, in suite order."""
    import great_expectations as gx

    parameters = parameters or {}
    to_run, outcomes = [], {}
    for e in suite.expectations:
        missing: list[str] = []
        kwargs = {k: _resolve(v, parameters, missing) for k, v in e.kwargs.items()}
        if missing:
            outcomes[e.check] = CheckOutcome(
                e.check, e.severity, e.description, passed=True, skipped=True,
                observed_value=f"no value for {', '.join(missing)}",
            )  # fmt: skip
            continue
        to_run.append({"type": e.type, "kwargs": kwargs, "meta": {"check": e.check}})
    by_name = {e.check: e for e in suite.expectations}
    if to_run:
        pandas_frame = frame.to_pandas()
        gx_suite = gx.ExpectationSuite(name=suite.name, expectations=to_run)
        batch = _validator().get_batch(batch_parameters={"dataframe": pandas_frame})
        result = batch.validate(gx_suite, result_format={"result_format": "COMPLETE"})
        for r in result.results:
            check = r.expectation_config.meta["check"]
            e = by_name[check]
            detail = r.result or {}
            error = None
            if r.exception_info and r.exception_info.get("raised_exception"):
                error = str(r.exception_info.get("exception_message"))
            indices = detail.get("unexpected_index_list") or []
            outcomes[check] = CheckOutcome(
                check=check,
                severity=e.severity,
                description=e.description,
                # An expectation that errored has not shown the data is fine.
                passed=bool(r.success) and error is None,
                observed_value=_plain(detail.get("observed_value")),
                unexpected_count=detail.get("unexpected_count"),
                sample=_sample(frame, indices) if not r.success else [],
                error=error,
            )
    return [outcomes[e.check] for e in suite.expectations]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return value


def _sample(frame: pl.DataFrame, indices: list[Any]) -> list[dict[str, Any]]:
    rows = [i for i in indices if isinstance(i, int)][:SAMPLE_ROWS]
    if not rows:
        return []
    picked = frame[rows]
    return [{k: _plain_cell(v) for k, v in row.items()} for row in picked.iter_rows(named=True)]


def _plain_cell(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def failures(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [o for o in outcomes if o.blocking_failure]


def failure_message(outcomes: list[CheckOutcome], where: str) -> str:
    """One line naming what failed, for logs and the CLI."""
    failed = failures(outcomes)
    return f"{where}: {len(failed)} critical check(s) failed: " + " | ".join(
        o.summary() for o in failed
    )


def check_results(
    outcomes: list[CheckOutcome], asset_key: str, where: str
) -> list[AssetCheckResult]:
    return [o.to_check_result(asset_key, where) for o in outcomes]
