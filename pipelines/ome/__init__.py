"""OME resolver: BNF presentation code and name to opioid mg, route and OME factor.

Public API::

    from pipelines.ome import (
        load_reference, resolve, resolve_frame, RESOLUTION_COLUMNS, write_ome_csv,
        canonical_chemical_code,
    )
"""

from pipelines.ome.reference import (
    DEFAULT_FACTOR_SET,
    Reference,
    canonical_chemical_code,
    load_reference,
)
from pipelines.ome.resolve import (
    RESOLUTION_COLUMNS,
    RESOLUTION_SCHEMA,
    Resolution,
    resolve,
    resolve_frame,
    write_ome_csv,
)

__all__ = [
    "DEFAULT_FACTOR_SET",
    "RESOLUTION_COLUMNS",
    "RESOLUTION_SCHEMA",
    "Reference",
    "Resolution",
    "canonical_chemical_code",
    "load_reference",
    "resolve",
    "resolve_frame",
    "write_ome_csv",
]
