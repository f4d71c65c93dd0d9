"""Who may call which ingest route. The scopes appear in the OpenAPI, which is where the gateway
reads its route table; a route only the `service` role may call is never exposed publicly."""

from __future__ import annotations

from typing import Annotated

from alpr_common.auth import Principal, ServiceCaller, require
from alpr_common.roles import PERSON_ROLES, Role

# Camera registry: administrators register, update and retire cameras.
CameraAdmin = Annotated[Principal, require(Role.ADMIN)]
# Cameras are not ALPR data; these roles see the registry (equity reviews, RTCC, audits).
CameraReader = Annotated[
    Principal,
    require(
        Role.ADMIN,
        Role.CHIEF_SECURITY_OFFICER,
        Role.RTCC_OPERATOR,
        Role.SUPERVISOR,
        Role.INVESTIGATOR,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    ),
]
# 344.3.2(c): the CSO (with PTU and Research and Planning) reviews permanent camera placement.
PlacementReviewer = Annotated[Principal, require(Role.CHIEF_SECURITY_OFFICER, Role.ADMIN)]
# 344.3.1(b): camera health for the people who keep the system running.
HealthReader = Annotated[
    Principal,
    require(Role.ADMIN, Role.CHIEF_SECURITY_OFFICER, Role.RTCC_OPERATOR, Role.SUPERVISOR),
]
# 344.3.1(b): any operator may report an equipment problem; the CSO receives them.
ProblemReporter = Annotated[Principal, require(*sorted(PERSON_ROLES))]
ChiefSecurityOfficer = Annotated[Principal, require(Role.CHIEF_SECURITY_OFFICER)]
# Cameras post reads (bound to their own cameras through the token's `cams` claim).
ReadPoster = Annotated[Principal, require(Role.CAMERA)]
# 344.4(c): searching ALPR data is for investigators and the RTCC (supervisors review them).
Searcher = Annotated[Principal, require(Role.INVESTIGATOR, Role.RTCC_OPERATOR, Role.SUPERVISOR)]
# 344.4(e), (f): investigators hold reads for their cases and export case files.
HoldCreator = Annotated[Principal, require(Role.INVESTIGATOR)]
HoldManager = Annotated[Principal, require(Role.INVESTIGATOR, Role.SUPERVISOR)]
HoldReader = Annotated[
    Principal,
    require(Role.INVESTIGATOR, Role.SUPERVISOR, Role.RISK_MANAGEMENT, Role.CITY_AUDITOR),
]
# The hot-list service's back-match: internal only.
Service = ServiceCaller

__all__ = [
    "CameraAdmin",
    "CameraReader",
    "ChiefSecurityOfficer",
    "HealthReader",
    "HoldCreator",
    "HoldManager",
    "HoldReader",
    "PlacementReviewer",
    "ProblemReporter",
    "ReadPoster",
    "Searcher",
    "Service",
]
