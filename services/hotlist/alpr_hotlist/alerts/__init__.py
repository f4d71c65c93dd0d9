"""Alerts (344.3.2): the in-memory plate index (`index`) and what keeps it current (`refresh`),
reads matched into alerts (`matching`), the back-match of new entries against past reads
(`backmatch`), the live RTCC stream (`stream`) and the verification workflow (`workflow`)."""
