"""344.2(b): the Chief Security Officer's daily digest of login attempts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.schemas import DigestEntry, DigestTotals, LoginDigest, OffHoursLogin
from alpr_access.settings import AccessSettings
from alpr_common.errors import Unprocessable

MIN_DIGEST_YEAR = 2000
MAX_DIGEST_YEAR = 2999


def _off_hours(local: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end


async def login_digest(
    session: AsyncSession, *, settings: AccessSettings, day: date
) -> LoginDigest:
    """344.2(b): the CSO's daily digest of login attempts, per name, local day."""
    if not MIN_DIGEST_YEAR <= day.year <= MAX_DIGEST_YEAR:
        raise Unprocessable(
            f"the digest date must be between {MIN_DIGEST_YEAR} and {MAX_DIGEST_YEAR}"
        )
    tz = ZoneInfo(settings.digest_timezone)
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    attempts = await repo.attempts_between(session, start, end)
    lockouts = await repo.lockouts_between(session, start, end)
    names = {a.username for a in attempts} | {name for _, name in lockouts}
    seen_before = await repo.addresses_seen_before(session, names, start)

    entries: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return entries.setdefault(
            name,
            {
                "username": name,
                "subject": None,
                "kind": "person",
                "successes": 0,
                "failures": 0,
                "locked_attempts": 0,
                "lockouts": 0,
                "source_addresses": [],
                "first_seen_addresses": [],
                "off_hours_logins": [],
            },
        )

    for a in attempts:
        e = entry(a.username)
        e["subject"] = e["subject"] or a.subject
        e["kind"] = a.kind
        key = {"success": "successes", "failure": "failures", "locked": "locked_attempts"}
        e[key.get(a.outcome, "failures")] += 1
        address = a.source_address
        if address and address not in e["source_addresses"]:
            e["source_addresses"].append(address)
            if (a.username, address) not in seen_before:
                e["first_seen_addresses"].append(address)
        local = a.at.astimezone(tz)
        if a.outcome == "success" and _off_hours(
            local.time(), settings.off_hours_start, settings.off_hours_end
        ):
            e["off_hours_logins"].append(
                OffHoursLogin(at=a.at, local_time=f"{local:%H:%M}", source_address=address)
            )
    for lock, name in lockouts:
        e = entry(name)
        e["subject"] = e["subject"] or f"user:{lock.user_id}"
        e["lockouts"] += 1
    rows = sorted(
        (DigestEntry(**e) for e in entries.values()),
        key=lambda d: (-(d.failures + d.locked_attempts + d.lockouts), d.username),
    )
    return LoginDigest(
        date=day,
        timezone=settings.digest_timezone,
        starts_at=start,
        ends_at=end,
        off_hours=f"{settings.off_hours_start:%H:%M}-{settings.off_hours_end:%H:%M}",
        totals=DigestTotals(
            attempts=len(attempts),
            successes=sum(d.successes for d in rows),
            failures=sum(d.failures for d in rows),
            locked_attempts=sum(d.locked_attempts for d in rows),
            lockouts=sum(d.lockouts for d in rows),
            off_hours_logins=sum(len(d.off_hours_logins) for d in rows),
            first_seen_addresses=sum(len(d.first_seen_addresses) for d in rows),
        ),
        entries=rows,
    )
