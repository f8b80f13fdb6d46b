"""NHS England "Patients Registered at a GP Practice": the comparators' denominators.

The publication has no API: an index page links to one page per month, and each month
page links to CSV (sometimes zipped) files at hashed paths. So we follow links by their
shape, and when the shape is not what we expect we say which page and what we looked for,
rather than silently finding nothing.
"""

from __future__ import annotations

import calendar
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urljoin

import polars as pl

from pipelines.http import HttpClient, SourceError
from pipelines.limits import read_zip_member
from pipelines.sources.epd import SchemaError

FILE_STEMS = {
    "all": "gp-reg-pat-prac-all",
    "male": "gp-reg-pat-prac-sing-age-male",
    "female": "gp-reg-pat-prac-sing-age-female",
    "quin": "gp-reg-pat-prac-quin-age",
    "map": "gp-reg-pat-prac-map",
}
#: The files that give all-ages and 18+ counts, in order of preference: single years of
#: age where published, else five-year bands (the only practice-level age split in the
#: earlier publications).
SINGLE_AGE_FILES = ("all", "male", "female")
QUINARY_FILES = ("quin",)
ADULT_MIN_AGE = 18
#: Adults from five-year bands: every band from 20-24 up, plus this share of the 15-19
#: band (ages 18 and 19 are two of its five years, assumed equally populated).
QUINARY_ADULT_SHARE_OF_15_19 = 2 / 5
ADULTS_FROM_SINGLE_YEARS = "single years of age 18 to 95+"
ADULTS_FROM_BANDS = "five-year bands 20-24 to 95+, plus 2/5 of the 15-19 band"
_MONTH_SLUG = re.compile(
    r"patients-registered-at-a-gp-practice/("
    + "|".join(m.lower() for m in calendar.month_name[1:])
    + r")-(\d{4})/?$",
    re.IGNORECASE,
)

LIST_SIZE_SCHEMA = {
    "month": pl.Date(),
    "practice_code": pl.String(),
    "patients": pl.Int64(),
    "adults": pl.Int64(),
}
PRACTICE_MAP_COLUMNS = (
    "PRACTICE_CODE", "PRACTICE_NAME", "PCN_CODE", "PCN_NAME", "SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME", "ICB_CODE", "ICB_NAME", "COMM_REGION_CODE", "COMM_REGION_NAME",
)  # fmt: skip


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def page_links(html: str, base_url: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [urljoin(base_url, h) for h in parser.hrefs]


def month_pages(http: HttpClient, index_url: str) -> dict[date, str]:
    """Every monthly publication page linked from the index, by month."""
    html = http.get(index_url, what="list-size index page").text
    pages: dict[date, str] = {}
    for link in page_links(html, index_url):
        match = _MONTH_SLUG.search(link.split("?")[0].split("#")[0])
        if match:
            month = date(int(match.group(2)), _month_number(match.group(1)), 1)
            pages.setdefault(month, link)
    if not pages:
        raise SourceError(
            "list-size index page links to no monthly publication pages "
            "(expected links ending .../patients-registered-at-a-gp-practice/<month>-<year>); "
            "the page layout may have changed",
            url=index_url,
        )
    return pages


def _month_number(name: str) -> int:
    return [m.lower() for m in calendar.month_name].index(name.lower())


@dataclass(frozen=True)
class MonthFiles:
    month: date
    page_url: str
    files: dict[str, str]


def month_files(http: HttpClient, index_url: str, month: date) -> MonthFiles:
    """The data file links on one month's publication page."""
    pages = month_pages(http, index_url)
    if month not in pages:
        latest = max(pages)
        raise SourceError(
            f"no list-size publication for {month:%B %Y} on the index page "
            f"(latest listed: {latest:%B %Y})",
            url=index_url,
        )
    page_url = pages[month]
    html = http.get(page_url, what=f"list-size page {month:%Y-%m}").text
    files: dict[str, str] = {}
    for link in page_links(html, page_url):
        filename = link.split("?")[0].rstrip("/").rsplit("/", 1)[-1].lower()
        if not filename.endswith((".csv", ".zip")):
            continue
        stem = filename.rsplit(".", 1)[0]
        for kind, wanted in FILE_STEMS.items():
            # Re-issued files carry a suffix such as _V2; prefer the latest issue listed.
            if stem == wanted or re.fullmatch(re.escape(wanted) + r"[_-]v\d+", stem):
                files[kind] = link
    if not any(all(k in files for k in kinds) for kinds in (SINGLE_AGE_FILES, QUINARY_FILES)):
        wanted = " + ".join(FILE_STEMS[k] for k in SINGLE_AGE_FILES)
        raise SourceError(
            f"list-size page for {month:%Y-%m} links neither {wanted} nor "
            f"{FILE_STEMS['quin']} (.csv or .zip); found: {', '.join(sorted(files)) or 'none'}",
            url=page_url,
        )
    return MonthFiles(month=month, page_url=page_url, files=files)


def denominator_files(files: MonthFiles) -> tuple[str, ...]:
    """The kinds of file this month's all-ages and 18+ counts are read from."""
    if all(k in files.files for k in SINGLE_AGE_FILES):
        return SINGLE_AGE_FILES
    return QUINARY_FILES


def list_sizes_from(tables: dict[str, pl.DataFrame], month: date) -> tuple[pl.DataFrame, str]:
    """All-ages and 18+ counts from whichever files the month has; and how adults were found."""
    if all(k in tables for k in SINGLE_AGE_FILES):
        frame = parse_list_sizes(tables["all"], tables["male"], tables["female"], month)
        return frame, ADULTS_FROM_SINGLE_YEARS
    return parse_quinary_list_sizes(tables["quin"], month), ADULTS_FROM_BANDS


def read_table(http: HttpClient, url: str, what: str) -> pl.DataFrame:
    """A CSV, or a zip holding one CSV, as text columns (types are checked by the parsers)."""
    content = http.get(url, what=what).content
    if content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as zf:
                members = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
                if len(members) != 1:
                    raise SourceError(
                        f"{what}: zip holds {len(members)} CSV files, expected 1", url=url
                    )
                content = read_zip_member(
                    zf,
                    members[0],
                    limit=http.limits.max_in_memory_bytes,
                    max_ratio=http.limits.max_compression_ratio,
                    what=what,
                    url=url,
                )
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{what}: corrupt zip ({exc})", url=url) from exc
    try:
        frame = pl.read_csv(io.BytesIO(content), infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"{what}: unreadable CSV ({exc})", url=url) from exc
    return frame.rename({c: c.strip().upper() for c in frame.columns})


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what}: missing column(s) {', '.join(missing)}; columns were {', '.join(frame.columns)}"
        )


def _counts(frame: pl.DataFrame, what: str) -> pl.Expr:
    return pl.col("NUMBER_OF_PATIENTS").str.strip_chars().cast(pl.Int64, strict=False)


def parse_list_sizes(
    all_ages: pl.DataFrame, male: pl.DataFrame, female: pl.DataFrame, month: date
) -> pl.DataFrame:
    """All-ages and 18+ registered patients per practice.

    Adults come from the single-year-of-age files (ages 18..94 plus ``95+``) because the
    all-ages file has no age split.
    """
    _require(all_ages, ("CODE", "SEX", "AGE", "NUMBER_OF_PATIENTS"), "gp-reg-pat-prac-all")
    type_col = "TYPE" if "TYPE" in all_ages.columns else "ORG_TYPE"
    totals = all_ages.filter(
        (pl.col("SEX").str.to_uppercase() == "ALL")
        & (pl.col("AGE").str.to_uppercase() == "ALL")
        & (pl.col(type_col).str.to_uppercase() == "GP" if type_col in all_ages.columns else True)
    ).select(
        pl.col("CODE").str.strip_chars().alias("practice_code"),
        _counts(all_ages, "all").alias("patients"),
    )
    singles = []
    for frame, what in (
        (male, "gp-reg-pat-prac-sing-age-male"),
        (female, "gp-reg-pat-prac-sing-age-female"),
    ):
        _require(frame, ("ORG_TYPE", "ORG_CODE", "AGE", "NUMBER_OF_PATIENTS"), what)
        age = pl.col("AGE").str.strip_chars().str.replace(r"\+$", "").cast(pl.Int64, strict=False)
        singles.append(
            frame.filter(
                (pl.col("ORG_TYPE").str.to_uppercase() == "GP") & (age >= ADULT_MIN_AGE)
            ).select(
                pl.col("ORG_CODE").str.strip_chars().alias("practice_code"),
                _counts(frame, what).alias("n"),
            )
        )
    adults = pl.concat(singles).group_by("practice_code").agg(pl.col("n").sum().alias("adults"))
    bad = totals.filter(pl.col("patients").is_null())
    if bad.height:
        raise SchemaError(
            f"gp-reg-pat-prac-all {month:%Y-%m}: {bad.height} practice(s) with a non-numeric "
            f"NUMBER_OF_PATIENTS, e.g. {bad.get_column('practice_code').head(3).to_list()}"
        )
    # Totals are not summed per practice: a duplicated practice row must stay visible to
    # the one_row_per_practice check rather than silently double the denominator.
    out = totals.join(adults, on="practice_code", how="left").with_columns(
        pl.lit(month).alias("month")
    )
    return out.select([pl.col(c).cast(t) for c, t in LIST_SIZE_SCHEMA.items()]).sort(
        "practice_code"
    )


def _band_low(label: pl.Expr) -> pl.Expr:
    """The lower age of a five-year band label (``15_19`` -> 15, ``95+`` -> 95)."""
    return label.str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)


def parse_quinary_list_sizes(quin: pl.DataFrame, month: date) -> pl.DataFrame:
    """All-ages and 18+ registered patients per practice from five-year age bands.

    Publications that give no single-year-of-age (or all-ages) file still give each
    practice's patients in five-year bands. All ages is the practice's ``ALL`` band (or
    the sum of its bands); adults are the bands from 20-24 up plus 2/5 of the 15-19 band
    (:data:`ADULTS_FROM_BANDS`), an approximation that assumes the five ages of that band
    are equally populated. Rows for both sexes are used where published (``SEX`` =
    ``ALL``), else males and females are added together.
    """
    what = f"gp-reg-pat-prac-quin-age {month:%Y-%m}"
    _require(quin, ("ORG_TYPE", "ORG_CODE", "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS"), what)
    gp = quin.filter(pl.col("ORG_TYPE").str.strip_chars().str.to_uppercase() == "GP").select(
        pl.col("ORG_CODE").str.strip_chars().alias("practice_code"),
        pl.col("SEX").str.strip_chars().str.to_uppercase().alias("sex"),
        pl.col("AGE_GROUP_5").str.strip_chars().str.to_uppercase().alias("band"),
        _counts(quin, what).alias("n"),
    )
    bad = gp.filter(pl.col("n").is_null())
    if bad.height:
        raise SchemaError(
            f"{what}: {bad.height} row(s) with a non-numeric NUMBER_OF_PATIENTS, "
            f"e.g. {bad.get_column('practice_code').head(3).to_list()}"
        )
    both = gp.filter(pl.col("sex") == "ALL")
    rows = both if both.height else gp.filter(pl.col("sex").is_in(["MALE", "FEMALE"]))
    low = _band_low(pl.col("band"))
    adult_weight = (
        pl.when(low >= 20)
        .then(1.0)
        .when(low == 15)
        .then(QUINARY_ADULT_SHARE_OF_15_19)
        .otherwise(0.0)
    )
    per_practice = rows.group_by("practice_code").agg(
        pl.col("n").filter(pl.col("band") == "ALL").sum().alias("stated"),
        pl.col("n").filter(low.is_not_null()).sum().alias("banded"),
        (pl.col("n") * adult_weight).filter(low.is_not_null()).sum().round(0).alias("adults"),
        (pl.col("band") == "ALL").any().alias("has_total"),
    )
    out = per_practice.with_columns(
        pl.when(pl.col("has_total"))
        .then(pl.col("stated"))
        .otherwise(pl.col("banded"))
        .alias("patients"),
        pl.lit(month).alias("month"),
    )
    return out.select([pl.col(c).cast(t) for c, t in LIST_SIZE_SCHEMA.items()]).sort(
        "practice_code"
    )


def parse_practice_map(frame: pl.DataFrame) -> pl.DataFrame:
    """Practice -> PCN, sub-ICB location, ICB and region, from ``gp-reg-pat-prac-map``."""
    _require(frame, PRACTICE_MAP_COLUMNS, "gp-reg-pat-prac-map")
    return (
        frame.select(
            pl.col("PRACTICE_CODE").str.strip_chars().alias("practice_code"),
            pl.col("PRACTICE_NAME").alias("map_practice_name"),
            pl.col("PCN_CODE").alias("pcn_code"),
            pl.col("PCN_NAME").alias("pcn_name"),
            pl.col("SUB_ICB_LOCATION_CODE").alias("sub_icb_code"),
            pl.col("SUB_ICB_LOCATION_NAME").alias("sub_icb_name"),
            pl.col("ICB_CODE").alias("icb_code"),
            pl.col("ICB_NAME").alias("icb_name"),
            pl.col("COMM_REGION_CODE").alias("region_code"),
            pl.col("COMM_REGION_NAME").alias("region_name"),
        )
        # Identical repeated lines collapse; conflicting ones for one practice stay, so the
        # organisations' critical uniqueness check sees them.
        .unique(maintain_order=True)
        .sort("practice_code")
    )
