from __future__ import annotations

from alpr_common.db import make_base, service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata
Base = make_base(registry)
OUTBOX = outbox_tables(metadata)
