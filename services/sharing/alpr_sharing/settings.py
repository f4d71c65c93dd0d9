from __future__ import annotations

from pydantic import Field

from alpr_common.settings import BaseServiceSettings, service_config


class SharingSettings(BaseServiceSettings):
    model_config = service_config("SHARING_")

    service_name: str = "sharing"
    port: int = 8004
    database_url: str = "sqlite+aiosqlite:///var/sharing.db"

    # 344.5(d): what "a specific case" means here. A request naming more plates than this, or a
    # window longer than this, is broader than a specific case and goes to the Chief.
    escalate_over_plates: int = Field(default=5, ge=1)
    escalate_over_window_days: float = Field(default=7.0, gt=0)
    # No request may reach further back than the data is kept (344.4(d)).
    max_window_days: int = Field(default=30, ge=1, le=30)
    # How long a released package may be downloaded.
    grant_hours: float = Field(default=72.0, gt=0)
    # An approval not fulfilled within this many days lapses (`python -m alpr_sharing expire`).
    approval_days: int = Field(default=14, ge=1)
