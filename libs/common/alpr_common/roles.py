"""The roles of docs/design.md section 4. Routes declare the roles they allow; see auth.py."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    CHIEF_SECURITY_OFFICER = "chief_security_officer"
    ATIU_LIEUTENANT = "atiu_lieutenant"
    HOTLIST_MANAGER = "hotlist_manager"
    RTCC_OPERATOR = "rtcc_operator"
    OFFICER = "officer"
    INVESTIGATOR = "investigator"
    SUPERVISOR = "supervisor"
    RECORDS_OFFICER = "records_officer"
    CHIEF_OF_POLICE = "chief_of_police"
    RISK_MANAGEMENT = "risk_management"
    CITY_AUDITOR = "city_auditor"
    TRAINING_COORDINATOR = "training_coordinator"
    # Machine roles: held by clients, never by people.
    CAMERA = "camera"
    AGENCY = "agency"
    SERVICE = "service"


PERSON_ROLES = frozenset(r for r in Role if r not in {Role.CAMERA, Role.AGENCY, Role.SERVICE})
MACHINE_ROLES = frozenset({Role.CAMERA, Role.AGENCY, Role.SERVICE})
