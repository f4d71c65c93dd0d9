"""Beyond the 13 (DESIGN section 7): what audit's own transaction log shows about how the system
was used in a period, for Risk Management and the City Auditor (344.4(d), 344.6).

The rules, each stated in its section of the result:

- First Amendment: queries the gateway flagged `first_amendment` (344.4(a)4), with whether a
  criminal nexus was recorded and how the gateway answered.
- Volume: queries of ALPR data (gateway requests carrying a purpose) per user; a user is an
  outlier above median + k * max(MAD, 1) of the period's users (MAD: median absolute deviation).
- Off hours: queries whose local time is outside the configured working hours.
- Repeated plates: one plate searched (`ingest.search`) at least N times by searches with no case
  linkage: no case number, or one that has no hold or case export on the log before the period
  ends. Plates appear only as the first 16 hex digits of their SHA-256.
- Refusals: gateway answers of 4xx/5xx by refusal reason and status.
- Chain: the hash chain's verification now and the latest signed checkpoint.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import repository, verification
from alpr_audit.checkpoints import CheckpointStore
from alpr_audit.review_schemas import (
    ChainStatusRead,
    FindingsQuarterSummary,
    FlaggedQueryRead,
    OffHoursRead,
    RefusalRead,
    RepeatedPlateRead,
    RepeatedPlatesRead,
    UserVolumeRead,
    VolumeFindingsRead,
)
from alpr_audit.settings import AuditSettings

FIRST_AMENDMENT_FLAG = "first_amendment"
SEARCH = "ingest.search"
_PLATE_NOISE = re.compile(r"[\s\-·.]")


@dataclass(frozen=True)
class FindingRules:
    local_timezone: str = "America/Chicago"
    work_hours_start: int = 6
    work_hours_end: int = 22
    volume_outlier_k: float = 3.0
    repeated_plate_threshold: int = 3

    @classmethod
    def from_settings(cls, settings: AuditSettings) -> FindingRules:
        return cls(
            local_timezone=settings.local_timezone,
            work_hours_start=settings.work_hours_start,
            work_hours_end=settings.work_hours_end,
            volume_outlier_k=settings.volume_outlier_k,
            repeated_plate_threshold=settings.repeated_plate_threshold,
        )


def plate_hash(plate: str) -> str:
    """A stable pseudonym for a plate: SHA-256 of the plate, upper case without separators."""
    normal = _PLATE_NOISE.sub("", plate).upper()
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def _data(row: Any) -> Mapping[str, Any]:
    data = row._mapping["data"]
    return data if isinstance(data, dict) else {}


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _flags(row: Any) -> list[str]:
    return [f for f in (row._mapping["flags"] or "").split(",") if f]


def _volume(per_user: Counter[str], k: float) -> VolumeFindingsRead:
    counts = sorted(per_user.values())
    median = float(statistics.median(counts)) if counts else 0.0
    mad = float(statistics.median([abs(c - median) for c in counts])) if counts else 0.0
    threshold = median + k * max(mad, 1.0)
    ranked = sorted(per_user.items(), key=lambda kv: (-kv[1], kv[0]))
    return VolumeFindingsRead(
        rule=f"queries per user above median + {k:g} * max(MAD, 1)",
        users=len(per_user),
        median=median,
        mad=mad,
        threshold=threshold,
        outliers=[UserVolumeRead(subject=s, queries=n) for s, n in ranked if n > threshold],
        top=[UserVolumeRead(subject=s, queries=n) for s, n in ranked[:10]],
    )


async def _repeated_plates(
    session: AsyncSession, *, start: datetime, end: datetime, threshold: int
) -> RepeatedPlatesRead:
    with_files = await repository.case_numbers_with_files(session, end=end)
    groups: dict[str, list[tuple[int, str | None, str | None]]] = defaultdict(list)
    async for page in repository.iter_typed_entries(session, [SEARCH], start=start, end=end):
        for row in page:
            data = _data(row)
            criteria = data.get("criteria")
            plate = criteria.get("plate") if isinstance(criteria, dict) else None
            if not isinstance(plate, str) or not plate.strip():
                continue
            case = _str(data, "case_number")
            if case is not None and case in with_files:
                continue  # linked to a case file: a hold or an export under that case
            groups[plate_hash(plate)].append((int(row.seq), row._mapping["subject"], case))
    plates = [
        RepeatedPlateRead(
            plate_hash=h,
            unlinked_searches=len(rows),
            subjects=sorted({s for _, s, _ in rows if s}),
            case_numbers=sorted({c for _, _, c in rows if c}),
            first_seq=rows[0][0],
            last_seq=rows[-1][0],
        )
        for h, rows in groups.items()
        if len(rows) >= threshold
    ]
    plates.sort(key=lambda p: (-p.unlinked_searches, p.plate_hash))
    return RepeatedPlatesRead(
        rule=f"one plate searched at least {threshold} times with no case number that has a "
        "hold or case export on the log",
        plates=plates,
    )


async def _answers_of_flagged(
    session: AsyncSession, flagged: dict[str, FlaggedQueryRead], *, end: datetime
) -> None:
    ids = list(flagged)
    for i in range(0, len(ids), 500):
        answers = repository.iter_typed_entries(
            session,
            [repository.GATEWAY_RESPONSE],
            start=None,
            # An answer logged just after the period's end still belongs to its request.
            end=end + timedelta(hours=1),
            where=[repository.for_requests(ids[i : i + 500])],
        )
        async for page in answers:
            for row in page:
                hit = flagged.get(row._mapping["request_id"] or "")
                if hit is not None and hit.status is None:
                    hit.status = row._mapping["status"]


async def _refusals(
    session: AsyncSession, *, start: datetime, end: datetime
) -> Counter[tuple[str, int]]:
    refusals: Counter[tuple[str, int]] = Counter()
    answers = repository.iter_typed_entries(
        session,
        [repository.GATEWAY_RESPONSE],
        start=start,
        end=end,
        where=[repository.refused()],
    )
    async for page in answers:
        for row in page:
            reason = _str(_data(row), "refused_reason") or "(none given)"
            refusals[(reason, int(row._mapping["status"]))] += 1
    return refusals


async def chain_status(
    session: AsyncSession, *, store: CheckpointStore, page_size: int = 1000
) -> ChainStatusRead:
    result = await verification.verify_log(
        session, store=store, checkpoint_count=1, page_size=page_size
    )
    return ChainStatusRead(
        ok=result.ok,
        verified_at=result.verified_at,
        entries_checked=result.entries_checked,
        broken_entries=result.broken_entries,
        checkpoint_problems=len(result.checkpoint_problems),
        latest_checkpoint=result.latest_checkpoint,
    )


async def quarter_summary(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    rules: FindingRules | None = None,
    store: CheckpointStore | None = None,
) -> FindingsQuarterSummary:
    """The findings for [start, end); the chain section only when a checkpoint store is given."""
    rules = rules or FindingRules()
    zone = ZoneInfo(rules.local_timezone)
    per_user: Counter[str] = Counter()
    off_hours: Counter[str] = Counter()
    flagged: dict[str, FlaggedQueryRead] = {}
    queries = 0
    # Only queries of ALPR data (requests with a purpose): camera posts and the like are most of
    # the gateway's traffic and none of these findings.
    requests = repository.iter_typed_entries(
        session,
        [repository.GATEWAY_REQUEST],
        start=start,
        end=end,
        where=[repository.has_purpose()],
    )
    async for page in requests:
        for row in page:
            m = row._mapping
            data = _data(row)
            queries += 1
            subject = m["subject"] or "(unknown)"
            per_user[subject] += 1
            local_hour = m["occurred_at"].astimezone(zone).hour
            if not rules.work_hours_start <= local_hour < rules.work_hours_end:
                off_hours[subject] += 1
            if FIRST_AMENDMENT_FLAG in _flags(row) and m["request_id"]:
                flagged[m["request_id"]] = FlaggedQueryRead(
                    log_seq=m["seq"],
                    occurred_at=m["occurred_at"],
                    subject=m["subject"],
                    purpose=_str(data, "purpose"),
                    case_number=_str(data, "case_number"),
                    criminal_nexus_recorded=_str(data, "criminal_nexus") is not None,
                    path=_str(data, "path"),
                    status=None,
                )
    await _answers_of_flagged(session, flagged, end=end)
    refusals = await _refusals(session, start=start, end=end)
    return FindingsQuarterSummary(
        start=start,
        end=end,
        queries=queries,
        first_amendment=list(flagged.values()),
        volume=_volume(per_user, rules.volume_outlier_k),
        off_hours=OffHoursRead(
            rule=f"local time ({rules.local_timezone}) before {rules.work_hours_start:02d}:00 "
            f"or from {rules.work_hours_end:02d}:00",
            queries=sum(off_hours.values()),
            by_user=[
                UserVolumeRead(subject=s, queries=n)
                for s, n in sorted(off_hours.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        ),
        repeated_plates=await _repeated_plates(
            session, start=start, end=end, threshold=rules.repeated_plate_threshold
        ),
        refusals=[
            RefusalRead(reason=reason, status=status, count=n)
            for (reason, status), n in sorted(refusals.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        chain=await chain_status(session, store=store) if store is not None else None,
    )
