"""The rules each kind of request must meet before it is taken in (344.5(a)-(c), 344.6(b)4):
who asks and as what kind of requester, the grounds of an agency's request (a live hot-list
entry for a missing or endangered person, checked at hotlist, or a documented investigation),
the documents of a legal disclosure, the requester of a public-information or preservation
request, and the named plates and bounded window every request has."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import sharing as contract
from alpr_common.errors import Forbidden
from alpr_common.roles import Role
from alpr_sharing import agencies, clients
from alpr_sharing.deps import Upstream
from alpr_sharing.errors import InvalidRequest, PolicyRefused
from alpr_sharing.models import Agency
from alpr_sharing.schemas import RequestCreate

# What ties a hot-listed vehicle to a missing or endangered person (344.5(b)).
MISSING_PERSON_GROUNDS = "Amber alert, Silver alert, or a BOLO for a missing or endangered person"
_PLATE_SEPARATORS = re.compile(r"[ .-]")


def plates(plates: list[str]) -> list[str]:
    out = []
    for raw in plates:
        plate = _PLATE_SEPARATORS.sub("", raw).upper()
        if not 1 <= len(plate) <= 15:
            raise InvalidRequest(f"plate {raw!r} is not 1 to 15 letters and digits")
        out.append(plate)
    return sorted(set(out))


def window_days(since: datetime, until: datetime) -> float:
    return (until - since).total_seconds() / 86400


# --- who asks -----------------------------------------------------------------------------------


async def requesting_agency(
    session: AsyncSession, *, actor: Principal, data: RequestCreate
) -> Agency | None:
    if Role.AGENCY in actor.roles and Role.RECORDS_OFFICER not in actor.roles:
        # An agency's system speaks only for the agency its client is bound to.
        if not actor.agency_id:
            raise Forbidden("this agency client is bound to no agency; ask the CSO to bind it")
        if data.agency_id is not None and data.agency_id != actor.agency_id:
            raise InvalidRequest("agency_id must be your own agency's id, or left out")
        return await agencies.load(session, actor.agency_id)
    if data.agency_id is None:
        return None
    return await agencies.load(session, data.agency_id)


def requester_type(data: RequestCreate, agency: Agency | None) -> contract.RequesterType:
    if data.kind == "preservation":
        if data.requester_type is None:
            raise InvalidRequest(
                "a preservation request says who asks: requester_type `governmental` or "
                "`defendant` (344.6(b)4 counts them apart)"
            )
        return data.requester_type
    if data.kind == "public_information":
        return "public"
    if agency is None:
        return "court" if data.kind == "legal_disclosure" else "other"
    kinds: dict[str, contract.RequesterType] = {
        "law_enforcement": "law_enforcement",
        "court": "court",
        "prosecutor": "governmental",
        "public": "public",
        "other": "other",
    }
    return kinds[agency.kind]


# --- the rules of each kind ---------------------------------------------------------------------


async def agency_data_rules(
    *, up: Upstream, data: RequestCreate, agency: Agency | None, plates: list[str]
) -> tuple[str, list[str]]:
    """344.5(a)-(b): only a law-enforcement agency, only for a hot-listed vehicle tied to a
    missing or endangered person or a documented ongoing criminal investigation."""
    if agency is None:
        raise InvalidRequest("an agency data request names its agency (agency_id)")
    if agency.kind != "law_enforcement":
        raise PolicyRefused(
            "344.5(a)",
            f"{agency.name!r} is not a law-enforcement agency ({agency.kind}): ALPR data is not "
            "distributed to non-law-enforcement entities; a public-information request goes "
            "through the records unit instead",
        )
    if data.grounds is None:
        raise PolicyRefused(
            "344.5(b)",
            "data is shared with another agency only for a hot-listed vehicle tied to a missing "
            "or endangered person (grounds `missing_person`) or a documented ongoing criminal "
            "investigation (grounds `criminal_investigation`)",
        )
    if data.grounds == "criminal_investigation":
        missing = [
            name
            for name, value in (("offense", data.offense), ("investigator", data.investigator))
            if not value
        ]
        if missing:
            raise PolicyRefused(
                "344.5(b)",
                "a criminal-investigation request documents the investigation: its case number, "
                f"offense and a named investigator (missing: {', '.join(missing)})",
            )
        return "criminal_investigation", plates
    if data.hotlist_entry_id is None:
        raise PolicyRefused(
            "344.5(b)",
            "a missing-person request names the hot-list entry (hotlist_entry_id) of the vehicle",
        )
    entry = await clients.hotlist_entry(up, data.hotlist_entry_id)
    if entry is None:
        raise PolicyRefused("344.5(b)", f"hot-list entry {data.hotlist_entry_id} does not exist")
    if not entry.get("live"):
        raise PolicyRefused(
            "344.5(b)",
            f"hot-list entry {data.hotlist_entry_id} is not live (status {entry.get('status')}, "
            "or expired): data is shared only for vehicles on the hot list",
        )
    if not entry.get("missing_person"):
        raise PolicyRefused(
            "344.5(b)",
            f"hot-list entry {data.hotlist_entry_id} is not an {MISSING_PERSON_GROUNDS}",
        )
    listed = str(entry.get("plate", ""))
    if plates and plates != [listed]:
        raise PolicyRefused(
            "344.5(b)",
            "a missing-person request covers only the hot-listed vehicle's plate",
        )
    return "missing_person", [listed]


def legal_rules(data: RequestCreate) -> str:
    missing = [
        name
        for name in ("document_type", "document_ref", "issuing_court", "ordered_scope")
        if not getattr(data, name)
    ]
    if missing:
        raise InvalidRequest(
            "a legally required disclosure names its document, the issuing court and the scope "
            f"as ordered (344.5(c)); missing: {', '.join(missing)}"
        )
    assert data.document_type is not None
    return data.document_type


def public_rules(data: RequestCreate) -> str:
    if not data.requester_name:
        raise InvalidRequest("a public-information request names its requester (requester_name)")
    return "public_information"


def preservation_rules(data: RequestCreate, now: datetime) -> str:
    if data.requester_type is None:
        raise InvalidRequest(
            "a preservation request says who asks: requester_type `governmental` or "
            "`defendant` (344.6(b)4 counts them apart)"
        )
    if data.deadline is None or data.deadline <= now.date():
        raise InvalidRequest("a preservation request gives a future deadline to keep the reads")
    return f"preservation_{data.requester_type}"


def check_window(settings_max_days: int, data: RequestCreate, now: datetime) -> None:
    if data.since >= data.until:
        raise InvalidRequest("`since` must be before `until`")
    if data.until > now + timedelta(minutes=5):
        raise InvalidRequest("`until` is in the future: only reads already captured are shared")
    if data.since < now - timedelta(days=settings_max_days):
        raise InvalidRequest(
            f"`since` is more than {settings_max_days} days ago: reads are purged after that "
            "(344.4(d)) and no request reaches further back"
        )
