"""What the sample prescribes: a hand-chosen catalogue of real BNF presentations.

The codes and dm+d-style names are real (checked against public BNF/dm+d listings), so the
pipeline's OME resolver and scope rules meet the same strings they meet in production. The
volumes (``rate``: items per 1,000 registered patients per month, national average) are
rough orders of magnitude of English prescribing, chosen so that weak opioids dominate,
strong and high-dose products are present but rarer, and palliative products are sparse.

A few entries exist to test rules rather than to add volume:

* tapentadol carries ``legacy_chemical_code`` (0407020AH before 2025, 0407020AG after), so
  comparators defined by chemical code must list both;
* methadone 1mg/ml oral solution appears twice: as an analgesic (0407020M0, counted) and
  for substance dependence (0410030C0, never counted);
* 0407 non-opioids (paracetamol, sumatriptan) share the section prefix but are no opioids.
"""

from __future__ import annotations

from dataclasses import dataclass

# Groups drive who prescribes what and how outlier practices differ.
WEAK = "weak"
STRONG = "strong"  # strong opioid, not a high-dose strength
HIGH_DOSE = "high_dose"  # strong, regular long-acting, at or above 90 mg OME/day
PALLIATIVE = "palliative"  # injections and transmucosal fentanyl
NON_OPIOID = "non_opioid"
DEPENDENCE = "dependence"  # BNF 4.10: must never count as an analgesic

TAPENTADOL_CODE_CHANGE_MONTH = "2025-01"

CHAPTERS = {
    "01": "01: Gastro-Intestinal System",
    "02": "02: Cardiovascular System",
    "03": "03: Respiratory System",
    "04": "04: Central Nervous System",
    "06": "06: Endocrine System",
}


@dataclass(frozen=True)
class Presentation:
    """One BNF presentation and how the sample prescribes it."""

    bnf_code: str
    name: str
    chemical_name: str
    group: str
    rate: float
    packs: tuple[int, ...]
    unit_cost: float
    adq_per_unit: float
    legacy_chemical_code: str | None = None
    legacy_chemical_name: str | None = None
    # False where the code could not be checked against a public list (see module notes).
    code_verified: bool = True

    @property
    def chemical_code(self) -> str:
        return self.bnf_code[:9]

    @property
    def chapter(self) -> str:
        return CHAPTERS[self.bnf_code[:2]]

    def codes_for_month(self, month: str) -> tuple[str, str, str]:
        """(presentation code, chemical code, chemical name) as published in ``month``.

        BNF codes are revised each January; tapentadol moved chemical code in 2025.
        """
        if self.legacy_chemical_code and month < TAPENTADOL_CODE_CHANGE_MONTH:
            legacy = self.legacy_chemical_code
            return (
                legacy + self.bnf_code[9:],
                legacy,
                self.legacy_chemical_name or self.chemical_name,
            )
        return self.bnf_code, self.chemical_code, self.chemical_name


def _p(
    code: str,
    name: str,
    substance: str,
    group: str,
    rate: float,
    packs: tuple[int, ...],
    unit_cost: float,
    adq: float,
    **extra: object,
) -> Presentation:
    return Presentation(code, name, substance, group, rate, packs, unit_cost, adq, **extra)  # type: ignore[arg-type]


_TAPENTADOL = {
    "legacy_chemical_code": "0407020AH",
    "legacy_chemical_name": "Tapentadol phosphate",
}

# fmt: off
OPIOID_CATALOGUE: tuple[Presentation, ...] = (
    # Co-codamol, co-dydramol (BNF 4.7.1 combinations counted as opioids)
    _p("0407010F0AAAHAH", "Co-codamol 30mg/500mg tablets", "Co-codamol (Codeine phosphate/paracetamol)", WEAK, 8.0, (100, 30, 60), 0.035, 0.125),
    _p("0407010F0AAADAD", "Co-codamol 30mg/500mg capsules", "Co-codamol (Codeine phosphate/paracetamol)", WEAK, 2.6, (100, 30), 0.041, 0.125),
    _p("0407010F0AAAFAF", "Co-codamol 30mg/500mg effervescent tablets", "Co-codamol (Codeine phosphate/paracetamol)", WEAK, 0.9, (100, 32), 0.062, 0.125),
    _p("0407010F0AAAKAK", "Co-codamol 15mg/500mg tablets", "Co-codamol (Codeine phosphate/paracetamol)", WEAK, 0.5, (100,), 0.048, 0.125),
    _p("0407010F0AAAAAA", "Co-codamol 8mg/500mg tablets", "Co-codamol (Codeine phosphate/paracetamol)", WEAK, 0.4, (100, 32), 0.03, 0.125),
    _p("0407010N0AAAAAA", "Co-dydramol 10mg/500mg tablets", "Co-dydramol (Dihydrocodeine/paracetamol)", WEAK, 0.8, (100, 30), 0.052, 0.125),
    # Codeine, dihydrocodeine, tramadol
    _p("0407020C0AAAEAE", "Codeine 30mg tablets", "Codeine phosphate", WEAK, 2.4, (28, 56, 100), 0.045, 0.1667),
    _p("0407020C0AAADAD", "Codeine 15mg tablets", "Codeine phosphate", WEAK, 0.7, (28, 56), 0.04, 0.0833),
    _p("0407020G0AAACAC", "Dihydrocodeine 30mg tablets", "Dihydrocodeine tartrate", WEAK, 1.2, (28, 56, 100), 0.06, 0.1429),
    _p("040702040AAAAAA", "Tramadol 50mg capsules", "Tramadol hydrochloride", WEAK, 2.8, (30, 60, 100), 0.032, 0.125),
    _p("040702040AAADAD", "Tramadol 150mg modified-release tablets", "Tramadol hydrochloride", WEAK, 0.18, (60,), 0.21, 0.375),
    _p("040702040BBAHAE", "Zydol XL 200mg tablets", "Tramadol hydrochloride", WEAK, 0.12, (30,), 0.62, 0.5),
    _p("040702040BFAAAU", "Tramacet 37.5mg/325mg tablets", "Tramadol hydrochloride", WEAK, 0.15, (60,), 0.15, 0.0938),
    # Morphine
    _p("0407020Q0BCAGCN", "Oramorph 10mg/5ml oral solution", "Morphine sulfate", STRONG, 0.9, (100, 300, 500), 0.018, 0.0333),
    _p("0407020Q0AACNCN", "Morphine sulfate 10mg/5ml oral solution", "Morphine sulfate", STRONG, 0.35, (100, 300), 0.016, 0.0333),
    _p("0407020Q0BBAAAK", "MST Continus 10mg tablets", "Morphine sulfate", STRONG, 0.22, (60,), 0.09, 0.1667),
    _p("0407020Q0BBABAL", "MST Continus 30mg tablets", "Morphine sulfate", STRONG, 0.1, (60,), 0.22, 0.5),
    _p("0407020Q0BBACAI", "MST Continus 60mg tablets", "Morphine sulfate", HIGH_DOSE, 0.045, (60,), 0.43, 1.0),
    _p("0407020Q0BKAAEF", "Zomorph 10mg modified-release capsules", "Morphine sulfate", STRONG, 0.26, (60,), 0.06, 0.1667),
    _p("0407020Q0BKABEG", "Zomorph 30mg modified-release capsules", "Morphine sulfate", STRONG, 0.13, (60,), 0.14, 0.5),
    _p("0407020Q0BIABEH", "MXL 60mg capsules", "Morphine sulfate", STRONG, 0.035, (28,), 0.81, 1.0),
    # Oxycodone and oxycodone/naloxone
    _p("0407020ADAAACAC", "Oxycodone 5mg capsules", "Oxycodone hydrochloride", STRONG, 0.45, (56, 28), 0.08, 0.0667),
    _p("0407020ADBBAAAA", "OxyNorm liquid 1mg/ml oral solution", "Oxycodone hydrochloride", STRONG, 0.08, (250,), 0.038, 0.0133),
    _p("0407020ADAAAFAF", "Oxycodone 10mg modified-release tablets", "Oxycodone hydrochloride", STRONG, 0.3, (56,), 0.22, 0.1333),
    _p("0407020ADAAARAR", "Oxycodone 30mg modified-release tablets", "Oxycodone hydrochloride", HIGH_DOSE, 0.045, (56,), 0.61, 0.4),
    _p("0407020ADBCACAH", "OxyContin 40mg modified-release tablets", "Oxycodone hydrochloride", HIGH_DOSE, 0.05, (56,), 1.27, 0.5333),
    _p("0407020AFBBAAAA", "Targinact 10mg/5mg modified-release tablets", "Oxycodone hydrochloride/naloxone hydrochloride", STRONG, 0.07, (56,), 0.76, 0.1333),
    _p("0407020AFAAABAB", "Oxycodone 20mg / Naloxone 10mg modified-release tablets", "Oxycodone hydrochloride/naloxone hydrochloride", STRONG, 0.035, (56,), 1.26, 0.2667),
    # Tapentadol: chemical code 0407020AH in 2024 months, 0407020AG from 2025-01
    _p("0407020AGBBACAC", "Palexia SR 50mg tablets", "Tapentadol hydrochloride", STRONG, 0.11, (56,), 0.45, 0.125, **_TAPENTADOL),
    _p("0407020AGAAADAD", "Tapentadol 100mg modified-release tablets", "Tapentadol hydrochloride", STRONG, 0.04, (56,), 0.9, 0.25, **_TAPENTADOL),
    _p("0407020AGBBAEAE", "Palexia SR 150mg tablets", "Tapentadol hydrochloride", HIGH_DOSE, 0.028, (56,), 1.35, 0.375, **_TAPENTADOL),
    # Hydromorphone
    _p("040702050BBADAG", "Palladone SR 4mg capsules", "Hydromorphone hydrochloride", STRONG, 0.02, (56,), 0.38, 0.1333),
    _p("040702050AAADAD", "Hydromorphone 2.6mg capsules", "Hydromorphone hydrochloride", STRONG, 0.012, (56,), 0.15, 0.0867),
    # Buprenorphine: 7-day patches (Butec, generic 5/20), 96-hour Transtec, sublingual
    _p("0407020B0BHABAI", "Butec 10micrograms/hour transdermal patches", "Buprenorphine", STRONG, 0.5, (4,), 3.98, 7.0),
    _p("0407020B0AAAHAH", "Buprenorphine 5micrograms/hour transdermal patches", "Buprenorphine", STRONG, 0.42, (4,), 4.4, 7.0),
    _p("0407020B0AAAJAJ", "Buprenorphine 20micrograms/hour transdermal patches", "Buprenorphine", STRONG, 0.16, (4,), 14.9, 7.0),
    _p("0407020B0BDAAAE", "Transtec 35micrograms/hour transdermal patches", "Buprenorphine", STRONG, 0.09, (4, 8), 4.94, 4.0),
    _p("0407020B0BDABAF", "Transtec 52.5micrograms/hour transdermal patches", "Buprenorphine", HIGH_DOSE, 0.045, (8, 4), 7.4, 4.0),
    _p("0407020B0AAABAB", "Buprenorphine 200microgram sublingual tablets sugar free", "Buprenorphine", STRONG, 0.015, (50,), 0.09, 0.05, code_verified=False),
    # Fentanyl patches (72-hour), all six strengths plus a brand
    _p("0407020A0AAAUAU", "Fentanyl 12micrograms/hour transdermal patches", "Fentanyl", STRONG, 0.11, (5, 10), 2.5, 3.0),
    _p("0407020A0AAAEAE", "Fentanyl 25micrograms/hour transdermal patches", "Fentanyl", STRONG, 0.13, (5, 10), 2.9, 3.0),
    _p("0407020A0BEABAE", "Matrifen 25micrograms/hour transdermal patches", "Fentanyl", STRONG, 0.07, (5, 10), 2.6, 3.0),
    _p("0407020A0AABWBW", "Fentanyl 37.5microgram/hour transdermal patches", "Fentanyl", HIGH_DOSE, 0.035, (5, 10), 4.0, 3.0),
    _p("0407020A0AAAFAF", "Fentanyl 50micrograms/hour transdermal patches", "Fentanyl", HIGH_DOSE, 0.05, (5, 10), 5.4, 3.0),
    _p("0407020A0AAAGAG", "Fentanyl 75micrograms/hour transdermal patches", "Fentanyl", HIGH_DOSE, 0.025, (5, 10), 7.6, 3.0),
    _p("0407020A0AAAHAH", "Fentanyl 100micrograms/hour transdermal patches", "Fentanyl", HIGH_DOSE, 0.014, (5, 10), 9.3, 3.0),
    # Transmucosal fentanyl and injections: palliative, outside the non-cancer scope
    _p("0407020A0BJABAX", "Abstral 200microgram sublingual tablets", "Fentanyl", PALLIATIVE, 0.004, (30, 10), 6.0, 0.5),
    _p("0407020A0BKABBD", "Effentora 200microgram buccal tablets", "Fentanyl", PALLIATIVE, 0.003, (28,), 5.0, 0.5),
    _p("0407020A0BCAAAI", "Actiq 200microgram lozenges with integral oromucosal applicator", "Fentanyl", PALLIATIVE, 0.002, (30, 3), 6.5, 0.5),
    _p("0407020A0BNAHBJ", "Instanyl 100micrograms/dose nasal spray", "Fentanyl", PALLIATIVE, 0.003, (10, 20), 6.3, 0.5),
    _p("0407020Q0AAABAB", "Morphine sulfate 10mg/1ml solution for injection ampoules", "Morphine sulfate", PALLIATIVE, 0.05, (10, 5), 1.2, 0.3333),
    _p("0407020K0AAEGEG", "Diamorphine 10mg powder for solution for injection vials", "Diamorphine hydrochloride", PALLIATIVE, 0.03, (5, 10), 7.2, 0.25),
    _p("0407020K0AAABAB", "Diamorphine 10mg powder for solution for injection ampoules", "Diamorphine hydrochloride", PALLIATIVE, 0.02, (5, 10), 8.1, 0.25),
    _p("0407020M0BBABAV", "Physeptone 10mg/1ml solution for injection ampoules", "Methadone hydrochloride", PALLIATIVE, 0.004, (10,), 1.55, 0.2),
    # Methadone: analgesic (0407) and, deliberately, substance dependence (0410)
    _p("0407020M0AAAAAA", "Methadone 1mg/ml oral solution", "Methadone hydrochloride", STRONG, 0.02, (100, 500), 0.0083, 0.05, code_verified=False),
    _p("0410030C0AAAFAF", "Methadone 1mg/ml oral solution sugar free", "Methadone hydrochloride", DEPENDENCE, 0.7, (840, 420, 1400), 0.0085, 0.0167),
)

NON_OPIOID_CATALOGUE: tuple[Presentation, ...] = (
    _p("0407010H0AAAMAM", "Paracetamol 500mg tablets", "Paracetamol", NON_OPIOID, 7.0, (100, 32), 0.0131, 0.25),
    _p("0407041T0AAACAC", "Sumatriptan 50mg tablets", "Sumatriptan", NON_OPIOID, 0.6, (6, 12), 0.21, 1.0, code_verified=False),
    _p("0212000B0AAABAB", "Atorvastatin 20mg tablets", "Atorvastatin", NON_OPIOID, 22.0, (28, 56), 0.032, 1.0),
    _p("0206020A0AAAAAA", "Amlodipine 5mg tablets", "Amlodipine", NON_OPIOID, 14.0, (28, 56), 0.027, 1.0),
    _p("0103050P0AAAAAA", "Omeprazole 20mg gastro-resistant capsules", "Omeprazole", NON_OPIOID, 16.0, (28, 56), 0.045, 1.0),
    _p("0601022B0AAABAB", "Metformin 500mg tablets", "Metformin hydrochloride", NON_OPIOID, 7.5, (56, 112, 28), 0.021, 0.25),
    _p("0301011R0AAAPAP", "Salbutamol 100micrograms/dose inhaler CFC free", "Salbutamol", NON_OPIOID, 8.0, (1, 2), 1.5, 25.0),
)
# fmt: on

CATALOGUE: tuple[Presentation, ...] = OPIOID_CATALOGUE + NON_OPIOID_CATALOGUE

# Prescribing-setting codes used by ODS (column 26 of epraccur).
SETTING_WALK_IN = 1
SETTING_OUT_OF_HOURS = 2
SETTING_GP = 4
SETTING_PUBLIC_HEALTH = 8
SETTING_COMMUNITY = 9
SETTING_CARE_HOME = 14

# Which groups each non-GP setting prescribes, and a notional population it serves so
# volumes come out plausible without list sizes (those cost centres have none).
NON_GP_PROFILES: dict[int, tuple[frozenset[str], tuple[int, int]]] = {
    SETTING_OUT_OF_HOURS: (frozenset({WEAK, STRONG, PALLIATIVE, NON_OPIOID}), (600, 2500)),
    SETTING_WALK_IN: (frozenset({WEAK, NON_OPIOID}), (400, 1500)),
    SETTING_PUBLIC_HEALTH: (frozenset({DEPENDENCE, NON_OPIOID}), (800, 2000)),
    SETTING_COMMUNITY: (frozenset({STRONG, HIGH_DOSE, PALLIATIVE, NON_OPIOID}), (300, 1200)),
    SETTING_CARE_HOME: (frozenset({WEAK, STRONG, HIGH_DOSE, NON_OPIOID}), (150, 500)),
}

# Fictional places for organisation, practice and street names.
TOWNS = (
    "ASHBY", "BRAMFORD", "CALDER", "DENHOLME", "EASTWICK", "FARNDALE", "GRANSBY", "HALSTOW",
    "IRETON", "KELDHOLM", "LANGDALE", "MARSTON", "NETHERBY", "ORMSIDE", "PELLING", "QUARNDON",
    "REDMIRE", "SALTBURN MOOR", "THORNBY", "UPLEATHAM", "WELBURY", "YEADON BANK",
)  # fmt: skip
STREETS = (
    "STATION ROAD", "HIGH STREET", "CHURCH LANE", "MILL ROAD", "PARK AVENUE", "VICTORIA ROAD",
    "NORTH STREET", "QUEEN STREET", "WESTGATE", "MARKET PLACE", "HOSPITAL ROAD", "GREEN LANE",
)  # fmt: skip
PRACTICE_SUFFIXES = (
    "MEDICAL CENTRE", "SURGERY", "HEALTH CENTRE", "MEDICAL PRACTICE", "FAMILY PRACTICE",
    "GROUP PRACTICE",
)  # fmt: skip
SUPPLIERS = ("EMIS", "TPP", "EMIS", "TPP", "EMIS")
