"""Read dose form, route and opioid strength from a dm+d style product name.

Prescribing data names presentations the way dm+d does (``Morphine sulfate 10mg/5ml oral
solution``, ``Zomorph 30mg modified-release capsules``). Brands often leave the substance
out, so this module never looks for the substance: the BNF chemical code says what it is.
It reads only three things from the name, with general rules rather than product lists:

* the dose form, which also fixes the route and the counted unit;
* the opioid strength (a mass, optionally per volume, per hour or per dose);
* release markers (modified-release, once daily) and a wear time when a patch states one.

Everything here is pure and deterministic, so results can be cached per name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- dose forms -------------------------------------------------------------------------

#: Ordered (pattern, form, route) rules; the first pattern found in the normalised name
#: wins, so specific forms ("buccal tablets") come before general ones ("tablets"), and
#: granules or sachets come before "suspension" (``MST Continus suspension 20mg granules
#: sachets`` is counted in sachets, not millilitres). The abbreviations (``tab``, ``inj``,
#: ``liq spec``, ``nsl spy``, ``udv``, ...) read the older BNF-style names
#: (``Morph Sulf_Inj 10mg/ml 2ml Amp``) found in historical prescribing files.
FORM_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), form, route)
    for pattern, form, route in (
        (r"transdermal|\bpatch|\bt/derm\b|\bd ?trans\b", "patch", "transdermal"),
        (r"\bnasal\b|\bnsl\b", "nasal_spray", "nasal"),
        (r"buccal films?\b", "buccal_film", "buccal"),
        (r"buccal tab|\btab buccal\b", "buccal_tablet", "buccal"),
        (r"sublingual films?\b", "sublingual_film", "sublingual"),
        (r"sublingual tab|\btab subling(?:ual)?\b", "sublingual_tablet", "sublingual"),
        (r"\bsubling(?:ual)?\b", "sublingual", "sublingual"),
        (r"\blozenges?\b|\bloz\b", "lozenge", "buccal"),
        (r"\bbuccal\b|oromucosal", "buccal", "buccal"),
        (r"suppos|\bsupps?\b", "suppository", "rectal"),
        (r"\benemas?\b|\brectal\b", "rectal", "rectal"),
        (r"inject|infusion|\binj\b|\bi/v inf\b", "injection", "injection"),
        (r"cigarette|\breefer\b|inhal", "inhalation", "inhalation"),
        (r"unit dose vials?|\budv\b", "oral_liquid_unit_dose", "oral"),
        (r"\bgranules\b|\bgran\b", "granules", "oral"),
        (r"\bsachets?\b|\bsach\b|\bpowder\b|\bpdr\b", "sachet", "oral"),
        (
            r"oral solution|oral suspension|oral drops|\bsyrup\b|\belixir\b|\blinctus\b"
            r"|\bmixture\b|\bliquid\b|\bsolution\b|\bsuspension\b"
            r"|\bliq\b|\bsoln\b|\bsusp\b|\belix\b|\boral dps\b",
            "oral_liquid",
            "oral",
        ),
        (r"\btablets?\b|\bcaplets?\b|\btabs?\b|\bcapl\b", "tablet", "oral"),
        (r"\bcapsules?\b|\bcaps?\b", "capsule", "oral"),
    )
)

#: Forms counted one dose unit at a time (mg per tablet, capsule, film, sachet, ...).
SOLID_FORMS = frozenset(
    {
        "tablet",
        "capsule",
        "granules",
        "sachet",
        "suppository",
        "rectal",
        "lozenge",
        "buccal",
        "buccal_film",
        "buccal_tablet",
        "sublingual",
        "sublingual_film",
        "sublingual_tablet",
        "inhalation",
    }
)

_MR = re.compile(
    r"modified[- ]release|prolonged[- ]release|extended[- ]release|controlled[- ]release"
    r"|slow[- ]release|\bm/r\b|\bs/r\b|\b(?:sr|xl|mxl|pr|retard|continus|24 ?hr|12 ?hr)\b"
)
_ONCE_DAILY = re.compile(r"\b(?:xl|mxl|24 ?hr|24[- ]hours?|once[- ]daily)\b")
_WEAR = re.compile(r"(?<![/\w.])(\d+(?:\.\d+)?)\s*-?\s*(day|hour|hr)s?\b")
_CONTAINER_ML = re.compile(
    r"(\d+(?:\.\d+)?)\s*ml\s+(?:ampoules?|amps?|am|vials?|vl|pre-filled syringes?|pfs"
    r"|syringes?|cartridges?|bags?|unit dose vials?|udv)\b"
)

# --- strengths --------------------------------------------------------------------------

_NUM = r"\d+(?:\.\d+)?"
_MASS = r"(?:mg|g|micrograms?|mcg|nanograms?)"
_DENOM = rf"(?:{_NUM}\s?)?(?:{_MASS}|ml|hours?|hr|h|doses?|actuations?|sprays?)"
# ``(?P<num2>)`` reads the older shared-unit pairs (``10/30mg``, ``15.4/0.4mg``).
_STRENGTH = re.compile(
    rf"(?<![\d.])(?P<num>{_NUM})(?:/(?P<num2>{_NUM}))?\s?(?P<unit>{_MASS})(?![a-z])"
    rf"(?P<rest>(?:/{_DENOM}(?![a-z]))*)"
)
_VOLUME = re.compile(rf"({_NUM})?\s?ml")
_TOKEN = re.compile(rf"(?P<num>{_NUM})?\s?(?P<unit>[a-z]+)")

_MASS_TO_MG = {
    "mg": 1.0,
    "g": 1000.0,
    "microgram": 0.001,
    "micrograms": 0.001,
    "mcg": 0.001,
    "nanogram": 1e-6,
    "nanograms": 1e-6,
}


@dataclass(frozen=True)
class Strength:
    """One opioid strength as written in a name.

    ``value``/``unit`` are the opioid's own number and mass unit; ``denominator`` is what
    it is per, as written (``"5ml"``, ``"ml"``, ``"hour"``, ``"dose"``, or ``""`` for a
    plain mass). A paired non-opioid mass (the paracetamol in ``30mg/500mg``) is dropped
    from the unit but decides which of the two numbers is the opioid.
    """

    value: float
    unit: str
    denominator: str

    @property
    def mg(self) -> float:
        """The stated mass in milligrams."""
        return self.value * _MASS_TO_MG[self.unit]

    @property
    def per_volume_ml(self) -> float | None:
        """Millilitres in the denominator (``5ml`` -> 5, ``ml`` -> 1), else None."""
        m = _VOLUME.fullmatch(self.denominator)
        if not m:
            return None
        return float(m.group(1)) if m.group(1) else 1.0

    @property
    def explicit_volume(self) -> bool:
        """True when the volume carries a number (``10mg/5ml``, ``10mg/1ml``)."""
        m = _VOLUME.fullmatch(self.denominator)
        return bool(m and m.group(1))

    @property
    def per_hour(self) -> bool:
        return self.denominator in {"hour", "hours", "hr", "h"}

    @property
    def per_dose(self) -> bool:
        return self.denominator.rstrip("s") in {"dose", "actuation", "spray"}

    @property
    def unit_text(self) -> str:
        """Unit as written, with its denominator: ``mg/5ml``, ``micrograms/hour``."""
        return f"{self.unit}/{self.denominator}" if self.denominator else self.unit


@dataclass(frozen=True)
class NameFacts:
    """What a product name says, before any substance-specific arithmetic."""

    form: str | None
    route: str | None
    strength: Strength | None
    modified_release: bool
    once_daily: bool
    wear_hours_stated: float | None
    container_ml: float | None


_GLUED_MARKERS = re.compile(r"(m/r|s/r|s/f|e/c)")


def normalise(name: str) -> str:
    """Lower-case, and split the older names' glued tokens (``Morph Sulf_Tab 10mgM/R``)."""
    low = name.lower().replace("_", " ")
    return _GLUED_MARKERS.sub(r" \1 ", low) if "/" in low else low


def detect_form(name: str) -> tuple[str | None, str | None]:
    """Return ``(form, route)`` from the first matching form rule, or ``(None, None)``."""
    low = normalise(name)
    for pattern, form, route in FORM_RULES:
        if pattern.search(low):
            return form, route
    return None, None


def parse_strength(text: str, pair_rule: str = "first") -> Strength | None:
    """Parse the first strength expression in ``text``.

    ``pair_rule`` says which mass of a ``mass/mass`` pair is the opioid: ``first`` (as
    dm+d writes oxycodone/naloxone ``10mg/5mg`` or tramadol/paracetamol ``37.5mg/325mg``),
    or ``smaller`` for the paracetamol combinations, where brands sometimes put the
    paracetamol first (``500mg/10mg``) and the paracetamol is always the larger mass.
    """
    m = _STRENGTH.search(normalise(text))
    if not m:
        return None
    masses: list[tuple[float, str]] = [(float(m.group("num")), m.group("unit"))]
    if m.group("num2"):
        masses.append((float(m.group("num2")), m.group("unit")))
    denominator = ""
    for token in filter(None, m.group("rest").split("/")):
        t = _TOKEN.fullmatch(token.strip())
        if t is None:
            continue
        unit = t.group("unit")
        if unit in _MASS_TO_MG and t.group("num"):
            masses.append((float(t.group("num")), unit))
        else:
            denominator = token.strip().replace(" ", "")
    value, unit = masses[0]
    if pair_rule == "smaller" and len(masses) > 1:
        value, unit = min(masses, key=lambda vu: vu[0] * _MASS_TO_MG[vu[1]])
    return Strength(value=value, unit=unit, denominator=denominator)


def opioid_component(name: str, tokens: tuple[str, ...]) -> str:
    """Pick the part of a multi-ingredient name that belongs to the opioid.

    dm+d separates ingredients with a spaced slash (``Oxycodone 5mg / Naloxone 2.5mg``,
    ``Pethidine 100mg/2ml / Promethazine 50mg/2ml``). The part naming one of the
    substance's tokens is the opioid's; without such a part the whole name is used.
    """
    parts = [p for p in re.split(r"\s+/\s+", name) if p.strip()]
    if len(parts) < 2:
        return name
    low_tokens = tuple(t.lower() for t in tokens if t)
    for part in parts:
        low = part.lower()
        if any(t in low for t in low_tokens):
            return part
    return name


def read_name(name: str, tokens: tuple[str, ...] = (), pair_rule: str = "first") -> NameFacts:
    """Read form, route, strength and release facts from a product name."""
    low = normalise(name)
    form, route = detect_form(name)
    strength = parse_strength(opioid_component(name, tokens), pair_rule)
    wear = None
    if form == "patch":
        w = _WEAR.search(low)
        if w:
            wear = float(w.group(1)) * (24.0 if w.group(2) == "day" else 1.0)
    container = _CONTAINER_ML.search(low)
    return NameFacts(
        form=form,
        route=route,
        strength=strength,
        modified_release=bool(_MR.search(low)),
        once_daily=bool(_ONCE_DAILY.search(low)),
        wear_hours_stated=wear,
        container_ml=float(container.group(1)) if container else None,
    )
