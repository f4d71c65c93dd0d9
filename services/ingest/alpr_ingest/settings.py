from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from alpr_common.settings import BaseServiceSettings, service_config
from alpr_ingest.geo import SAMPLE_BOUNDARIES

# 344.4(d): ALPR data is purged 30 days after capture; a deployment may keep it less, never more.
POLICY_MAX_RETENTION_DAYS = 30


class IngestSettings(BaseServiceSettings):
    model_config = service_config("INGEST_")

    service_name: str = "ingest"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///var/ingest.db"

    # Retention (344.4(d)): days a read is kept after capture.
    retention_days: int = Field(default=POLICY_MAX_RETENTION_DAYS, ge=1)
    # Content-addressed JPEGs (sha256 file names) and case-file bundles.
    image_dir: Path = Path("var/ingest/images")
    export_dir: Path = Path("var/ingest/exports")
    # Zip-code and sector boundaries (GeoJSON) for vehicle-mounted cameras' GPS positions.
    boundary_file: Path = SAMPLE_BOUNDARIES

    # Largest request body accepted on the read routes (inline base64 images are large).
    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # A read is flagged when the camera clock is this far from ours; refused when it claims a
    # capture time further than `max_future_skew_seconds` in our future.
    clock_skew_seconds: int = Field(default=300, ge=0)
    max_future_skew_seconds: int = Field(default=300, ge=0)

    # The read path keeps camera sites per process: a change made in this process is seen at
    # once, one made by another process (a second worker, a CLI command) within this long.
    camera_cache_seconds: float = Field(default=2.0, ge=0)
    # Single reads are written in groups (`writer.ReadWriter`): under load a group's write
    # begins at least this long after the previous one ended, so more posts share it (fewer
    # statements and commits, less CPU a post); after a quiet spell a post is written at once.
    group_linger_seconds: float = Field(default=0.003, ge=0, le=0.1)

    # Camera health (344.3.1(b)): a camera with no read or heartbeat for this long is stale.
    stale_after_minutes: int = Field(default=60, ge=1)

    # Search: the widest time window one query may cover, and the largest page.
    search_max_window_days: int = Field(default=POLICY_MAX_RETENTION_DAYS, ge=1)
    search_max_page_size: int = Field(default=500, ge=1, le=5000)
    back_match_max_reads: int = Field(default=10_000, ge=1)

    # PostgreSQL partitions (one per capture day, UTC) created this many days ahead.
    partitions_ahead_days: int = Field(default=3, ge=1, le=60)
    # In-process maintenance (partitions ahead, purge): on in dev, a CronJob runs it elsewhere.
    run_maintenance: bool | None = None
    maintenance_interval_seconds: float = Field(default=3600.0, gt=0)
    # 344.4(d): purge at every start-up and answer no read until it has run (the database may be
    # a restored older state). Off only for an app that never serves (a schema dump).
    purge_at_startup: bool = True

    @field_validator("retention_days")
    @classmethod
    def _within_policy(cls, value: int) -> int:
        if value > POLICY_MAX_RETENTION_DAYS:
            raise ValueError(
                f"retention_days {value} refused: General Order 344.4(d) requires purging ALPR "
                f"data {POLICY_MAX_RETENTION_DAYS} days after capture; set "
                f"{POLICY_MAX_RETENTION_DAYS} or fewer"
            )
        return value

    @property
    def maintenance_enabled(self) -> bool:
        if self.run_maintenance is None:
            return self.environment == "dev"
        return self.run_maintenance
