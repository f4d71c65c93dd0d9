"""The gateway keeps no business tables: only its spool, the outbox that carries each
transaction to audit."""

from __future__ import annotations

from alpr_common.db import service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata
OUTBOX = outbox_tables(metadata)
