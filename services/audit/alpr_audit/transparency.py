"""The public transparency page: what the ALPR system is and how much it is used, from audit's
own counters, with no plate number and no personal data: cameras by type, the retention period,
the lists in use, and reads, queries, shares and hits for the last 30 days and the last quarter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import facts, report, repository
from alpr_audit.schemas import HotlistInUse, TransparencyRead, WindowCounts

POLICY = "General Order 344: Automated License Plate Readers"


async def _window(session: AsyncSession, first: date, end: date, label: str) -> WindowCounts:
    start_at = datetime.combine(first, time(), UTC)
    end_at = datetime.combine(end, time(), UTC)
    daily = await repository.daily_counts(session, first_day=first, end_day=end)
    return WindowCounts(
        start=start_at,
        end=end_at,
        label=label,
        reads=await repository.reads_scanned(session, first_day=first, end_day=end),
        queries=daily.get(facts.QUERIES, 0),
        shares=daily.get(facts.SHARES, 0),
        hits=await repository.alerts_matched(session, start=start_at, end=end_at),
    )


async def transparency(session: AsyncSession, *, now: datetime, revision: str) -> TransparencyRead:
    today = now.astimezone(UTC).date()
    quarter = report.previous_quarter(now)
    q_first, q_end = report.quarter_days(quarter)
    cameras = [c for c in await repository.cameras(session) if c.status != "retired"]
    settings = await repository.settings_reported(session)
    retention = settings.get(facts.RETENTION_SETTING)
    lists = [h for h in await repository.hotlists(session) if h.status != "retired"]
    return TransparencyRead(
        generated_at=now,
        policy=POLICY,
        policy_revision=revision,
        retention_days=int(retention) if retention and retention.isdigit() else None,
        cameras_by_type=report.counts(c.camera_type for c in cameras),
        hotlists_in_use=[HotlistInUse(name=h.name, source=h.source) for h in lists],
        last_30_days=await _window(
            session, today - timedelta(days=30), today + timedelta(days=1), "last 30 days"
        ),
        last_quarter=await _window(session, q_first, q_end, f"{quarter[:4]} Q{quarter[5]}"),
    )


def _rows(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)


def html_page(t: TransparencyRead) -> str:
    """The page as HTML: inline CSS, nothing loaded from anywhere."""
    windows = (t.last_30_days, t.last_quarter)
    usage = "".join(
        f"<tr><th>{escape(name)}</th>"
        + "".join(f'<td class="n">{getattr(w, key):,}</td>' for w in windows)
        + "</tr>"
        for name, key in (
            ("Plates scanned", "reads"),
            ("Searches (each with a recorded purpose)", "queries"),
            ("Data shared with other agencies", "shares"),
            ("Hot-list hits", "hits"),
        )
    )
    cameras = _rows([(c.key, str(c.count)) for c in t.cameras_by_type]) or (
        "<tr><td>No camera reported yet</td></tr>"
    )
    lists = "".join(f"<li>{escape(h.name)} ({escape(h.source)})</li>" for h in t.hotlists_in_use)
    retention = f"{t.retention_days} days" if t.retention_days else "not reported yet"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>ALPR transparency</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1"><style>'
        "body{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#111}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #bbb;"
        "padding:.25rem .6rem;text-align:left}td.n{text-align:right}</style></head><body>"
        "<h1>Automated License Plate Readers: transparency</h1>"
        f"<p>{escape(t.policy)} ({escape(t.policy_revision)}). Reads are kept for "
        f"{escape(retention)}, then purged unless held for a criminal investigation or a "
        "missing or endangered person. Figures come from the system's own audit records; "
        f"generated {t.generated_at.isoformat()}.</p>"
        "<h2>Use</h2><table><thead><tr><th></th>"
        + "".join(f"<th>{escape(w.label)}</th>" for w in windows)
        + f"</tr></thead><tbody>{usage}</tbody></table>"
        f"<h2>Cameras in service</h2><table><tbody>{cameras}</tbody></table>"
        f"<h2>Hot lists in use</h2><ul>{lists or '<li>none</li>'}</ul>"
        "</body></html>"
    )
