from __future__ import annotations

import re
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from alpr_common.settings import BaseServiceSettings, service_config

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class HotlistSettings(BaseServiceSettings):
    model_config = service_config("HOTLIST_")

    service_name: str = "hotlist"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/hotlist.db"

    # One alert per (entry, camera) within this window; later reads in it are added as hits.
    alert_window_seconds: int = Field(default=300, ge=1, le=86_400)
    # Each replica polls the index version this often (other replicas' changes arrive this late
    # at worst; a replica's own changes and every read batch check the version first anyway).
    index_poll_seconds: float = Field(default=0.5, gt=0)
    # Beyond this many changed entries a replica rebuilds its index instead of patching it.
    index_rebuild_threshold: int = Field(default=200_000, ge=1)
    # Background work (index polling, back-match jobs); tests drive both by hand.
    run_workers: bool = True

    # Back-match: new or changed entries are matched against the reads of the last hours.
    back_match_hours: float = Field(default=6.0, gt=0, le=24 * 30)
    back_match_interval_seconds: float = Field(default=2.0, gt=0)
    back_match_plates_per_job: int = Field(default=500, ge=1, le=10_000)
    back_match_max_backoff_seconds: float = Field(default=300.0, gt=0)

    # Live stream (RTCC): heartbeat comments keep proxies from closing an idle stream; the poll
    # picks up alerts other replicas created.
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_poll_seconds: float = Field(default=1.0, gt=0)
    stream_queue_size: int = Field(default=1000, ge=10)

    max_import_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    # 344.4(g): without a shift end in the report, the report is due at the first of these local
    # shift changes after the action.
    agency_timezone: str = "America/Chicago"
    shift_end_times: list[str] = Field(default_factory=lambda: ["06:00", "14:00", "22:00"])

    @field_validator("agency_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @field_validator("shift_end_times")
    @classmethod
    def _shift_times(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one shift end time (HH:MM) is needed")
        for item in value:
            if not _HHMM.match(item):
                raise ValueError(f"shift end {item!r} is not HH:MM (24-hour)")
        return sorted(set(value))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.agency_timezone)

    @property
    def shift_ends(self) -> list[time]:
        return [time(int(t[:2]), int(t[3:])) for t in self.shift_end_times]
