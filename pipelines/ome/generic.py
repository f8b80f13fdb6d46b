"""A brand's generic equivalent, and what a brand's name leaves out taken from it.

Older prescribing files name brands tersely: ``Zomorph_Cap 10mg`` carries no release
marker, ``Remedeine_Tab`` no strength, ``Cyclimorph 10_Inj 1ml Amp`` a number with no
unit. The BNF code says more than the name: every presentation has a generic equivalent,
the same product prescribed generically, whose code is characters 1-9 of the brand's code,
then ``AA``, then characters 14-15 twice (``0407020Q0BBAAAB`` -> ``0407020Q0AAABAB``).
The generic's name is written in full (``Morph Sulf_Cap 10mg M/R``), so a brand takes
from it whatever its own name does not state: the dose form (and so the route), the
strength and the release type. What the brand's name does state always wins.
"""

from __future__ import annotations

from dataclasses import replace

from pipelines.ome.parse import NameFacts

_GENERIC_PRODUCT = "AA"


def is_generic(bnf_code: str) -> bool:
    """True for a 15-character code whose product characters (10-11) are ``AA``."""
    code = bnf_code.strip().upper()
    return len(code) == 15 and code[9:11] == _GENERIC_PRODUCT


def generic_code(bnf_code: str | None) -> str | None:
    """The generic equivalent of a branded 15-character code; None for generics and others."""
    code = (bnf_code or "").strip().upper()
    if len(code) != 15 or code[9:11] == _GENERIC_PRODUCT:
        return None
    return code[:9] + _GENERIC_PRODUCT + code[13:15] * 2


def complete(brand: NameFacts, generic: NameFacts) -> tuple[NameFacts, tuple[str, ...]]:
    """Fill the gaps in a brand's name facts from its generic's; say what was taken.

    * form and route, when the brand's name gives no recognisable form;
    * strength, when the brand's name gives none (``Remedeine_Tab``);
    * modified release, when the generic is modified-release and the brand names the same
      form (or none) without a release marker (``Zomorph_Cap 10mg``); the once-daily
      marker comes along with it;
    * container volume and stated wear time, when only the generic states them.
    """
    taken: list[str] = []
    form, route = brand.form, brand.route
    if form is None and generic.form is not None:
        form, route = generic.form, generic.route
        taken.append("form")
    strength = brand.strength
    if strength is None and generic.strength is not None:
        strength = generic.strength
        taken.append("strength")
    modified_release, once_daily = brand.modified_release, brand.once_daily
    if not modified_release and generic.modified_release and form == generic.form:
        modified_release = True
        once_daily = once_daily or generic.once_daily
        taken.append("release type")
    filled = replace(
        brand,
        form=form,
        route=route,
        strength=strength,
        modified_release=modified_release,
        once_daily=once_daily,
        wear_hours_stated=brand.wear_hours_stated or generic.wear_hours_stated,
        container_ml=brand.container_ml or generic.container_ml,
    )
    return filled, tuple(taken)
