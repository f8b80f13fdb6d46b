"""The static dashboard: every page built from the published extract alone.

``build_site(extract, out_dir)`` builds and checks a site from an extract. A publication
carries its dashboard: ``ReleaseSite`` builds it into a new publication before the switch
(``publish(..., add_to_release=...)``), and ``rebuild_dashboard`` makes a new publication
of the current extract with a rebuilt dashboard. ``serve`` shows a built site on loopback.
"""

from pipelines.dashboard.check import SiteCheckFailed
from pipelines.dashboard.data import DashboardError
from pipelines.dashboard.site import ReleaseSite, SiteBuild, build_site, rebuild_dashboard

__all__ = [
    "DashboardError",
    "ReleaseSite",
    "SiteBuild",
    "SiteCheckFailed",
    "build_site",
    "rebuild_dashboard",
]
