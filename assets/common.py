"""What every asset module shares: owners and the metadata preview format."""

import polars as pl
from dagster import MetadataValue

OWNERS = ["team:medicines-optimisation-data"]
PREVIEW_ROWS = 10


def preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> MetadataValue:
    """A short Markdown table, so a data engineer can eyeball a run in the UI."""
    head = frame.head(rows)
    if head.height == 0:
        return MetadataValue.md("_no rows_")
    header = "| " + " | ".join(head.columns) + " |"
    rule = "| " + " | ".join("---" for _ in head.columns) + " |"
    body = [
        "| " + " | ".join("" if v is None else _fmt(v) for v in row) + " |" for row in head.rows()
    ]
    return MetadataValue.md("\n".join([header, rule, *body]))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v).replace("|", "\\|")
