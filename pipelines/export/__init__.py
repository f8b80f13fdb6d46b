"""One organisation's practices in one file: ``opioids export``.

Medicines optimisation teams work on an area (an ICB, a sub-ICB location, a PCN) and want
all of it in one go, in the tool they already use. :func:`export_organisation` reads the
published extract (read-only, so it never competes with a publication) and writes every
practice of the organisation, every comparator, variant, denominator and period, for the
last 12 months in the extract, beside the national context of the same month and key
(deciles, national rate, funnel limits and flags, percentile rank, SPC signal) and the
organisation's own value:

* ``csv`` and ``parquet``: one tidy long table, one row per practice x month x
  comparator key, the same columns in both (see :data:`EXPORT_COLUMNS`);
* ``xlsx``: an "About" sheet (what, when, where from, method caveats and every column
  explained), the practices, the organisation's own values, then one sheet per
  comparator. One sheet per comparator rather than one tidy sheet, because each
  comparator has its own units (items per 1,000, mg OME per day per 1,000, percent of
  items): on its own sheet a value column has one number format and one meaning, and
  filtering to one comparator - the first thing everyone does - is already done. The
  tidy table is what the CSV and Parquet files are for.

Every file is written under a temporary name beside the target and renamed over it, so a
reader never sees half a file and a failed export leaves any previous one untouched.
"""

from pipelines.export.columns import EXPORT_COLUMNS, FORMATS, LEVELS
from pipelines.export.organisation import (
    ExportData,
    ExportError,
    Organisation,
    default_filename,
    export_organisation,
    read_export,
)
from pipelines.export.xlsx import sheet_name

__all__ = [
    "EXPORT_COLUMNS",
    "FORMATS",
    "LEVELS",
    "ExportData",
    "ExportError",
    "Organisation",
    "default_filename",
    "export_organisation",
    "read_export",
    "sheet_name",
]
