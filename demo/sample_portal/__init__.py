"""The bundled sample portal: deterministic sample data and a loopback HTTP server.

It serves the NHSBSA CKAN portal, NHS England's list-size publication pages and the ODS
``epraccur`` file with the real paths, shapes and quirks, so tests and the offline demo
exercise the pipeline's production HTTP code rather than a mock.
"""

from demo.sample_portal.faults import FaultSpec
from demo.sample_portal.generator import GENERATOR_VERSION, SampleManifest, generate_sample
from demo.sample_portal.server import SamplePortal, serve_forever

__all__ = [
    "GENERATOR_VERSION",
    "FaultSpec",
    "SampleManifest",
    "SamplePortal",
    "generate_sample",
    "serve_forever",
]
