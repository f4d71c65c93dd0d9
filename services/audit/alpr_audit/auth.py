"""Who may call which audit route. Reading the log is for the auditors of 344.6(c) and the
Chief Security Officer, who monitors access to the data (344.2(b), 344.4(c))."""

from __future__ import annotations

from typing import Annotated

from alpr_common.auth import Principal, require
from alpr_common.roles import Role

AUDIT_READERS = (Role.RISK_MANAGEMENT, Role.CITY_AUDITOR, Role.CHIEF_SECURITY_OFFICER)

AuditReader = Annotated[Principal, require(*AUDIT_READERS)]

# 344.6: the report goes to the Chief of Police; Risk Management and the City Auditor audit.
REPORT_READERS = (*AUDIT_READERS, Role.CHIEF_OF_POLICE)
# 344.6(b)8: who records a change of department policy that affects privacy. The City Auditor
# reads and never writes (344.6(c)).
POLICY_RECORDERS = (Role.RISK_MANAGEMENT, Role.CHIEF_OF_POLICE)

ReportReader = Annotated[Principal, require(*REPORT_READERS)]
PolicyRecorder = Annotated[Principal, require(*POLICY_RECORDERS)]
