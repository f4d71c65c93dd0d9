"""Who may call which audit route. Reading the log is for the auditors of 344.6(c) and the
Chief Security Officer, who monitors access to the data (344.2(b), 344.4(c)). Risk Management
runs the random audit and records findings (344.6(a)); the City Auditor reads everything here and
changes nothing (344.6(c))."""

from __future__ import annotations

from typing import Annotated

from alpr_common.auth import Principal, require
from alpr_common.roles import PERSON_ROLES, Role

AUDIT_READERS = (Role.RISK_MANAGEMENT, Role.CITY_AUDITOR, Role.CHIEF_SECURITY_OFFICER)
# 344.4(a)7: anyone with access may report a misuse; the City Auditor, who mutates nothing in
# audit (344.6(c)), reports through Risk Management.
ALLEGATION_REPORTERS = tuple(sorted(PERSON_ROLES - {Role.CITY_AUDITOR}))
# 344.3.2(c): the CSO works with Research and Planning on camera placement.
POPULATION_IMPORTERS = (Role.CHIEF_SECURITY_OFFICER, Role.RISK_MANAGEMENT)

AuditReader = Annotated[Principal, require(*AUDIT_READERS)]

# 344.6: the report goes to the Chief of Police; Risk Management and the City Auditor audit.
REPORT_READERS = (*AUDIT_READERS, Role.CHIEF_OF_POLICE)
# 344.6(b)8: who records a change of department policy that affects privacy. The City Auditor
# reads and never writes (344.6(c)).
POLICY_RECORDERS = (Role.RISK_MANAGEMENT, Role.CHIEF_OF_POLICE)

ReportReader = Annotated[Principal, require(*REPORT_READERS)]
PolicyRecorder = Annotated[Principal, require(*POLICY_RECORDERS)]
RiskManager = Annotated[Principal, require(Role.RISK_MANAGEMENT)]
AllegationReporter = Annotated[Principal, require(*ALLEGATION_REPORTERS)]
PopulationImporter = Annotated[Principal, require(*POPULATION_IMPORTERS)]
