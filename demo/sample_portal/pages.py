"""HTML pages the sample portal serves: its own front page and the list-size publication.

The list-size pages copy the *shape* of NHS England's publication pages that a client
relies on (an index linking month pages at ``.../<month>-<year>``, month pages linking
files at hashed paths) and surround those links with the kind of unrelated links real
pages carry, so a client that picks links by shape is exercised and one that takes "the
first link" is caught.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from demo.sample_portal import generator as gen

LIST_SIZE_INDEX_PATH = (
    "/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
)
ODS_PATH = "/assets/ods/current/epraccur.zip"
_TITLE = "Patients Registered at a GP Practice"

_FILE_LABELS = {
    "gp-reg-pat-prac-all": "Totals (GP practice-all persons)",
    "gp-reg-pat-prac-sing-age-male": "Single year of age (GP practice-males)",
    "gp-reg-pat-prac-sing-age-female": "Single year of age (GP practice-females)",
    "gp-reg-pat-prac-map": "Mapping (GP practice to PCN, sub-ICB location, ICB and region)",
    "gp-reg-pat-prac-quin-age": "5-year age groups (GP practice-all persons)",
}
# Links a real month page also carries; they point nowhere useful here (404), on purpose.
_UNRELATED_FILES = (
    ("gp-reg-pat-prac-quin-age.csv", "5-year age groups (GP practice-all persons)"),
    ("gp-reg-pat-prac-lsoa-all.zip", "LSOA (GP practice-all persons)"),
    ("gp-reg-pat-prac-metadata.pdf", "Metadata"),
)


def _month_label(month: str) -> str:
    return date(int(month[:4]), int(month[5:]), 1).strftime("%B %Y")


def _page(title: str, body: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{escape(title)} - NHS England Digital (sample)</title>
<link rel="stylesheet" href="/static/css/main.css"></head>
<body>
<header class="nhsd-o-global-header">
  <a class="nhsd-a-link" href="/">NHS England Digital (sample portal)</a>
  <nav><a href="/data-and-information">Data</a> | <a href="/services">Services</a> |
  <a href="/cyber-and-data-security">Cyber and data security</a> | <a href="/search">Search</a></nav>
</header>
<main id="main-content">
{body}
</main>
<footer><a href="/about-nhs-digital">About</a> | <a href="/accessibility">Accessibility</a> |
<a href="/about-nhs-digital/privacy-and-cookies">Privacy and cookies</a></footer>
</body>
</html>
""".encode()


def list_size_index(months: Sequence[str]) -> bytes:
    """The publication series page: latest, then every past month, then upcoming."""
    newest = sorted(months, reverse=True)
    items = "\n".join(
        f'    <li class="nhsd-m-card"><a class="nhsd-a-link" '
        f'href="{LIST_SIZE_INDEX_PATH}/{gen.month_slug(m)}">{_TITLE}, {_month_label(m)}</a>'
        f" <span>Official statistics</span></li>"
        for m in newest
    )
    latest = newest[0]
    body = f"""<nav aria-label="Breadcrumb"><a href="/data-and-information">Data and information</a> /
<a href="/data-and-information/publications">Publications</a> /
<a href="/data-and-information/publications/statistical">Statistical publications</a></nav>
<h1>{_TITLE}</h1>
<p>Monthly counts of patients registered at GP practices in England, as at the first of the
month. See also <a href="/data-and-information/areas-of-interest/workforce">workforce data</a>
and <a href="/data-and-information/publications/statistical/appointments-in-general-practice">
appointments in general practice</a>.</p>
<h2>Latest statistics</h2>
<p><a class="nhsd-a-link" href="{LIST_SIZE_INDEX_PATH}/{gen.month_slug(latest)}">{_TITLE}, {_month_label(latest)}</a></p>
<h2>Past publications</h2>
<ul>
{items}
</ul>
<h2>Upcoming publications</h2>
<p>{_TITLE}, January 2026 (to be published 15 January 2026)</p>
<p><a href="/data-and-information/publications/statistical?series=gp-registered-patients">All publications in this series</a></p>
"""
    return _page(_TITLE, body)


def list_size_month(month: str, links: Mapping[str, str], base_url: str) -> bytes:
    """One month's publication page: its data files at hashed paths, among other links."""
    label = _month_label(month)
    rows = []
    for filename, path in sorted(links.items()):
        stem = filename.rsplit(".", 1)[0]
        kind = "ZIP" if filename.endswith(".zip") else "CSV"
        rows.append(
            f'  <li><a class="nhsd-a-link" href="{base_url}{path}">{_TITLE} {label}: '
            f"{_FILE_LABELS.get(stem, stem)}</a> [{kind}]</li>"
        )
    unrelated = [(f, t) for f, t in _UNRELATED_FILES if f not in links]
    for i, (filename, text) in enumerate(unrelated):
        rows.insert(
            1 + i,
            f'  <li><a class="nhsd-a-link" href="{base_url}/files/00/000000/{filename}">'
            f"{_TITLE} {label}: {text}</a></li>",
        )
    body = f"""<nav aria-label="Breadcrumb"><a href="{LIST_SIZE_INDEX_PATH}/">{_TITLE}</a></nav>
<h1>{_TITLE}, {label}</h1>
<p>Official statistics. Publication date: 15th of {label}. Geographic coverage: England.</p>
<p>The data is as at 1 {label}. <a href="/data-and-information/data-collections-and-data-sets/data-sets/personal-demographics-service">About the data source</a></p>
<h2>Resources</h2>
<ul>
{chr(10).join(rows)}
</ul>
<h2>Related links</h2>
<ul><li><a href="/services/organisation-data-service">Organisation Data Service</a></li>
<li><a href="{LIST_SIZE_INDEX_PATH}">All months</a></li></ul>
"""
    return _page(f"{_TITLE}, {label}", body)


def front_page(base_url: str, months: Sequence[str]) -> bytes:
    """What this server is, and every endpoint it offers."""
    first = gen.resource_name(months[0])
    body = f"""<h1>Sample portal</h1>
<p>A local stand-in for the three public sources of the opioid comparator pipeline, serving
deterministic, fictional sample data for {escape(months[0])} to {escape(months[-1])} with the
real sources' paths, response shapes and quirks. Nothing here is real prescribing data.</p>
<h2>NHSBSA open data portal (CKAN)</h2>
<ul>
<li><a href="/api/3/action/package_show?id=english-prescribing-dataset-epd-with-snomed-code">package_show ... epd-with-snomed-code</a></li>
<li><a href="/api/3/action/package_show?id=english-prescribing-data-epd">package_show ... english-prescribing-data-epd</a> (retired)</li>
<li>resource_show?id=&lt;uuid&gt; (adds an expiring <code>zip_url</code>)</li>
<li><a href="/api/3/action/datastore_search?resource_id={first}&amp;limit=5">datastore_search?resource_id={first}&amp;limit=5</a></li>
<li>datastore_search_sql?resource_id={first}&amp;sql=(BigQuery-style query on `{first}`)</li>
</ul>
<h2>NHS England list sizes</h2>
<p><a href="{LIST_SIZE_INDEX_PATH}/">{_TITLE}</a></p>
<h2>ODS</h2>
<p><a href="{ODS_PATH}">epraccur.zip</a></p>
<h2>Test controls</h2>
<p>GET/POST/DELETE <code>/_sample/faults</code>, POST <code>/_sample/republish?month=YYYY-MM</code>,
POST <code>/_sample/publish?month=YYYY-MM</code> (a month held back with <code>--withhold</code>),
GET <code>/_sample/manifest</code>. Base URL: <code>{escape(base_url)}</code>.</p>
"""
    return _page("Sample portal", body)
