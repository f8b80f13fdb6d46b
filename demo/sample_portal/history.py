"""Earlier months in the shapes the real sources had then (2014 and 2017-2020).

A few historic months are served beside the sample's main 18, each made from one main
month's generated rows (the fictional practices do not change) and then re-shaped the way
the real publications of that era were:

* EPD: only in the earlier dataset (``EPD_YYYYMM``) before 2020-11, in both datasets from
  2020-11; no ``SNOMED_CODE`` in the earlier dataset; ``YEAR_MONTH`` an integer; the
  organisation between region and sub-ICB location named ``AREA_TEAM_*`` (2014) or
  ``STP_*`` (2017-2020); chemical substance columns blank in some months; product names in
  the older abbreviated style in 2014 and 2017 (``Zomorph_Cap 10mg``), where a brand's
  name may leave out what its generic equivalent's name says;
* list sizes: five-year age bands only (2014, 2017), or all-ages and single-year-of-age
  files with CCG-era columns (2020), and CCG-era practice maps.

Nothing here is real data; the layouts are the point.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from demo.sample_portal import generator as gen

#: Historic month -> the main month whose rows it re-shapes (all before the 2025 header
#: change, so they start from the earlier header).
HISTORIC_MONTHS: dict[str, str] = {
    "2014-01": "2024-07",
    "2014-02": "2024-08",
    "2014-03": "2024-09",
    "2017-09": "2024-10",
    "2020-10": "2024-11",
    "2020-11": "2024-12",
}
SNOMED_FIRST_MONTH = "2020-11"
BLANK_CHEMICAL_MONTHS = ("2017-09", "2020-10")
OLD_NAME_LAST_MONTH = "2019-12"
QUINARY_ONLY_LAST_MONTH = "2017-12"
AREA_TEAM_LAST_MONTH = "2016-12"

#: Older abbreviated names of the catalogue's presentations (code -> name). Zomorph and
#: OxyContin state no release type, as their older names did not.
OLD_NAMES: dict[str, str] = {
    "0407010F0AAAHAH": "Co-Codamol_Tab 30mg/500mg",
    "0407010F0AAADAD": "Co-Codamol_Cap 30mg/500mg",
    "0407010F0AAAFAF": "Co-Codamol_Tab Eff 30mg/500mg",
    "0407010F0AAAKAK": "Co-Codamol_Capl 15mg/500mg",
    "0407010F0AAAAAA": "Co-Codamol_Tab 8mg/500mg",
    "0407010N0AAAAAA": "Co-Dydramol_Tab 10mg/500mg",
    "0407020C0AAAEAE": "Codeine Phos_Tab 30mg",
    "0407020C0AAADAD": "Codeine Phos_Tab 15mg",
    "0407020G0AAACAC": "Dihydrocodeine Tart_Tab 30mg",
    "040702040AAAAAA": "Tramadol HCl_Cap 50mg",
    "040702040AAADAD": "Tramadol HCl_Tab 150mg M/R",
    "040702040BBAHAE": "Zydol XL_Tab 200mg",
    "040702040BFAAAU": "Tramacet_Tab 37.5mg/325mg",
    "0407020Q0BCAGCN": "Oramorph_Oral Soln 10mg/5ml",
    "0407020Q0AACNCN": "Morph Sulf_Oral Soln 10mg/5ml",
    "0407020Q0BBAAAK": "MST Continus_Tab 10mg",
    "0407020Q0BBABAL": "MST Continus_Tab 30mg",
    "0407020Q0BBACAI": "MST Continus_Tab 60mg",
    "0407020Q0BKAAEF": "Zomorph_Cap 10mg",
    "0407020Q0BKABEG": "Zomorph_Cap 30mg",
    "0407020Q0BIABEH": "MXL_Cap 60mg",
    "0407020ADAAACAC": "Oxycodone HCl_Cap 5mg",
    "0407020ADBBAAAA": "OxyNorm_Liq Spec 5mg/5ml",
    "0407020ADAAAFAF": "Oxycodone HCl_Tab 10mg M/R",
    "0407020ADAAARAR": "Oxycodone HCl_Tab 30mg 12hr",
    "0407020ADBCACAH": "OxyContin_Tab 40mg",
    "0407020AFBBAAAA": "Targinact_Tab 10mg/5mg M/R",
    "0407020AFAAABAB": "Oxycodone HCl/Naloxone HCl_Tab 20/10mgM/R",
    "0407020AGBBACAC": "Palexia SR_Tab 50mg",
    "0407020AGAAADAD": "Tapentadol_Tab 100mg M/R",
    "0407020AGBBAEAE": "Palexia SR_Tab 150mg",
    "040702050BBADAG": "Palladone SR_Cap 4mg",
    "040702050AAADAD": "Hydromorphone HCl_Cap 2.6mg",
    "0407020B0BHABAI": "Butec_Patch 10mcg/hr",
    "0407020B0AAAHAH": "Buprenorphine_Patch 5mcg/hr (7day)",
    "0407020B0AAAJAJ": "Buprenorphine_Patch 20mcg/hr (7day)",
    "0407020B0BDAAAE": "Transtec_T/Derm Patch 35mcg/hr",
    "0407020B0BDABAF": "Transtec_T/Derm Patch 52.5mcg/hr",
    "0407020B0AAABAB": "Buprenorphine_Tab Subling 200mcg S/F",
    "0407020A0AAAUAU": "Fentanyl_Transdermal Patch 12mcg/hr",
    "0407020A0AAAEAE": "Fentanyl_T/Derm Patch 25mcg/hr",
    "0407020A0BEABAE": "Matrifen_Patch 25mcg/hr",
    "0407020A0AABWBW": "Fentanyl_Transdermal Patch 37.5mcg/hr",
    "0407020A0AAAFAF": "Fentanyl_Transdermal Patch 50mcg/hr",
    "0407020A0AAAGAG": "Fentanyl_Transdermal Patch 75mcg/hr",
    "0407020A0AAAHAH": "Fentanyl_Transdermal Patch 100mcg/hr",
    "0407020A0BJABAX": "Abstral_Tab Subling 200mcg",
    "0407020A0BKABBD": "Effentora_Tab Buccal 200mcg",
    "0407020A0BCAAAI": "Actiq_Loz 200mcg",
    "0407020A0BNAHBJ": "Instanyl_Nsl Spy 100mcg/dose",
    "0407020Q0AAABAB": "Morph Sulf_Inj 10mg/ml 1ml Amp",
    "0407020K0AAEGEG": "Diamorph HCl_Inj 10mg Vl (Dry)",
    "0407020K0AAABAB": "Diamorph HCl_Inj 10mg Amp",
    "0407020M0BBABAV": "Physeptone_Inj 10mg/ml 1ml Amp",
    "0407020M0AAAAAA": "Methadone HCl_Oral Soln 1mg/ml",
    "0410030C0AAAFAF": "Methadone HCl_Oral Soln 1mg/ml S/F",
    "0407010H0AAAMAM": "Paracetamol_Tab 500mg",
    "0407041T0AAACAC": "Sumatriptan_Tab 50mg",
}
#: Brands whose older name leaves the release type out, with their generic equivalent
#: (code, older name): every third practice's rows are prescribed as the generic, so a
#: month holds both and the brand can be read through its generic.
GENERIC_TWINS: dict[str, tuple[str, str]] = {
    "0407020Q0BKAAEF": ("0407020Q0AAEFEF", "Morph Sulf_Cap 10mg M/R"),
    "0407020Q0BKABEG": ("0407020Q0AAEGEG", "Morph Sulf_Cap 30mg M/R"),
    "0407020ADBCACAH": ("0407020ADAAAHAH", "Oxycodone HCl_Tab 40mg M/R"),
}


def organisation_prefix(month: str) -> str:
    """What the EPD called the organisation between region and sub-ICB location."""
    return "AREA_TEAM" if month <= AREA_TEAM_LAST_MONTH else "STP"


def reshape_epd(base_csv: bytes, month: str, *, snomed: bool) -> bytes:
    """A main month's EPD file re-shaped as ``month``'s file of one dataset."""
    header, rows = gen.read_csv_bytes(base_csv)
    col = {name: i for i, name in enumerate(header)}
    prefix = organisation_prefix(month)
    new_header = [
        h.replace("ICB_", f"{prefix}_") if h in ("ICB_NAME", "ICB_CODE") else h for h in header
    ]
    old_names = month <= OLD_NAME_LAST_MONTH
    blank = month in BLANK_CHEMICAL_MONTHS
    for row in rows:
        row[col["YEAR_MONTH"]] = month.replace("-", "")
        code = row[col["BNF_CODE"]]
        if old_names:
            twin = GENERIC_TWINS.get(code)
            if twin and sum(map(ord, row[col["PRACTICE_CODE"]])) % 3 == 0:
                row[col["BNF_CODE"]], row[col["BNF_DESCRIPTION"]] = twin
            else:
                row[col["BNF_DESCRIPTION"]] = OLD_NAMES.get(code, row[col["BNF_DESCRIPTION"]])
        if blank:
            row[col["BNF_CHEMICAL_SUBSTANCE"]] = ""
            row[col["CHEMICAL_SUBSTANCE_BNF_DESCR"]] = ""
    out = gen.write_csv_bytes(new_header, rows)
    return out if snomed else gen.derive_retired(out)


# -- list sizes ------------------------------------------------------------------------------

QUINARY_COLUMNS = (
    "PUBLICATION", "EXTRACT_DATE", "ORG_TYPE", "ORG_CODE", "ONS_CODE", "POSTCODE", "SEX",
    "AGE_GROUP_5", "NUMBER_OF_PATIENTS",
)  # fmt: skip
CCG_ALL_COLUMNS = (
    "PUBLICATION", "EXTRACT_DATE", "TYPE", "CCG_CODE", "ONS_CCG_CODE", "CODE", "POSTCODE",
    "SEX", "AGE", "NUMBER_OF_PATIENTS",
)  # fmt: skip
CCG_MAP_COLUMNS = (
    "PUBLICATION", "EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "PRACTICE_POSTCODE",
    "PCN_CODE", "PCN_NAME", "ONS_CCG_CODE", "CCG_CODE", "CCG_NAME", "ONS_STP_CODE", "STP_CODE",
    "STP_NAME", "ONS_COMM_REGION_CODE", "COMM_REGION_CODE", "COMM_REGION_NAME",
)  # fmt: skip


def _band(age: str) -> str:
    if age == "95+":
        return "95+"
    low = int(age) // 5 * 5
    return f"{low}_{low + 4}"


def _table(data: bytes) -> tuple[list[str], list[list[str]]]:
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            data = zf.read(zf.namelist()[0])
    return gen.read_csv_bytes(data)


def reshape_list_sizes(base: dict[str, bytes], month: str) -> dict[str, bytes]:
    """A main month's list-size files re-shaped as ``month``'s publication."""
    ext = gen.extract_date(month)
    by_stem = {name.rsplit(".", 1)[0]: _table(data) for name, data in base.items()}
    map_header, map_rows = by_stem["gp-reg-pat-prac-map"]
    mcol = {n: i for i, n in enumerate(map_header)}
    ccg_map = [
        [
            "GP_PRAC_PAT_LIST",
            ext,
            r[mcol["PRACTICE_CODE"]],
            r[mcol["PRACTICE_NAME"]],
            r[mcol["PRACTICE_POSTCODE"]],
            r[mcol["PCN_CODE"]],
            r[mcol["PCN_NAME"]],
            r[mcol["ONS_SUB_ICB_LOCATION_CODE"]],
            r[mcol["SUB_ICB_LOCATION_CODE"]],
            r[mcol["SUB_ICB_LOCATION_NAME"]],
            r[mcol["ONS_ICB_CODE"]],
            r[mcol["ICB_CODE"]],
            r[mcol["ICB_NAME"]],
            r[mcol["ONS_COMM_REGION_CODE"]],
            r[mcol["COMM_REGION_CODE"]],
            r[mcol["COMM_REGION_NAME"]],
        ]  # fmt: skip
        for r in map_rows
    ]
    files = {"gp-reg-pat-prac-map.csv": gen.write_csv_bytes(CCG_MAP_COLUMNS, ccg_map)}
    ons = {r[mcol["PRACTICE_CODE"]]: r[mcol["ONS_SUB_ICB_LOCATION_CODE"]] for r in map_rows}
    if month <= QUINARY_ONLY_LAST_MONTH:
        files["gp-reg-pat-prac-quin-age.csv"] = _quinary(by_stem, ext, ons)
        if month < "2015-01":  # the earliest publications have no practice map either
            del files["gp-reg-pat-prac-map.csv"]
        return files
    all_header, all_rows = by_stem["gp-reg-pat-prac-all"]
    acol = {n: i for i, n in enumerate(all_header)}
    files["gp-reg-pat-prac-all.csv"] = gen.write_csv_bytes(
        CCG_ALL_COLUMNS,
        [
            [
                "GP_PRAC_PAT_LIST",
                ext,
                "GP",
                r[acol["SUB_ICB_LOCATION_CODE"]],
                r[acol["ONS_SUB_ICB_LOCATION_CODE"]],
                r[acol["CODE"]],
                r[acol["POSTCODE"]],
                "ALL",
                "ALL",
                r[acol["NUMBER_OF_PATIENTS"]],
            ]  # fmt: skip
            for r in all_rows
        ],
    )
    for sex in ("male", "female"):
        header, rows = by_stem[f"gp-reg-pat-prac-sing-age-{sex}"]
        for r in rows:
            r[header.index("EXTRACT_DATE")] = ext
        files[f"gp-reg-pat-prac-sing-age-{sex}.csv"] = gen.write_csv_bytes(header, rows)
    return files


def _quinary(by_stem: dict, ext: str, ons: dict[str, str]) -> bytes:
    """Five-year bands per practice and sex, plus each sex's and both sexes' totals."""
    bands: dict[tuple[str, str, str], int] = {}
    postcodes: dict[str, str] = {}
    order: list[str] = []
    for sex in ("male", "female"):
        header, rows = by_stem[f"gp-reg-pat-prac-sing-age-{sex}"]
        col = {n: i for i, n in enumerate(header)}
        for r in rows:
            code, age = r[col["ORG_CODE"]], r[col["AGE"]]
            if age == "ALL":
                continue
            if code not in postcodes:
                postcodes[code] = r[col["POSTCODE"]]
                order.append(code)
            n = int(r[col["NUMBER_OF_PATIENTS"]])
            for key in ((code, sex.upper(), _band(age)), (code, "ALL", _band(age))):
                bands[key] = bands.get(key, 0) + n
    labels = [_band(str(a)) for a in range(0, 95, 5)] + ["95+"]
    out: list[list[str]] = []
    for code in order:
        for sex in ("MALE", "FEMALE", "ALL"):
            counts = [bands.get((code, sex, label), 0) for label in labels]
            head = ["GP_PRAC_PAT_LIST", ext, "GP", code, ons.get(code, ""), postcodes[code], sex]
            out.extend([*head, label, str(n)] for label, n in zip(labels, counts, strict=True))
            out.append([*head, "ALL", str(sum(counts))])
    return gen.write_csv_bytes(QUINARY_COLUMNS, out)


def generate(
    write: Callable[[str, bytes], str],
    base_epd: dict[str, bytes],
    base_lists: Callable[[str], dict[str, bytes]],
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Write every historic month's files; return (relative path -> sha256, list links)."""
    files: dict[str, str] = {}
    links: dict[str, dict[str, str]] = {}
    for month, base in HISTORIC_MONTHS.items():
        datasets = (False, True) if month >= SNOMED_FIRST_MONTH else (False,)
        for snomed in datasets:
            source = base_epd[gen.resource_name(base)]
            rel = f"epd/{gen.resource_name(month, snomed=snomed)}.csv"
            files[rel] = write(rel, reshape_epd(source, month, snomed=snomed))
        links[month] = {}
        for filename, data in reshape_list_sizes(base_lists(base), month).items():
            rel = f"list_sizes/{month}/{filename}"
            files[rel] = write(rel, data)
            links[month][filename] = gen.list_size_path(month, filename)
    return files, links
