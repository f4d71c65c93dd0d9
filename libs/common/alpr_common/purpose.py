"""Purpose of use (344.4(a), 344.7(a)1): every query of ALPR data says why, in one way.

Callers send three headers (four for First Amendment matters); the gateway checks them before
forwarding and the services check them again, with the same code:

    X-ALPR-Purpose: criminal_investigation        (a code from PurposeCode)
    X-ALPR-Case: 2026-1234567                     (case or incident number)
    X-ALPR-Reason: stolen truck seen near ...     (free text, at least a few words)
    X-ALPR-Criminal-Nexus: threat made at ...     (only when the query concerns First
                                                   Amendment activity; flagged for review)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Header

from alpr_common.errors import Forbidden, Unprocessable

PURPOSE_HEADER = "X-ALPR-Purpose"
CASE_HEADER = "X-ALPR-Case"
REASON_HEADER = "X-ALPR-Reason"
NEXUS_HEADER = "X-ALPR-Criminal-Nexus"
FIRST_AMENDMENT_HEADER = "X-ALPR-First-Amendment"
PURPOSE_HEADERS = (PURPOSE_HEADER, CASE_HEADER, REASON_HEADER, NEXUS_HEADER, FIRST_AMENDMENT_HEADER)


class PurposeCode(StrEnum):
    """The allow-list: official, legitimate law-enforcement purposes (344.4(a)3)."""

    CRIMINAL_INVESTIGATION = "criminal_investigation"
    STOLEN_VEHICLE = "stolen_vehicle"
    MISSING_PERSON = "missing_person"
    ENDANGERED_PERSON = "endangered_person"
    AMBER_ALERT = "amber_alert"
    SILVER_ALERT = "silver_alert"
    WARRANT_SERVICE = "warrant_service"  # Class A or greater only; 344.2(c)
    ALERT_RESPONSE = "alert_response"  # RTCC verifying a hot-list hit
    AUDIT_REVIEW = "audit_review"  # Risk Management / City Auditor, 344.6
    RECORDS_REQUEST = "records_request"  # Gov. Code ch. 552 processing, 344.5(c)


# Purposes the policy forbids outright, with the clause that forbids them.
PROHIBITED_PURPOSES: dict[str, str] = {
    "revenue_collection": "344.4(a)5",
    "fines_fees": "344.4(a)5",
    "past_due_fines": "344.4(a)5",
    "class_c": "344.4(a)5",
    "warrant_roundup": "344.4(a)5",
    "immigration_status": "344.4(a)6",
    "reproductive_health": "344.4(a)6",
    "personal_use": "344.4(a)3",
    "protected_characteristic": "344.4(a)1",
    "harassment": "344.4(a)2",
}

# Free-text screens: a permitted code with a forbidden reason is still forbidden.
_PROHIBITED_TEXT: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(p, re.I), clause, what)
    for p, clause, what in [
        (r"\bwarrant\s*round[- ]?ups?\b", "344.4(a)5", "warrant round-ups"),
        (
            r"\b(past[- ]due|unpaid|outstanding)\s+(\w+\s+)?(fines?|fees?|tolls?|tickets?)\b",
            "344.4(a)5",
            "collecting fines or fees",
        ),
        (r"\bclass\s*c\b", "344.4(a)5", "Class C misdemeanors"),
        (r"\b(revenue|debt\s+collection|collect(ing)?\s+money)\b", "344.4(a)5", "revenue"),
        (r"\b(immigration|citizenship|alienage|deport\w*)\b", "344.4(a)6", "immigration status"),
        (
            r"\b(abortion|reproductive\s+health|family\s+planning\s+clinic)\b",
            "344.4(a)6",
            "reproductive health services",
        ),
        (r"\bpersonal\s+(use|reasons?|matter)\b", "344.4(a)3", "personal use"),
    ]
]

_FIRST_AMENDMENT_TEXT = re.compile(
    r"\b(rall(y|ies)|protest\w*|demonstrat(ion|ors?)\w*|march(es)?|vigil|picket\w*|"
    r"religious|church|mosque|synagogue|temple|worship|political\s+(meeting|event|group)|"
    r"organizational\s+meeting|assembly)\b",
    re.I,
)

MIN_REASON_CHARS = 10
MIN_NEXUS_CHARS = 10


@dataclass(frozen=True)
class Purpose:
    code: PurposeCode
    case_number: str
    reason: str
    criminal_nexus: str | None = None
    flags: tuple[str, ...] = field(default=())

    def as_log(self) -> dict[str, object]:
        return {
            "purpose": self.code.value,
            "case_number": self.case_number,
            "reason": self.reason,
            "criminal_nexus": self.criminal_nexus,
            "flags": list(self.flags),
        }


def check_purpose(
    code: str | None,
    case_number: str | None,
    reason: str | None,
    criminal_nexus: str | None = None,
    first_amendment: str | None = None,
) -> Purpose:
    """Validate a declared purpose; raise Forbidden (a use the policy bans) or Unprocessable
    (something missing), each naming the clause and what to send instead."""
    code = (code or "").strip().lower()
    if not code:
        raise Unprocessable(
            f"missing {PURPOSE_HEADER}: every query of ALPR data declares a purpose (344.4(a)3); "
            f"allowed: {', '.join(p.value for p in PurposeCode)}",
            extra={"clause": "344.4(a)3"},
        )
    if code in PROHIBITED_PURPOSES:
        clause = PROHIBITED_PURPOSES[code]
        raise Forbidden(
            f"purpose {code!r} is prohibited by General Order {clause}",
            extra={"clause": clause},
        )
    try:
        purpose_code = PurposeCode(code)
    except ValueError:
        raise Unprocessable(
            f"unknown purpose {code!r}; allowed: {', '.join(p.value for p in PurposeCode)}",
            extra={"clause": "344.4(a)3"},
        ) from None
    case_number = (case_number or "").strip()
    if not case_number:
        raise Unprocessable(
            f"missing {CASE_HEADER}: a case or incident number is required (344.4(a)3)",
            extra={"clause": "344.4(a)3"},
        )
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise Unprocessable(
            f"{REASON_HEADER} must explain the reason for the inquiry in at least "
            f"{MIN_REASON_CHARS} characters (344.7(a)1)",
            extra={"clause": "344.7(a)"},
        )
    for pattern, clause, what in _PROHIBITED_TEXT:
        if pattern.search(reason):
            raise Forbidden(
                f"the stated reason concerns {what}, a use prohibited by General Order {clause}",
                extra={"clause": clause},
            )
    flags: list[str] = []
    nexus = (criminal_nexus or "").strip() or None
    declared = (first_amendment or "").strip().lower() in {"1", "true", "yes"}
    if declared or _FIRST_AMENDMENT_TEXT.search(reason):
        if nexus is None or len(nexus) < MIN_NEXUS_CHARS:
            raise Forbidden(
                "this query concerns First Amendment activity; it needs a criminal nexus stated in "
                f"{NEXUS_HEADER} (344.4(a)4)",
                extra={"clause": "344.4(a)4"},
            )
        flags.append("first_amendment")
    return Purpose(purpose_code, case_number, reason, nexus, tuple(flags))


async def get_purpose(
    x_alpr_purpose: Annotated[
        str, Header(description="Purpose code (344.4(a)3)", examples=["criminal_investigation"])
    ],
    x_alpr_case: Annotated[
        str, Header(description="Case or incident number", examples=["2026-0042"])
    ],
    x_alpr_reason: Annotated[
        str,
        Header(
            description="Reason for the inquiry (344.7(a)1)",
            examples=["stolen pickup seen near the burglary"],
        ),
    ],
    x_alpr_criminal_nexus: Annotated[
        str | None, Header(description="Criminal nexus, required for First Amendment matters")
    ] = None,
    x_alpr_first_amendment: Annotated[
        str | None, Header(description="'yes' when the query concerns First Amendment activity")
    ] = None,
) -> Purpose:
    return check_purpose(
        x_alpr_purpose, x_alpr_case, x_alpr_reason, x_alpr_criminal_nexus, x_alpr_first_amendment
    )


# A route that reads ALPR data takes `purpose: PurposeDep`; the required X-ALPR-Purpose header
# then shows in its OpenAPI, which is how the gateway knows to check the purpose before forwarding.
PurposeDep = Annotated[Purpose, Depends(get_purpose)]
