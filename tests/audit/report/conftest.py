"""A seeded synthetic quarter for the report tests: the events ingest, hotlist and sharing send
(built from their kernel contracts), and the 13 items of 344.6(b) computed from the synthetic
truth independently of the service's code."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from alpr_common.contracts import hotlist as hl
from alpr_common.contracts import ingest as ig
from alpr_common.contracts import sharing as sh

Q_START = datetime(2026, 7, 1, tzinfo=UTC)
Q_END = datetime(2026, 10, 1, tzinfo=UTC)
CAMERAS = [
    ("cam-f1", "fixed", "78701", "Baker"),
    ("cam-f2", "fixed", "78702", "Charlie"),
    ("cam-t1", "trailer", "78741", "Henry"),
    ("cam-v1", "vehicle", None, None),
]
LISTS = [("hl-ncic", "NCIC stolen vehicles"), ("hl-amber", "Amber alerts"), ("hl-bolo", "APD BOLO")]
REASONS = ["bolo_investigation", "amber_alert", "missing_person", "officer_safety"]
ROLES = ["officer", "investigator", "hotlist_manager"]
RACES = ["black", "white", "hispanic_latino", "asian_pacific_islander", "unknown"]
GENDERS = ["female", "male", "unknown"]
OFFENSES = ["auto theft", "aggravated robbery", "kidnapping", "burglary of a vehicle"]
AGENCIES = ["Travis County Sheriff", "Round Rock PD", "Texas DPS"]


def _in_q(t: datetime) -> bool:
    return Q_START <= t < Q_END


@dataclass
class Truth:
    events: list[dict[str, Any]] = field(default_factory=list)
    scans: list[tuple[date, str, int]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    manual: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    sharing: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)


def _random_time(rng: random.Random, start: datetime, days: float) -> datetime:
    return start + timedelta(seconds=rng.randrange(int(days * 86400)))


def synthetic_quarter(ev: Any, seed: int = 3446) -> Truth:
    rng = random.Random(seed)
    t = Truth()

    def send(type_: str, data: Any, at: datetime) -> None:
        payload = data.model_dump(by_alias=True) if hasattr(data, "model_dump") else data
        t.events.append(ev.event(type_, payload, time=at))

    for cam, ctype, zip_code, sector in CAMERAS:
        send(
            ig.CAMERA_REGISTERED,
            ig.CameraSnapshotData(
                camera_id=cam,
                name=cam,
                vendor="genetec",
                camera_type=ctype,
                status="active",
                zip_code=zip_code,
                sector=sector,
                actor="user:admin",
            ),
            Q_START - timedelta(days=100),
        )
    # Scans: every day from two days before the quarter to two days after, in two batches a day.
    day = Q_START.date() - timedelta(days=2)
    while day < Q_END.date() + timedelta(days=2):
        for batch in range(2):
            counts = []
            for cam, ctype, zip_code, sector in CAMERAS:
                n = rng.randrange(0, 400)
                if n:
                    counts.append(
                        ig.ScanCount(
                            day=day.isoformat(),
                            camera_type=ctype,
                            zip_code=zip_code,
                            sector=sector,
                            camera_id=cam,
                            reads=n,
                        )
                    )
                    t.scans.append((day, cam, n))
            at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            send(ig.SCAN_COUNTS, ig.ScanCountsData(batch_id=f"{day}-{batch}", counts=counts), at)
        day += timedelta(days=1)

    # Manual entries (item 7): most in the quarter, two before it, imports never counted.
    for n in range(30):
        at = _random_time(rng, Q_START - timedelta(days=20), 115)
        manual = rng.random() < 0.7
        entry = {
            "entry_id": 1000 + n,
            "hotlist_id": rng.choice(LISTS)[0],
            "origin": "manual" if manual else "import",
            "manual_reason": rng.choice(REASONS) if manual else None,
            "entered_by_role": rng.choice(ROLES) if manual else "hotlist_manager",
            "at": at,
        }
        send(
            hl.ENTRY_CREATED,
            hl.EntryData(
                actor="user:x",
                plate=f"SYN{n:04d}",
                category="stolen_vehicle",
                source="apd",
                entry_id=entry["entry_id"],
                hotlist_id=entry["hotlist_id"],
                entry_type="bolo",
                origin=entry["origin"],
                manual_reason=entry["manual_reason"],
                status="active",
                entered_by="user:x",
                entered_by_role=entry["entered_by_role"],
            ),
            at,
        )
        if manual:
            t.manual.append(entry)

    # Alerts: matched from 10 days before the quarter (some close inside it) to its last day.
    for n in range(90):
        hotlist_id, hotlist_name = rng.choice(LISTS)
        cam, ctype, zip_code, sector = rng.choice(CAMERAS)
        manual = rng.random() < 0.4
        matched = _random_time(rng, Q_START - timedelta(days=10), 101)
        a: dict[str, Any] = {
            "alert_id": f"al{n:04d}",
            "hotlist_id": hotlist_id,
            "hotlist_name": hotlist_name,
            "origin": "manual" if manual else "import",
            "role": rng.choice(ROLES) if manual else "hotlist_manager",
            "zip": zip_code,
            "sector": sector,
            "camera_type": ctype,
            "matched_at": matched,
            "confirmed_at": None,
            "not_correlated_at": None,
            "why": None,
            "outcome": None,
            "outcome_at": None,
        }
        t.alerts.append(a)
        facts = hl.AlertData(
            actor="service:hotlist",
            seq=n + 1,
            entry_source="apd",
            read_id=f"rd{n}",
            plate=f"SYN{n:04d}",
            match_type="exact",
            alert_id=a["alert_id"],
            entry_id=n,
            hotlist_id=hotlist_id,
            hotlist_name=hotlist_name,
            entry_type="stolen_vehicle",
            entry_origin=a["origin"],
            manual_reason=rng.choice(REASONS) if manual else None,
            entered_by_role=a["role"],
            missing_endangered=hotlist_id == "hl-amber",
            camera_id=cam,
            camera_type=ctype,
            zip_code=zip_code,
            sector=sector,
            origin="live",
            status="new",
        ).model_dump()
        send(hl.ALERT_CREATED, facts, matched)
        clock = matched + timedelta(minutes=rng.randrange(1, 60 * 24 * 4))

        def step(name: str, at: datetime, **extra: Any) -> None:
            model = hl.AlertOutcomeData if name == "outcome" else hl.AlertStepData
            data = model(**facts, step=name, step_id=f"{a['alert_id']}-{name}", at=at.isoformat(),
                         **extra)  # fmt: skip
            send(f"hotlist.alert_{name}", data, at)

        step("acknowledged", clock)
        fate = rng.random()
        clock += timedelta(minutes=5)
        if fate < 0.2:
            reason = rng.choice(["not_correlated", "misread", "duplicate"])
            step("dismissed", clock, reason=reason)
            if reason != "duplicate":
                a.update(not_correlated_at=clock, why=f"dismissed_{reason}")
            continue
        if fate < 0.3:
            step("visual_confirmation", clock, matches=False)
            a.update(not_correlated_at=clock, why="visual_mismatch")
            continue
        step("visual_confirmation", clock, matches=True)
        clock += timedelta(minutes=3)
        if fate < 0.35:
            step("ncic_tcic_confirmation", clock, still_valid=False)
            a.update(not_correlated_at=clock, why="ncic_no_longer_valid")
            continue
        step("ncic_tcic_confirmation", clock, still_valid=True)
        a["confirmed_at"] = clock
        if fate < 0.45:
            continue  # confirmed, no action (yet)
        clock += timedelta(minutes=10)
        action = rng.choice(["traffic_stop", "detention", "arrest", "vehicle_recovery"])
        step("second_officer_verification", clock, matches=True)
        step("enforcement_action", clock + timedelta(minutes=1), action=action)
        clock += timedelta(hours=rng.randrange(1, 72))
        outcome = rng.choice(
            ["arrest", "prosecution", "missing_person_located", "released_without_action",
             "wrong_vehicle"]
        )  # fmt: skip
        detention = action != "vehicle_recovery"
        o = {
            "outcome": outcome,
            "outcome_at": clock,
            "detention": detention,
            "offense": rng.choice(OFFENSES),
            "driver_race": rng.choice(RACES) if detention else None,
            "driver_gender": rng.choice(GENDERS) if detention else None,
            "victim_race": rng.choice([*RACES, "not_applicable"]),
            "victim_gender": rng.choice([*GENDERS, "not_applicable"]),
        }
        a.update(o)
        step("outcome", clock, enforcement_action=action, **{k: v for k, v in o.items()
                                                              if k != "outcome_at"})  # fmt: skip
        if outcome == "wrong_vehicle":
            a.update(not_correlated_at=clock, why="wrong_vehicle", confirmed_at=None)
            reported = clock + timedelta(hours=2)
            incident = {
                "incident_id": f"in{n:04d}",
                "cause": rng.choice(["data_entry", "fictitious_plate", "swapped_plate", "misread"]),
                "investigated": rng.random() < 0.3,
                "late": rng.random() < 0.25,
                "reported_at": reported,
            }
            t.incidents.append(incident)
            send(
                hl.WRONG_VEHICLE_INCIDENT,
                hl.WrongVehicleIncidentData(
                    actor="user:ofc",
                    entry_type="stolen_vehicle",
                    camera_id=cam,
                    notified=["supervisor", "risk_management"],
                    incident_id=incident["incident_id"],
                    alert_id=a["alert_id"],
                    hotlist_id=hotlist_id,
                    hotlist_name=hotlist_name,
                    camera_type=ctype,
                    zip_code=zip_code,
                    sector=sector,
                    cause=incident["cause"],
                    data_gathered="driver's licence checked; vehicle registration viewed",
                    resulted_in_investigation=incident["investigated"],
                    enforcement_action=action,
                    action_at=clock.isoformat(),
                    due_at=reported.isoformat(),
                    reported_at=reported.isoformat(),
                    late=incident["late"],
                ),
                reported,
            )

    # Sharing (items 4-6): requests from agencies, preservation requests, outcomes.
    for n in range(40):
        at = _random_time(rng, Q_START - timedelta(days=5), 97)
        preservation = rng.random() < 0.3
        kind = "preservation" if preservation else "agency_data"
        requester = (
            rng.choice(["governmental", "defendant", "court", "other"])
            if preservation
            else "law_enforcement"
        )
        agency = rng.choice(AGENCIES) if not preservation else None
        base = {
            "request_id": f"rq{n:03d}",
            "kind": kind,
            "requester_type": requester,
            "agency_name": agency,
        }
        t.sharing.append({**base, "step": "received", "at": at})
        send(sh.REQUEST_RECEIVED, sh.RequestReceivedData(**base), at)
        decision = rng.choice(["approved", "approved", "denied", "withdrawn"])
        decided = at + timedelta(days=rng.randrange(0, 6))
        t.sharing.append({**base, "step": "decided", "decision": decision, "at": decided})
        send(sh.REQUEST_DECIDED, sh.RequestDecidedData(**base, decision=decision), decided)
        if decision == "approved" and not preservation:
            for outcome in rng.sample(
                ["arrest", "prosecution", "located_missing_person", "none"], rng.randrange(0, 3)
            ):
                later = decided + timedelta(days=rng.randrange(1, 20))
                t.sharing.append({**base, "step": "outcome", "outcome": outcome, "at": later})
                send(sh.OUTCOME_RECORDED, sh.OutcomeRecordedData(**base, outcome=outcome), later)
    for n in range(6):
        at = _random_time(rng, Q_START - timedelta(days=10), 100)
        hold = {"hold_id": f"hd{n}", "category": rng.choice(["criminal", "missing_person"]),
                "at": at}  # fmt: skip
        t.holds.append(hold)
        send(
            ig.HOLD_CREATED,
            ig.HoldCreatedData(
                purpose="criminal_investigation",
                case_number="2026-1",
                hold_id=hold["hold_id"],
                category=hold["category"],
                retention_until="2027-01-01",
                read_ids=["r1"],
                read_count=1,
                actor="user:inv",
            ),
            at,
        )
    return t


def purge_event(ev: Any, *, retention_days: int, at: datetime) -> dict[str, Any]:
    data = ig.PurgeData(
        ran_at=at.isoformat(), retention_days=retention_days, cutoff=at.isoformat(),
        method="drop_partitions", reads_purged=1234, held_reads_copied=0,
        hold_store_reads_released=0, holds_expired=[], images_deleted=0,
    )  # fmt: skip
    return ev.event(ig.PURGE, data.model_dump(), time=at)


def _ranked(counter: Counter[str]) -> list[dict[str, Any]]:
    return [
        {"key": k, "count": n} for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def expected(t: Truth) -> dict[str, Any]:
    """The 13 items, computed from the synthetic truth without the service's code."""
    k = lambda v: v or "unknown"  # noqa: E731
    cams = {c[0]: c for c in CAMERAS}
    scans = [(d, cam, n) for d, cam, n in t.scans if Q_START.date() <= d < Q_END.date()]
    matched = [a for a in t.alerts if _in_q(a["matched_at"])]
    confirmed = [a for a in t.alerts if a["confirmed_at"] and _in_q(a["confirmed_at"])]
    not_corr = [a for a in t.alerts if a["not_correlated_at"] and _in_q(a["not_correlated_at"])]
    closed = [a for a in t.alerts if a["outcome_at"] and _in_q(a["outcome_at"])]
    lists = {}
    for hid, name in LISTS:
        row = {
            "hotlist_id": hid,
            "hotlist_name": name,
            "matches": sum(a["hotlist_id"] == hid for a in matched),
            "confirmed": sum(a["hotlist_id"] == hid for a in confirmed),
            "not_correlated": sum(a["hotlist_id"] == hid for a in not_corr),
        }
        if row["matches"] or row["confirmed"] or row["not_correlated"]:
            lists[name] = row
    shares = [s for s in t.sharing if _in_q(s["at"])]
    preservation = [s for s in shares if s["step"] == "received" and s["kind"] == "preservation"]
    data_req = [s for s in shares if s["kind"] != "preservation"]
    outcomes = {
        (s["request_id"], s["outcome"], s["agency_name"])
        for s in data_req
        if s["step"] == "outcome" and s["outcome"] != "none"
    }
    manual = [e for e in t.manual if _in_q(e["at"])]
    roles: dict[str, Counter[str]] = {}
    for e in manual:
        roles.setdefault(e["entered_by_role"], Counter())["entries"] += 1
    for group, name in (
        (matched, "matches"),
        (confirmed, "confirmed"),
        (not_corr, "not_correlated"),
    ):
        for a in group:
            if a["origin"] == "manual":
                roles.setdefault(a["role"], Counter())[name] += 1
    incidents = [i for i in t.incidents if _in_q(i["reported_at"])]
    detained = [a for a in closed if a["detention"]]
    return {
        1: {
            "plates_scanned": sum(n for _, _, n in scans),
            "by_camera_type": _ranked(
                Counter(ct for _, cam, n in scans for ct in [cams[cam][1]] * n)
            ),
            "by_sector": _ranked(Counter(k(cams[cam][3]) for _, cam, n in scans for _ in range(n))),
        },
        2: {
            "matches": len(matched),
            "confirmed": len(confirmed),
            "not_correlated": len(not_corr),
            "lists": [lists[n] for n in sorted(lists)],
            "not_correlated_by_reason": _ranked(Counter(a["why"] for a in not_corr)),
        },
        3: {
            "arrests": sum(a["outcome"] == "arrest" for a in closed),
            "prosecutions": sum(a["outcome"] == "prosecution" for a in closed),
            "missing_persons_located": sum(
                a["outcome"] == "missing_person_located" for a in closed
            ),
        },
        4: {
            "received": len(preservation),
            "governmental": sum(
                s["requester_type"] in ("governmental", "court") for s in preservation
            ),
            "defendant": sum(s["requester_type"] == "defendant" for s in preservation),
            "department_holds": sum(_in_q(h["at"]) for h in t.holds),
        },
        5: {
            "received": sum(s["step"] == "received" for s in data_req),
            "granted": sum(s.get("decision") == "approved" for s in data_req),
            "denied": sum(s.get("decision") == "denied" for s in data_req),
            "agencies": {
                ag: (
                    sum(s["step"] == "received" and s["agency_name"] == ag for s in data_req),
                    sum(
                        s.get("decision") == "approved" and s["agency_name"] == ag for s in data_req
                    ),
                    sum(s.get("decision") == "denied" and s["agency_name"] == ag for s in data_req),
                )
                for ag in {s["agency_name"] for s in data_req}
            },
        },
        6: {
            "requests_with_outcome": len({r for r, _, _ in outcomes}),
            "arrests": sum(o == "arrest" for _, o, _ in outcomes),
            "prosecutions": sum(o == "prosecution" for _, o, _ in outcomes),
            "missing_persons_located": sum(o == "located_missing_person" for _, o, _ in outcomes),
        },
        7: {
            "manual_entries": len(manual),
            "by_reason": _ranked(Counter(e["manual_reason"] for e in manual)),
            "by_role": {r: dict(c) for r, c in roles.items()},
        },
        9: {
            "hits": len(matched),
            "by_zip_code": _ranked(Counter(k(a["zip"]) for a in matched)),
            "by_sector": _ranked(Counter(k(a["sector"]) for a in matched)),
            "by_camera_type": _ranked(Counter(a["camera_type"] for a in matched)),
        },
        10: {
            "wrong_vehicle_incidents": len(incidents),
            "without_investigation": sum(not i["investigated"] for i in incidents),
            "late_reports": sum(i["late"] for i in incidents),
            "by_cause": _ranked(Counter(i["cause"] for i in incidents if not i["investigated"])),
            "released_without_action": sum(
                a["outcome"] == "released_without_action" for a in detained
            ),
        },
        11: {
            "people": len(detained),
            "by_race": _ranked(Counter(a["driver_race"] for a in detained)),
            "by_gender": _ranked(Counter(a["driver_gender"] for a in detained)),
        },
        12: {
            "people": len(closed),
            "by_race": _ranked(Counter(a["victim_race"] for a in closed)),
            "by_gender": _ranked(Counter(a["victim_gender"] for a in closed)),
        },
        13: {"actions": len(closed), "by_offense": _ranked(Counter(a["offense"] for a in closed))},
    }


@pytest.fixture
async def quarter(ev, send, client, tokens) -> tuple[Truth, dict[str, Any], dict[int, Any]]:
    """The synthetic quarter posted to the intake in shuffled batches, a third of them twice,
    plus a recorded policy change effective in the quarter; returns the truth, the report and
    the expected figures."""
    t = synthetic_quarter(ev)
    events = list(t.events)
    random.Random(7).shuffle(events)  # steps may arrive before their alert's creation
    events.insert(0, purge_event(ev, retention_days=30, at=Q_START - timedelta(days=30)))
    events.append(purge_event(ev, retention_days=21, at=Q_START + timedelta(days=40)))
    batches = [events[i : i + 250] for i in range(0, len(events), 250)]
    for n, batch in enumerate(batches):
        await send(batch)
        if n % 3 == 0:
            again = await send(batch)
            assert again["accepted"] == 0
    r = await client.post(
        "/v1/policy-changes",
        headers=tokens.headers("risk_management", name="R. Manager"),
        json={
            "effective_on": "2026-08-15",
            "title": "Hold reviews every 90 days",
            "summary": "Holds for criminal investigations are reviewed every 90 days.",
            "reference": "GO 344 rev. 2026-08",
        },
    )
    assert r.status_code == 201, r.text
    report = await client.get(
        "/v1/reports/quarterly",
        params={"quarter": "2026Q3"},
        headers=tokens.headers("city_auditor"),
    )
    assert report.status_code == 200, report.text
    return t, report.json(), expected(t)


@pytest.fixture
def purge(ev):
    """`purge(retention_days=, at=)`: an `ingest.purge` event as ingest sends it."""

    def _purge(*, retention_days: int, at: datetime) -> dict[str, Any]:
        return purge_event(ev, retention_days=retention_days, at=at)

    return _purge
