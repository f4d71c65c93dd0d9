from __future__ import annotations

from pathlib import Path

from alpr_common.settings import BaseServiceSettings, service_config


class AuditSettings(BaseServiceSettings):
    model_config = service_config("AUDIT_")

    service_name: str = "audit"
    port: int = 8005
    database_url: str = "sqlite+aiosqlite:///var/audit.db"
    checkpoint_dir: Path = Path("var/audit-checkpoints")
    checkpoint_key_file: Path = Path("var/keys/audit-checkpoint.pem")
    checkpoint_interval_seconds: float = 300.0
