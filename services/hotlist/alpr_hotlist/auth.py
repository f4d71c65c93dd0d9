"""Who may call which hotlist route (344.4(c): access by role and need). The scopes appear in the
OpenAPI, which is where the gateway reads its route table."""

from __future__ import annotations

from typing import Annotated

from alpr_common.auth import Principal, require
from alpr_common.roles import Role

# Hot lists and their entries: the people who manage, monitor, act on or audit them.
ListReader = Annotated[
    Principal,
    require(
        Role.HOTLIST_MANAGER,
        Role.RTCC_OPERATOR,
        Role.OFFICER,
        Role.INVESTIGATOR,
        Role.SUPERVISOR,
        Role.CHIEF_SECURITY_OFFICER,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    ),
]
# Lists, imports and the review of held records belong to the hotlist managers.
HotlistManager = Annotated[Principal, require(Role.HOTLIST_MANAGER)]
# 344.6(b)7: manual entries are counted by the entering user's role, so several roles may enter.
ManualEntryWriter = Annotated[
    Principal,
    require(Role.HOTLIST_MANAGER, Role.RTCC_OPERATOR, Role.INVESTIGATOR, Role.SUPERVISOR),
]
# 344.3.2(a): RTCC personnel monitor alerts and record what they did.
RtccOperator = Annotated[Principal, require(Role.RTCC_OPERATOR)]
# 344.3.2(b): the officers in the field confirm, verify and act.
FieldOfficer = Annotated[Principal, require(Role.OFFICER, Role.INVESTIGATOR, Role.SUPERVISOR)]
AlertReader = Annotated[
    Principal,
    require(
        Role.RTCC_OPERATOR,
        Role.OFFICER,
        Role.INVESTIGATOR,
        Role.SUPERVISOR,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    ),
]
StreamReader = Annotated[Principal, require(Role.RTCC_OPERATOR, Role.SUPERVISOR)]
# 344.4(g): the officer reports; the supervisor and Risk Management are told; auditors read.
IncidentReporter = Annotated[Principal, require(Role.OFFICER, Role.INVESTIGATOR, Role.SUPERVISOR)]
IncidentReader = Annotated[
    Principal,
    require(
        Role.OFFICER,
        Role.INVESTIGATOR,
        Role.SUPERVISOR,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    ),
]
InboxReader = Annotated[Principal, require(Role.SUPERVISOR, Role.RISK_MANAGEMENT)]

# Roles that see every incident; the others see the ones they reported.
INCIDENT_OVERSEERS = frozenset({Role.SUPERVISOR, Role.RISK_MANAGEMENT, Role.CITY_AUDITOR})
# Roles that may change any entry; the others change the entries they made.
ENTRY_OVERSEERS = frozenset({Role.HOTLIST_MANAGER, Role.SUPERVISOR})
# The role an entry is attributed to (344.6(b)7) when the person holds several.
ATTRIBUTION_ORDER = (
    Role.HOTLIST_MANAGER,
    Role.SUPERVISOR,
    Role.INVESTIGATOR,
    Role.RTCC_OPERATOR,
    Role.OFFICER,
)
INBOX_ROLES = (Role.SUPERVISOR, Role.RISK_MANAGEMENT)


def acting_role(principal: Principal) -> str:
    for role in ATTRIBUTION_ORDER:
        if role.value in principal.roles:
            return role.value
    return sorted(principal.roles)[0] if principal.roles else "unknown"
