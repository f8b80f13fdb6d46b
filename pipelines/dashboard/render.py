"""Pages from Jinja2 templates: the organisation pages, the practice pages, methodology.

Each page carries its own data as JSON inside the page (``<script type="application/json">``)
so it works from ``file://`` where a page cannot fetch files; the data shared by every
page (``data/national.js``) and the league tables (``data/league/...``) are scripts, which
browsers load from ``file://`` as well.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt

from pipelines.dashboard.data import LEVEL_LABELS, LEVELS, Organisation, SiteData

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
METHODOLOGY_DOC = "methodology.md"


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the plotly wheel (the only charting code)."""
    path = Path(str(importlib.resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js is missing from the plotly package ({path})")
    return path


def copy_assets(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plotly_js(), target / "plotly.min.js")
    for name in ("dashboard.js", "dashboard.css"):
        shutil.copyfile(STATIC / name, target / name)


def _embed(payload: str) -> str:
    """JSON text made safe inside a <script> element."""
    return payload.replace("</", "<\\/")


def _when(iso: str | None) -> str:
    if not iso:
        return "not recorded"
    try:
        return datetime.fromisoformat(iso).strftime("%d %B %Y, %H:%M UTC")
    except ValueError:
        return iso


class Renderer:
    def __init__(
        self,
        site: SiteData,
        published_at: str,
        downloads: Path,
        workbooks: set[tuple[str, str]] | None = None,
    ) -> None:
        self.site = site
        self.downloads = downloads
        # Workbooks being written (by another process) for these (level, code): linked
        # now, and checked to exist once written, before the site is published.
        self.workbooks = workbooks or set()
        self.practices = {p["practice_code"]: p for p in site.practices}
        self.members: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for p in site.practices:
            self.members.setdefault(("england", "ENG"), []).append(p)
            for level in LEVELS[1:]:
                code = p[_LEVEL_COLUMN[level]]
                if code:
                    self.members.setdefault((level, code), []).append(p)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=jinja2.select_autoescape(["html", "j2"]),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        publication = site.publication
        epd = publication.get("sources", {}).get("epd", [])
        self.common = {
            "data_month": f"{site.latest_month:%B %Y}",
            "data_month_iso": f"{site.latest_month:%Y-%m}",
            "first_month": f"{site.months[0]:%B %Y}",
            "published_at": _when(published_at),
            "published_at_iso": published_at,
            "epd_first": epd[0].get("resource_name") if epd else None,
            "epd_last": epd[-1].get("resource_name") if epd else None,
            "epd_count": len(epd),
            "comparators": self._comparators(),
            "level_labels": LEVEL_LABELS,
        }

    def _comparators(self) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for key in self.site.keys:
            entry = seen.setdefault(
                key["comparator_id"],
                {"id": key["comparator_id"], "title": key["title"], "order": key["sort_order"]},
            )
            entry.setdefault("denominators", set()).add(key["denominator_type"])
        return sorted(seen.values(), key=lambda c: (c["order"], c["id"]))

    # -- navigation -----------------------------------------------------------------------

    def _crumbs(self, level: str, code: str, root: str) -> list[tuple[str, str | None]]:
        chain: list[Organisation] = []
        org = self.site.organisations.get((level, code))
        while org is not None:
            chain.append(org)
            org = self.site.organisations.get(org.parent) if org.parent else None
        from pipelines.dashboard.site import page_path

        return [(o.name, root + page_path(o.level, o.code)) for o in reversed(chain)]

    def _downloads(self, level: str, code: str, root: str) -> list[tuple[str, str]]:
        links = []
        if (self.downloads / level / f"{code}.csv").is_file():
            links.append(
                (
                    f"{LEVEL_LABELS[level]} {code if level != 'england' else ''}".strip()
                    + ": practices, latest month, every comparator (CSV)",
                    f"{root}downloads/{level}/{code}.csv",
                )
            )
        workbook = self._workbook(level, code, root)
        if workbook is not None:
            links.append(workbook)
        links.append(("All published tables, every month (CSV and Parquet)", f"{root}../files/"))
        return links

    def _workbook(self, level: str, code: str, root: str) -> tuple[str, str] | None:
        """The link to the workbook of ``(level, code)``, or of the nearest organisation
        above it with one (practices have none of their own, ADR 0023), with a
        label that says whose it is."""
        key: tuple[str, str] | None = (level, code)
        if level == "practice":
            # From its PCN (or sub-ICB location) up to the first with a workbook.
            practice = self.practices.get(code) or {}
            pcn, sub_icb = practice.get("pcn_code"), practice.get("sub_icb_code")
            key = ("pcn", pcn) if pcn else ("sub_icb", sub_icb) if sub_icb else ("england", "ENG")
        while key is not None and key not in self.workbooks:
            org = self.site.organisations.get(key)
            key = org.parent if org else None
        if key is None:
            return None
        href = f"{root}downloads/{key[0]}/{key[1]}.xlsx"
        what = "summary of the practices, latest month, and trend charts (xlsx)"
        if key == (level, code):
            own = f"{LEVEL_LABELS[level]} {code if level != 'england' else ''}".strip()
            return f"{own}: workbook, {what}", href
        owner = self.site.organisations[key]
        included = (
            "this practice" if level == "practice" else f"this {LEVEL_LABELS[level]}'s practices"
        )
        return (
            f"Its {LEVEL_LABELS[key[0]].replace('Sub-', 'sub-')}'s workbook, {included} "
            f"included: {owner.name}, {what}",
            href,
        )

    def _page(self, template: str, root: str, **context: Any) -> str:
        return self.env.get_template(template).render(root=root, **self.common, **context)

    # -- pages ----------------------------------------------------------------------------

    def organisation(
        self, org: Organisation, series: str, rel: str, league: str | None = None
    ) -> str:
        root = "" if org.level == "england" else "../"
        practices = self.members.get((org.level, org.code), [])
        members = {
            p["practice_code"]: [p["practice_name"], p["pcn_code"], p["latest_patients"]]
            for p in practices
        }
        from pipelines.dashboard.site import page_path

        children = [
            {
                "name": c.name,
                "code": c.code,
                "href": root + page_path(c.level, c.code),
                "n": c.n_practices,
                "level": LEVEL_LABELS[c.level],
            }
            for c in sorted(org.children, key=lambda c: c.name)
        ]
        payload = (
            '{"kind":"organisation","level":'
            + json.dumps(org.level)
            + ',"code":'
            + json.dumps(org.code)
            + ',"name":'
            + json.dumps(org.name)
            + ',"members":'
            + json.dumps(members, separators=(",", ":"))
            + ',"series":'
            + series
            + (',"league":' + league if league is not None else "")
            + "}"
        )
        return self._page(
            "organisation.html.j2",
            root,
            page_kind="organisation",
            title=f"{org.name}" + ("" if org.level == "england" else f" ({org.code})"),
            org=org,
            level_label=LEVEL_LABELS[org.level],
            crumbs=self._crumbs(org.level, org.code, root),
            children=children,
            n_members=len(members),
            downloads=self._downloads(org.level, org.code, root),
            page_data=_embed(payload),
        )

    def practice(
        self, practice: dict[str, Any], series: str, products: str | None, rel: str
    ) -> str:
        root = "../"
        code = practice["practice_code"]
        crumbs = (
            self._crumbs("pcn", practice["pcn_code"], root)
            if practice["pcn_code"]
            else (self._crumbs("sub_icb", practice["sub_icb_code"], root))
        )
        payload = (
            '{"kind":"practice","level":"practice","code":'
            + json.dumps(code)
            + ',"name":'
            + json.dumps(practice["practice_name"])
            + ',"series":'
            + series
            + ',"products":'
            + (products or "null")
            + "}"
        )
        downloads = self._downloads("practice", code, root)
        if (
            practice["pcn_code"]
            and (self.downloads / "pcn" / f"{practice['pcn_code']}.csv").is_file()
        ):
            downloads.insert(
                0,
                (
                    f"Its PCN, {practice['pcn_name']}: practices, latest month (CSV)",
                    f"{root}downloads/pcn/{practice['pcn_code']}.csv",
                ),
            )
        return self._page(
            "practice.html.j2",
            root,
            page_kind="practice",
            title=f"{practice['practice_name']} ({code})",
            practice=practice,
            crumbs=[*crumbs, (f"{practice['practice_name']}", None)],
            downloads=downloads,
            page_data=_embed(payload),
        )

    def methodology(self) -> str:
        text = self.site.documents.get(METHODOLOGY_DOC, "_The extract carries no methodology._")
        body = MarkdownIt("commonmark").enable("table").render(text)
        publication = self.site.publication
        return self._page(
            "methodology.html.j2",
            "",
            page_kind="methodology",
            title="Methodology and sources",
            crumbs=[("England", "index.html"), ("Methodology", None)],
            body=body,
            sources=publication.get("sources", {}),
            downloads=[("All published tables, every month (CSV and Parquet)", "../files/")],
            page_data="{}",
        )


_LEVEL_COLUMN = {
    "region": "region_code",
    "icb": "icb_code",
    "sub_icb": "sub_icb_code",
    "pcn": "pcn_code",
}
