"""The static dashboard: every page built from the published extract alone.

``build_site(extract, out_dir)`` is the one entry point (the Dagster asset, the
``opioids dashboard`` command and any publication step call it); ``serve`` shows a built
site on loopback.
"""

from pipelines.dashboard.check import SiteCheckFailed
from pipelines.dashboard.data import DashboardError
from pipelines.dashboard.site import SiteBuild, build_site

__all__ = ["DashboardError", "SiteBuild", "SiteCheckFailed", "build_site"]
