"""Who may call which access route (344.2(b), 344.4(c)). The scopes appear in the OpenAPI, which is
where the gateway reads its route table; a route without one of these is public."""

from __future__ import annotations

from typing import Annotated

from alpr_common.auth import Principal, ServiceCaller, require
from alpr_common.roles import PERSON_ROLES, Role

# 344.2(b): only the Chief Security Officer grants roles, creates people and clients.
ChiefSecurityOfficer = Annotated[Principal, require(Role.CHIEF_SECURITY_OFFICER)]
# Looking people up: the CSO, system administrators, and training coordinators (who record
# training for them). None of them can change roles but the CSO.
PersonnelReader = Annotated[
    Principal,
    require(Role.CHIEF_SECURITY_OFFICER, Role.ADMIN, Role.TRAINING_COORDINATOR),
]
# 344.7(a): training is recorded by a training coordinator.
TrainingRecorder = Annotated[Principal, require(Role.TRAINING_COORDINATOR)]
TrainingReader = Annotated[
    Principal, require(Role.TRAINING_COORDINATOR, Role.CHIEF_SECURITY_OFFICER)
]
# 344.4(d), 344.6(c): the login record is read by the CSO and the auditors.
LoginAuditReader = Annotated[
    Principal,
    require(Role.CHIEF_SECURITY_OFFICER, Role.RISK_MANAGEMENT, Role.CITY_AUDITOR),
]
# Any person (their own profile and password), trained or not.
Person = Annotated[Principal, require(*sorted(PERSON_ROLES))]
# The gateway and the other services.
Service = ServiceCaller
# Any principal, for what concerns only its own token (sign-out).
Anyone = Annotated[Principal, require(*Role)]

__all__ = [
    "Anyone",
    "ChiefSecurityOfficer",
    "LoginAuditReader",
    "Person",
    "PersonnelReader",
    "Service",
    "TrainingReader",
    "TrainingRecorder",
]
