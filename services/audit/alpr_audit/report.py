"""The quarterly audit report of General Order 344.6(b): its 13 items for any quarter or range of
days, computed from audit's own fact tables (facts.py) only, never from another service's data, so
purging raw reads in ingest changes no past quarter.

When things are counted: a match (alert) by when the read matched; a confirmation, a finding that
a match did not correlate, and an outcome by when they were recorded; scans by UTC day. A match
counts as confirmed once the visual check and NCIC/TCIC both held (344.3.2(b)1-2); if it is later
found not to correlate (a mismatch, a dismissal as misread or not correlated, a wrong vehicle) it
counts only as not correlated, in the period of that finding."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import allegations, findings, repository, reviews
from alpr_audit.errors import BadPeriod
from alpr_audit.schemas import (
    AgencyOutcomes,
    AgencySharing,
    BeyondSection,
    Count,
    DetentionsWithoutInvestigation,
    Hits,
    IncidentRow,
    ListMatches,
    ListOutcomes,
    ManualEntries,
    MatchesPerList,
    MatchOutcomes,
    Offenses,
    PlatesScanned,
    PolicyChangeRead,
    PolicyChanges,
    PreservationRequests,
    QuarterlyReport,
    RaceGender,
    RaceGenderCount,
    ReportPeriod,
    RoleMatches,
    SharingOutcomes,
    SharingRequests,
    WeekCount,
)
from alpr_common.db import utcnow

UNKNOWN = "unknown"
MAX_DAYS = 3700  # ten years and a little: longer ranges are not an audit period
_FIRST_DAY = date(1970, 1, 1)
_LAST_DAY = date(9000, 12, 31)
# 344.6(b)4: preservation requests from governmental entities against those from defendants.
GOVERNMENTAL = frozenset({"governmental", "court", "law_enforcement"})
# 344.6(b)3 and 6: what counts as a result.
MATCH_RESULTS = ("arrest", "prosecution", "missing_person_located")
SHARING_RESULTS = ("arrest", "prosecution", "located_missing_person")

TITLES = {
    1: "License plates scanned",
    2: "Lists checked, confirmed matches and matches that did not correlate",
    3: "Matches resulting in arrest, prosecution or location of a missing or endangered person",
    4: "Preservation requests, governmental entity versus defendant",
    5: "Data sharing requests received, granted and denied, by agency",
    6: "Data sharing requests resulting in arrest, prosecution or location",
    7: "Manually entered plates by reason; their matches by the entering user's role",
    8: "Changes in department policy that affect privacy",
    9: "Hits by zip code, sector and camera type",
    10: "Data gathered during a detention that did not result in an investigation (344.4(g))",
    11: "Race and gender of drivers detained as a result of an ALPR action",
    12: "Race and gender of victims of the crimes reported",
    13: "Offenses under investigation in ALPR actions",
}


def _label(item: int) -> dict[str, Any]:
    return {"item": item, "clause": f"344.6(b){item}", "title": TITLES[item]}


# ----------------------------------------------------------------------------- the period


def quarter_days(quarter: str) -> tuple[date, date]:
    """`2026Q3` -> (2026-07-01, 2026-10-01)."""
    year, q = int(quarter[:4]), int(quarter[5])
    if not _FIRST_DAY.year <= year <= _LAST_DAY.year:
        raise BadPeriod(f"quarter {quarter!r} is out of range")
    first = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, end


def period(*, quarter: str | None, start: date | None, end: date | None) -> ReportPeriod:
    """The period asked for: a quarter, or a range of UTC days with both ends included."""
    if quarter is not None:
        if start is not None or end is not None:
            raise BadPeriod("give either `quarter` or `start` and `end`, not both")
        first, end_day = quarter_days(quarter)
        label = f"{quarter[:4]} Q{quarter[5]} ({first.isoformat()} to "
        label += f"{(end_day - timedelta(days=1)).isoformat()})"
    else:
        if start is None or end is None:
            raise BadPeriod("give `quarter` (e.g. 2026Q3), or both `start` and `end` (days)")
        if not (_FIRST_DAY <= start <= _LAST_DAY and _FIRST_DAY <= end <= _LAST_DAY):
            raise BadPeriod(f"days must fall between {_FIRST_DAY} and {_LAST_DAY}")
        if end < start:
            raise BadPeriod("`end` is before `start`")
        if (end - start).days >= MAX_DAYS:
            raise BadPeriod(f"a report covers at most {MAX_DAYS} days")
        first, end_day = start, end + timedelta(days=1)
        label = f"{start.isoformat()} to {end.isoformat()}"
    return ReportPeriod(
        start=datetime.combine(first, time(), UTC),
        end=datetime.combine(end_day, time(), UTC),
        quarter=quarter,
        label=label,
    )


def current_quarter(now: datetime) -> str:
    return f"{now.year}Q{(now.month - 1) // 3 + 1}"


def previous_quarter(now: datetime) -> str:
    year, q = now.year, (now.month - 1) // 3 + 1
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


# ----------------------------------------------------------------------------- helpers


def _key(value: str | None) -> str:
    return value if value else UNKNOWN


def counts(values: Iterable[str | None]) -> list[Count]:
    """Counts per category, largest first, then by name: a stable order for every format."""
    counter = Counter(_key(v) for v in values)
    return [
        Count(key=k, count=n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _in(value: datetime | None, p: ReportPeriod) -> bool:
    return value is not None and p.start <= value < p.end


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _race_gender(item: int, people: list[tuple[str | None, str | None]]) -> RaceGender:
    pairs = Counter((_key(r), _key(g)) for r, g in people)
    return RaceGender(
        **_label(item),
        people=len(people),
        by_race=counts(r for r, _ in people),
        by_gender=counts(g for _, g in people),
        by_race_and_gender=[
            RaceGenderCount(race=r, gender=g, count=n)
            for (r, g), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )


# ----------------------------------------------------------------------------- the items


def _scans(rows: list[Row[Any]], alerts: list[Row[Any]], p: ReportPeriod) -> PlatesScanned:
    by_type: Counter[str] = Counter()
    by_zip: Counter[str] = Counter()
    by_sector: Counter[str] = Counter()
    weeks: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    day = p.start.date()
    while day < p.end.date():  # every week of the period appears, with zeros if need be
        weeks.setdefault(_week(day), [0, 0])
        day += timedelta(days=7 - day.weekday())
    for r in rows:
        n = int(r.reads)
        by_type[_key(r.camera_type)] += n
        by_zip[_key(r.zip_code)] += n
        by_sector[_key(r.sector)] += n
        weeks[_week(r.day)][0] += n
    for a in alerts:
        if _in(a.matched_at, p):
            weeks[_week(a.matched_at.date())][1] += 1

    def ranked(c: Counter[str]) -> list[Count]:
        return [Count(key=k, count=n) for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]

    return PlatesScanned(
        **_label(1),
        plates_scanned=sum(by_type.values()),
        by_camera_type=ranked(by_type),
        by_zip_code=ranked(by_zip),
        by_sector=ranked(by_sector),
        by_week=[
            WeekCount(week_start=w.isoformat(), scans=v[0], hits=v[1])
            for w, v in sorted(weeks.items())
        ],
    )


def _matches(alerts: list[Row[Any]], p: ReportPeriod) -> MatchesPerList:
    lists: dict[str, ListMatches] = {}
    why: list[str | None] = []
    for a in alerts:
        entry = lists.setdefault(
            a.hotlist_id,
            ListMatches(
                hotlist_id=a.hotlist_id,
                hotlist_name=a.hotlist_name,
                matches=0,
                confirmed=0,
                not_correlated=0,
            ),
        )
        entry.matches += _in(a.matched_at, p)
        entry.confirmed += _in(a.confirmed_at, p)
        if _in(a.not_correlated_at, p):
            entry.not_correlated += 1
            why.append(a.not_correlated_why)
    rows = sorted(lists.values(), key=lambda m: (m.hotlist_name, m.hotlist_id))
    rows = [m for m in rows if m.matches or m.confirmed or m.not_correlated]
    return MatchesPerList(
        **_label(2),
        lists_checked=sorted({m.hotlist_name for m in rows}),
        matches=sum(m.matches for m in rows),
        confirmed=sum(m.confirmed for m in rows),
        not_correlated=sum(m.not_correlated for m in rows),
        not_correlated_by_reason=counts(why),
        lists=rows,
    )


def _outcomes(alerts: list[Row[Any]], p: ReportPeriod) -> MatchOutcomes:
    lists: dict[str, Counter[str]] = defaultdict(Counter)
    names: dict[str, str] = {}
    for a in alerts:
        if _in(a.outcome_at, p):
            lists[a.hotlist_id][a.outcome] += 1
            names[a.hotlist_id] = a.hotlist_name
    rows = [
        ListOutcomes(
            hotlist_id=h,
            hotlist_name=names[h],
            arrest=c["arrest"],
            prosecution=c["prosecution"],
            missing_person_located=c["missing_person_located"],
            released_without_action=c["released_without_action"],
            wrong_vehicle=c["wrong_vehicle"],
        )
        for h, c in sorted(lists.items(), key=lambda kv: (names[kv[0]], kv[0]))
    ]
    total = Counter[str]()
    for c in lists.values():
        total.update(c)
    return MatchOutcomes(
        **_label(3),
        arrests=total["arrest"],
        prosecutions=total["prosecution"],
        missing_persons_located=total["missing_person_located"],
        total=sum(total[k] for k in MATCH_RESULTS),
        lists=rows,
    )


def _preservation(steps: list[Row[Any]], holds: list[Row[Any]]) -> PreservationRequests:
    received = [s for s in steps if s.step == "received" and s.kind == "preservation"]
    types = [s.requester_type for s in received]
    governmental = sum(t in GOVERNMENTAL for t in types)
    defendant = sum(t == "defendant" for t in types)
    return PreservationRequests(
        **_label(4),
        received=len(received),
        governmental=governmental,
        defendant=defendant,
        other=len(received) - governmental - defendant,
        by_requester_type=counts(types),
        department_holds=len(holds),
        department_holds_by_category=counts(h.category for h in holds),
    )


def _sharing(steps: list[Row[Any]]) -> SharingRequests:
    agencies: dict[str, Counter[str]] = defaultdict(Counter)
    for s in steps:
        if s.kind == "preservation":
            continue
        if s.step == "received":
            agencies[_key(s.agency)]["received"] += 1
        elif s.step == "decided":
            decision = {"approved": "granted", "denied": "denied"}.get(
                s.decision or "", "withdrawn_or_expired"
            )
            agencies[_key(s.agency)][decision] += 1
    rows = [
        AgencySharing(
            agency=a,
            received=c["received"],
            granted=c["granted"],
            denied=c["denied"],
            withdrawn_or_expired=c["withdrawn_or_expired"],
        )
        for a, c in sorted(agencies.items())
    ]
    return SharingRequests(
        **_label(5),
        received=sum(r.received for r in rows),
        granted=sum(r.granted for r in rows),
        denied=sum(r.denied for r in rows),
        withdrawn_or_expired=sum(r.withdrawn_or_expired for r in rows),
        agencies=rows,
    )


def _sharing_outcomes(steps: list[Row[Any]]) -> SharingOutcomes:
    # One request may report several outcomes (an arrest, later a prosecution): each counts once.
    seen: set[tuple[str, str]] = set()
    agencies: dict[str, Counter[str]] = defaultdict(Counter)
    requests: set[str] = set()
    for s in steps:
        if s.step != "outcome" or s.outcome not in SHARING_RESULTS:
            continue
        if (s.request_id, s.outcome) in seen:
            continue
        seen.add((s.request_id, s.outcome))
        requests.add(s.request_id)
        agencies[_key(s.agency)][s.outcome] += 1
    rows = [
        AgencyOutcomes(
            agency=a,
            arrest=c["arrest"],
            prosecution=c["prosecution"],
            located_missing_person=c["located_missing_person"],
        )
        for a, c in sorted(agencies.items())
    ]
    return SharingOutcomes(
        **_label(6),
        requests_with_outcome=len(requests),
        arrests=sum(r.arrest for r in rows),
        prosecutions=sum(r.prosecution for r in rows),
        missing_persons_located=sum(r.located_missing_person for r in rows),
        agencies=rows,
    )


def _manual(entries: list[Row[Any]], alerts: list[Row[Any]], p: ReportPeriod) -> ManualEntries:
    roles: dict[str, Counter[str]] = defaultdict(Counter)
    for e in entries:
        roles[_key(e.entered_by_role)]["entries"] += 1
    for a in alerts:
        if a.entry_origin != "manual":
            continue
        role = roles[_key(a.entered_by_role)]
        role["matches"] += _in(a.matched_at, p)
        role["confirmed"] += _in(a.confirmed_at, p)
        role["not_correlated"] += _in(a.not_correlated_at, p)
    return ManualEntries(
        **_label(7),
        manual_entries=len(entries),
        by_reason=counts(e.manual_reason for e in entries),
        by_role=[
            RoleMatches(
                role=r,
                entries=c["entries"],
                matches=c["matches"],
                confirmed=c["confirmed"],
                not_correlated=c["not_correlated"],
            )
            for r, c in sorted(roles.items())
            if any(c.values())
        ],
    )


def policy_change_read(row: Row[Any]) -> PolicyChangeRead:
    return PolicyChangeRead.model_validate(dict(row._mapping))


def _hits(alerts: list[Row[Any]], p: ReportPeriod) -> Hits:
    hits = [a for a in alerts if _in(a.matched_at, p)]
    return Hits(
        **_label(9),
        hits=len(hits),
        by_zip_code=counts(a.zip_code for a in hits),
        by_sector=counts(a.sector for a in hits),
        by_camera_type=counts(a.camera_type for a in hits),
    )


def _detentions(
    incidents: list[Row[Any]], alerts: list[Row[Any]], p: ReportPeriod
) -> DetentionsWithoutInvestigation:
    without = [i for i in incidents if not i.resulted_in_investigation]
    released = [
        a
        for a in alerts
        if _in(a.outcome_at, p) and a.detention and a.outcome == "released_without_action"
    ]
    return DetentionsWithoutInvestigation(
        **_label(10),
        wrong_vehicle_incidents=len(incidents),
        without_investigation=len(without),
        late_reports=sum(bool(i.late) for i in incidents),
        by_cause=counts(i.cause for i in without),
        released_without_action=len(released),
        incidents=[
            IncidentRow(
                incident_id=i.incident_id,
                alert_id=i.alert_id,
                hotlist_name=i.hotlist_name,
                cause=i.cause,
                enforcement_action=i.enforcement_action,
                late=i.late,
                reported_at=i.reported_at,
                data_gathered=i.data_gathered,
            )
            for i in without
        ],
    )


# ----------------------------------------------------------------------------- beyond the 13


class BeyondSource(Protocol):
    def __call__(
        self, session: AsyncSession, *, start: datetime, end: datetime
    ) -> Awaitable[BaseModel]: ...


def _beyond_sections() -> list[tuple[str, str, BeyondSource]]:
    """The findings beyond the 13 items, each `(name, title, quarter_summary)`: the 344.6(a)
    random sample (reviews.py), misuse allegations (allegations.py, 344.4(a)7) and the findings
    from the transaction log (findings.py)."""
    return [
        ("random_sample_review", "Random-sample review (344.6(a))", reviews.quarter_summary),
        ("misuse_allegations", "Misuse allegations (344.4(a)7)", allegations.quarter_summary),
        ("usage_findings", "Findings beyond the 13 items", findings.quarter_summary),
    ]


async def _beyond(session: AsyncSession, p: ReportPeriod) -> list[BeyondSection]:
    sections = []
    for name, title, summary in _beyond_sections():
        model = await summary(session, start=p.start, end=p.end)
        sections.append(BeyondSection(name=name, title=title, data=model.model_dump(mode="json")))
    return sections


# ----------------------------------------------------------------------------- the report


async def quarterly_report(session: AsyncSession, *, p: ReportPeriod) -> QuarterlyReport:
    """All 13 items of 344.6(b) for the period, from audit's own tables."""
    first_day, end_day = p.start.date(), p.end.date()
    scans = list(await repository.scan_totals(session, first_day=first_day, end_day=end_day))
    alerts = list(await repository.alerts_touched(session, start=p.start, end=p.end))
    steps = list(await repository.sharing_steps(session, start=p.start, end=p.end))
    holds = list(await repository.holds(session, start=p.start, end=p.end))
    entries = list(await repository.manual_entries(session, start=p.start, end=p.end))
    incidents = list(await repository.incidents(session, start=p.start, end=p.end))
    changes = await repository.policy_changes(
        session, start=p.start, end=p.end, first_day=first_day, end_day=end_day
    )
    outcomes = [a for a in alerts if _in(a.outcome_at, p)]
    return QuarterlyReport(
        period=p,
        generated_at=utcnow(),
        plates_scanned=_scans(scans, alerts, p),
        matches_per_list=_matches(alerts, p),
        match_outcomes=_outcomes(alerts, p),
        preservation_requests=_preservation(steps, holds),
        sharing_requests=_sharing(steps),
        sharing_outcomes=_sharing_outcomes(steps),
        manual_entries=_manual(entries, alerts, p),
        policy_changes=PolicyChanges(
            **_label(8),
            changes_logged=len(changes),
            changes=[policy_change_read(r) for r in changes],
        ),
        hits=_hits(alerts, p),
        detentions_without_investigation=_detentions(incidents, alerts, p),
        drivers_detained=_race_gender(
            11, [(a.driver_race, a.driver_gender) for a in outcomes if a.detention]
        ),
        victims=_race_gender(12, [(a.victim_race, a.victim_gender) for a in outcomes]),
        offenses=Offenses(
            **_label(13), actions=len(outcomes), by_offense=counts(a.offense for a in outcomes)
        ),
        beyond=await _beyond(session, p),
    )
