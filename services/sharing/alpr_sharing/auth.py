"""Who may call which sharing route. The scopes appear in the OpenAPI, which is where the gateway
reads its route table. An agency client (role `agency`, bound to one agency by the token's
`agency` claim) reaches only its own agency's requests and packages (404 for the others)."""

from __future__ import annotations

from typing import Annotated

from alpr_common.auth import Principal, require
from alpr_common.roles import PERSON_ROLES, Role

# The records unit keeps the register of agencies (GO 116).
AgencyRegistrar = Annotated[Principal, require(Role.RECORDS_OFFICER, Role.ADMIN)]
AgencyReader = Annotated[
    Principal,
    require(
        Role.RECORDS_OFFICER,
        Role.CHIEF_OF_POLICE,
        Role.ATIU_LIEUTENANT,
        Role.ADMIN,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
        Role.AGENCY,
    ),
]
# 344.4(b): the ATIU Lieutenant decides whether sharing with an outside agency continues.
AtiuLieutenant = Annotated[Principal, require(Role.ATIU_LIEUTENANT)]
# 344.4(b): any employee who believes an outside agency misused the data reports it.
MisuseReporter = Annotated[Principal, require(*sorted(PERSON_ROLES))]
MisuseReader = Annotated[
    Principal,
    require(Role.ATIU_LIEUTENANT, Role.CHIEF_OF_POLICE, Role.RISK_MANAGEMENT, Role.CITY_AUDITOR),
]
# An agency's system submits its own requests; the records officer enters any kind.
RequestSubmitter = Annotated[Principal, require(Role.AGENCY, Role.RECORDS_OFFICER)]
RequestReader = Annotated[
    Principal,
    require(
        Role.AGENCY,
        Role.RECORDS_OFFICER,
        Role.CHIEF_OF_POLICE,
        Role.ATIU_LIEUTENANT,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    ),
]
# The records officer reviews and decides; an escalated request is the Chief's (344.5(d)).
Reviewer = Annotated[Principal, require(Role.RECORDS_OFFICER, Role.CHIEF_OF_POLICE)]
ChiefOfPolice = Annotated[Principal, require(Role.CHIEF_OF_POLICE)]
Withdrawer = Annotated[Principal, require(Role.AGENCY, Role.RECORDS_OFFICER)]
PackageBuilder = Annotated[Principal, require(Role.RECORDS_OFFICER)]
PackageReader = Annotated[
    Principal,
    require(
        Role.AGENCY,
        Role.RECORDS_OFFICER,
        Role.CHIEF_OF_POLICE,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    ),
]
# The requester downloads: an agency its own packages, the records officer the packages of
# public-information and legal requests, which it hands over as the law requires (344.5(c)).
Downloader = Annotated[Principal, require(Role.AGENCY, Role.RECORDS_OFFICER)]
GrantRevoker = Annotated[
    Principal, require(Role.RECORDS_OFFICER, Role.ATIU_LIEUTENANT, Role.CHIEF_OF_POLICE)
]
# 344.6(b)6: the requester or the records officer records what the data led to.
OutcomeRecorder = Annotated[Principal, require(Role.AGENCY, Role.RECORDS_OFFICER)]

# Roles that see every request and package; an agency sees only its own.
OVERSEERS = frozenset(
    {
        Role.RECORDS_OFFICER,
        Role.CHIEF_OF_POLICE,
        Role.ATIU_LIEUTENANT,
        Role.ADMIN,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    }
)


def agency_scope(principal: Principal) -> str | None:
    """None for a department role that sees everything; else the one agency the caller speaks
    for ("" when an agency token carries no agency: it then sees nothing)."""
    if principal.roles & OVERSEERS:
        return None
    return principal.agency_id or ""
