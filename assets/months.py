"""One step for one month or for a range of months.

A scheduled or sensor-requested run materialises one month. The CLI and a backfill launched
from the UI run a range of months in one step (the monthly assets have a single-run
backfill policy), so N months cost one Dagster run rather than N.

Either way the months are written in order and the first month a critical check rejects
stops the step: its check results are recorded against that month's partition (observed
values and failing rows included), the step fails, and no materialisation is recorded, so
the partition shows as failed and declarative automation does not see it as updated.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetExecutionContext,
    AssetRecordsFilter,
    DataVersion,
    Failure,
    MaterializeResult,
    Output,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from assets.common import Rejected
from pipelines.partitions import partition_month


@dataclass
class Written:
    """What one month's write reports: its metadata, checks and data version."""

    metadata: dict[str, Any]
    checks: list[AssetCheckResult] = field(default_factory=list)
    data_version: DataVersion | None = None


def write_months(
    context: AssetExecutionContext, write: Callable[[date], Written]
) -> Generator[Any, None, dict[str, Written]]:
    """Write each month of the step in order; on a rejection, record its checks and fail.

    Use as ``written = yield from write_months(context, write)`` inside the asset, inside
    any transaction that must roll back when a month is rejected.
    """
    written: dict[str, Written] = {}
    for key in context.partition_keys:
        try:
            written[key] = write(partition_month(key))
        except Rejected as rejected:
            if context.has_partition_key:
                yield from rejected.checks
            else:
                yield from _evaluations(context, {key: rejected.checks}, {})
            raise Failure(
                description=rejected.message, metadata={"month": key[:7], **rejected.metadata}
            ) from None
    return written


def report_months(context: AssetExecutionContext, written: dict[str, Written]) -> Iterator[Any]:
    """The materialisation of every written month, each with its own metadata and checks."""
    if context.has_partition_key:
        (month,) = written.values()
        yield MaterializeResult(
            metadata=month.metadata, check_results=month.checks, data_version=month.data_version
        )
        return
    for key, month in written.items():
        context.add_asset_metadata(month.metadata, partition_key=key)
    yield MaterializeResult()
    for name, spec in context.assets_def.check_specs_by_output_name.items():
        if spec.key in context.selected_asset_check_keys:
            yield Output(None, output_name=name)
    yield from _evaluations(
        context, {k: m.checks for k, m in written.items()}, _materializations(context, written)
    )


def _materializations(
    context: AssetExecutionContext, written: dict[str, Written]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """This run's materialisation of each month, which its check results refer to."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=list(written)),
        limit=len(written),
    ).records
    return {
        r.partition_key: AssetCheckEvaluationTargetMaterializationData(
            storage_id=r.storage_id, run_id=r.run_id, timestamp=r.timestamp
        )
        for r in records
        if r.run_id == context.run_id and r.partition_key is not None
    }


def _evaluations(
    context: AssetExecutionContext,
    checks: dict[str, list[AssetCheckResult]],
    targets: dict[str, AssetCheckEvaluationTargetMaterializationData],
) -> Iterator[AssetCheckEvaluation]:
    """Check results of a range step, each recorded against its own month's partition
    (Dagster attaches an ``AssetCheckResult`` only to a single-partition step's key)."""
    blocking = {spec.name: spec.blocking for spec in context.assets_def.check_specs}
    for key, results in checks.items():
        for result in results:
            yield AssetCheckEvaluation(
                asset_key=context.asset_key,
                check_name=str(result.check_name),
                passed=result.passed,
                metadata=result.metadata,
                target_materialization_data=targets.get(key),
                severity=result.severity,
                description=result.description,
                blocking=blocking.get(str(result.check_name), False),
                partition=key,
            )
