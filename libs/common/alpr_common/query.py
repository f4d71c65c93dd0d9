"""344.4(a)1: no query of ALPR data by race or another protected characteristic exists, and
asking for one is refused. One check, used by the gateway and by every service (a service called
directly refuses what the gateway refuses)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl

from alpr_common.errors import Forbidden

PROTECTED_ATTRIBUTES = frozenset(
    {
        "race",
        "color",
        "colour",
        "religion",
        "creed",
        "sex",
        "gender",
        "gender_identity",
        "sexual_orientation",
        "age",
        "national_origin",
        "ethnicity",
        "disability",
        "veteran_status",
        "marital_status",
        "partnership_status",
        "pregnancy_status",
        "political_affiliation",
        "political_beliefs",
        "alienage",
        "citizenship",
        "citizenship_status",
        "immigration_status",
    }
)

# What follows a parameter's name in the conventions frameworks use for structure:
# `race[]`, `race[0]`, `race.eq`, `race:in`.
_SUFFIX = re.compile(r"[\[.:(].*\Z", re.DOTALL)
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_name(name: str) -> str:
    """A parameter name as a server might read it: percent-decoded (by the caller), Unicode
    compatibility-folded, case-folded, without control, format (zero-width) or surrounding
    characters, structure suffixes dropped, and `-` or spaces read as `_`."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = "".join(
        ch for ch in folded if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    kept = _SUFFIX.sub("", kept.strip())
    return _SEPARATORS.sub("_", kept).strip("_")


def banned_query_parameters(query: str) -> list[str]:
    """The protected attributes a raw query string asks for (by parameter name), sorted."""
    if not query:
        return []
    names = {normalise_name(k) for k, _ in parse_qsl(query, keep_blank_values=True)}
    return sorted(names & PROTECTED_ATTRIBUTES)


def refuse_protected_attributes(query: str) -> None:
    banned = banned_query_parameters(query)
    if banned:
        raise Forbidden(
            f"querying by {', '.join(banned)} is prohibited (General Order 344.4(a)1)",
            extra={"clause": "344.4(a)1"},
        )
