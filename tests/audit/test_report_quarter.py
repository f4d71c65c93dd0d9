"""The quarterly report of 344.6(b) over a seeded synthetic quarter: the events ingest, hotlist
and sharing send (built from their kernel contracts), posted out of order and partly twice; the
report's figures equal figures computed here, independently, from the synthetic truth, item by
item; a purge report changes nothing. (tests/e2e/test_audit_report_e2e.py does the same through
the real services.)"""

from __future__ import annotations

import io
import random
import zipfile
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
async def quarter(ev, send, client, tokens) -> tuple[Truth, dict[str, Any]]:
    """The synthetic quarter posted to the intake in shuffled batches, a third of them twice,
    plus a recorded policy change effective in the quarter; returns the truth and the report."""
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
    return t, report.json()


@pytest.mark.policy("344.6(b)1")
async def test_item_1_plates_scanned_equal_the_scan_counters(quarter):
    t, report = quarter
    want, item = expected(t)[1], report["plates_scanned"]
    assert (item["item"], item["clause"]) == (1, "344.6(b)1")
    assert item["plates_scanned"] == want["plates_scanned"] > 0
    assert item["by_camera_type"] == want["by_camera_type"]
    assert item["by_sector"] == want["by_sector"]
    assert sum(w["scans"] for w in item["by_week"]) == want["plates_scanned"]
    assert sum(w["hits"] for w in item["by_week"]) == expected(t)[9]["hits"]


@pytest.mark.policy("344.6(b)2")
async def test_item_2_matches_confirmed_and_not_correlated_per_list(quarter):
    t, report = quarter
    want, item = expected(t)[2], report["matches_per_list"]
    assert item["clause"] == "344.6(b)2"
    assert (item["matches"], item["confirmed"], item["not_correlated"]) == (
        want["matches"],
        want["confirmed"],
        want["not_correlated"],
    )
    assert item["lists"] == want["lists"]
    assert item["lists_checked"] == sorted(x["hotlist_name"] for x in want["lists"])
    assert item["not_correlated_by_reason"] == want["not_correlated_by_reason"]
    assert want["confirmed"] and want["not_correlated"]


@pytest.mark.policy("344.6(b)3")
async def test_item_3_matches_resulting_in_arrest_prosecution_or_location(quarter):
    t, report = quarter
    want, item = expected(t)[3], report["match_outcomes"]
    assert item["clause"] == "344.6(b)3"
    got = {k: item[k] for k in want}
    assert got == want
    assert item["total"] == sum(want.values()) > 0
    per_list = {x["hotlist_name"]: x["arrest"] for x in item["lists"]}
    assert sum(per_list.values()) == want["arrests"]


@pytest.mark.policy("344.6(b)4")
async def test_item_4_preservation_requests_governmental_versus_defendant(quarter):
    t, report = quarter
    want, item = expected(t)[4], report["preservation_requests"]
    assert item["clause"] == "344.6(b)4"
    assert {k: item[k] for k in want} == want
    assert item["other"] == item["received"] - item["governmental"] - item["defendant"]


@pytest.mark.policy("344.6(b)5")
async def test_item_5_sharing_requests_received_granted_denied_by_agency(quarter):
    t, report = quarter
    want, item = expected(t)[5], report["sharing_requests"]
    assert item["clause"] == "344.6(b)5"
    assert (item["received"], item["granted"], item["denied"]) == (
        want["received"],
        want["granted"],
        want["denied"],
    )
    got = {a["agency"]: (a["received"], a["granted"], a["denied"]) for a in item["agencies"]}
    assert got == want["agencies"]


@pytest.mark.policy("344.6(b)6")
async def test_item_6_sharing_requests_resulting_in_arrest_prosecution_or_location(quarter):
    t, report = quarter
    want, item = expected(t)[6], report["sharing_outcomes"]
    assert item["clause"] == "344.6(b)6"
    assert {k: item[k] for k in want} == want
    assert want["requests_with_outcome"] > 0


@pytest.mark.policy("344.6(b)7")
async def test_item_7_manual_entries_by_reason_and_matches_by_role(quarter):
    t, report = quarter
    want, item = expected(t)[7], report["manual_entries"]
    assert item["clause"] == "344.6(b)7"
    assert item["manual_entries"] == want["manual_entries"] > 0
    assert item["by_reason"] == want["by_reason"]
    got = {
        r["role"]: {k: r[k] for k in ("entries", "matches", "confirmed", "not_correlated") if r[k]}
        for r in item["by_role"]
    }
    assert got == want["by_role"]


@pytest.mark.policy("344.6(b)8")
async def test_item_8_policy_changes_recorded_and_detected(quarter):
    _, report = quarter
    item = report["policy_changes"]
    assert item["clause"] == "344.6(b)8"
    recorded = [c for c in item["changes"] if c["origin"] == "recorded"]
    automatic = [c for c in item["changes"] if c["origin"] == "automatic"]
    # Recorded in December, effective in August: in the third quarter by its effective date.
    assert [c["title"] for c in recorded] == ["Hold reviews every 90 days"]
    assert recorded[0]["recorded_by_name"] == "R. Manager"
    # The first purge reported 30 days (the baseline); the second, 21: one automatic entry.
    assert [(c["setting"], c["old_value"], c["new_value"]) for c in automatic] == [
        ("ingest.retention_days", "30", "21")
    ]


@pytest.mark.policy("344.6(b)9")
async def test_item_9_hits_by_zip_sector_and_camera_type(quarter):
    t, report = quarter
    want, item = expected(t)[9], report["hits"]
    assert item["clause"] == "344.6(b)9"
    assert {k: item[k] for k in want} == want


@pytest.mark.policy("344.6(b)10", "344.4(g)")
async def test_item_10_detentions_without_investigation(quarter):
    t, report = quarter
    want, item = expected(t)[10], report["detentions_without_investigation"]
    assert item["clause"] == "344.6(b)10"
    assert {k: item[k] for k in want} == want
    assert len(item["incidents"]) == want["without_investigation"] > 0
    assert all(i["data_gathered"] for i in item["incidents"])


@pytest.mark.policy("344.6(b)11")
async def test_item_11_race_and_gender_of_drivers_detained(quarter):
    t, report = quarter
    want, item = expected(t)[11], report["drivers_detained"]
    assert item["clause"] == "344.6(b)11"
    assert {k: item[k] for k in want} == want
    assert sum(x["count"] for x in item["by_race_and_gender"]) == want["people"] > 0


@pytest.mark.policy("344.6(b)12")
async def test_item_12_race_and_gender_of_victims(quarter):
    t, report = quarter
    want, item = expected(t)[12], report["victims"]
    assert item["clause"] == "344.6(b)12"
    assert {k: item[k] for k in want} == want


@pytest.mark.policy("344.6(b)13")
async def test_item_13_offenses_under_investigation(quarter):
    t, report = quarter
    want, item = expected(t)[13], report["offenses"]
    assert item["clause"] == "344.6(b)13"
    assert {k: item[k] for k in want} == want


@pytest.mark.policy("344.6(a)", "344.4(d)")
async def test_a_purge_report_and_redelivery_change_no_past_quarter(
    quarter, ev, send, client, tokens
):
    _, before = quarter
    later = Q_END + timedelta(days=31)
    # ingest purges the quarter's reads (same retention: no policy change) and the relay
    # redelivers everything it sent; the quarter's report is the same.
    await send([purge_event(ev, retention_days=21, at=later)])
    after = await client.get(
        "/v1/reports/quarterly",
        params={"quarter": "2026Q3"},
        headers=tokens.headers("city_auditor"),
    )
    assert after.status_code == 200
    before.pop("generated_at")
    body = after.json()
    body.pop("generated_at")
    assert body == before


@pytest.mark.policy("344.6(b)1", "344.6(b)9")
async def test_any_range_of_days_and_the_csv_and_html_formats(quarter, client, tokens):
    t, report = quarter
    headers = tokens.headers("risk_management")
    july = await client.get(
        "/v1/reports/quarterly",
        params={"start": "2026-07-01", "end": "2026-07-31"},
        headers=headers,
    )
    assert july.status_code == 200
    want = sum(n for d, _, n in t.scans if date(2026, 7, 1) <= d <= date(2026, 7, 31))
    assert july.json()["plates_scanned"]["plates_scanned"] == want
    assert july.json()["period"]["quarter"] is None

    z = await client.get("/v1/reports/quarterly/csv", params={"quarter": "2026Q3"}, headers=headers)
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(z.content))
    names = set(archive.namelist())
    assert {
        "summary.csv",
        "item02_lists.csv",
        "item09_by_zip_code.csv",
        "item05_agencies.csv",
    } <= names
    summary = archive.read("summary.csv").decode()
    assert (
        "1,344.6(b)1,License plates scanned,plates_scanned,"
        f"{report['plates_scanned']['plates_scanned']}" in summary
    )
    clauses = {line.split(",")[1] for line in summary.splitlines()[3:] if line}
    assert clauses == {f"344.6(b){n}" for n in range(1, 14)}

    page = await client.get(
        "/v1/reports/quarterly/html", params={"quarter": "2026Q3"}, headers=headers
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for n in range(1, 14):
        assert f'data-clause="344.6(b){n}"' in html
    for chart in (
        "trend-scans",
        "trend-hits",
        "outcomes-per-list",
        "hits-by-sector",
        "hits-by-zip",
    ):
        assert f'data-chart="{chart}"' in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.policy("344.6(c)")
async def test_the_report_is_read_by_auditors_and_the_chief_only(client, tokens):
    for role in ("city_auditor", "risk_management", "chief_of_police"):
        r = await client.get(
            "/v1/reports/quarterly", params={"quarter": "2026Q1"}, headers=tokens.headers(role)
        )
        assert r.status_code == 200, role
        assert r.json()["plates_scanned"]["plates_scanned"] == 0
    for role in ("officer", "investigator", "service"):
        r = await client.get(
            "/v1/reports/quarterly", params={"quarter": "2026Q1"}, headers=tokens.headers(role)
        )
        assert r.status_code == 403, role


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"quarter": "2026Q5"},
        {"quarter": "2026Q1", "start": "2026-01-01"},
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"start": "2026-02-01"},
        {"start": "1900-01-01", "end": "1900-02-01"},
        {"start": "2000-01-01", "end": "2030-01-01"},
        {"quarter": "2026Q1", "color": "red"},
    ],
)
async def test_a_bad_period_is_a_422_naming_it(client, tokens, params):
    r = await client.get(
        "/v1/reports/quarterly", params=params, headers=tokens.headers("city_auditor")
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


@pytest.mark.policy("344.6(b)8", "344.6(c)")
async def test_policy_changes_are_recorded_by_risk_management_never_by_the_city_auditor(
    client, tokens
):
    body = {"effective_on": "2026-11-01", "title": "Retention 21 days", "summary": "Shorter."}
    r = await client.post("/v1/policy-changes", json=body, headers=tokens.headers("city_auditor"))
    assert r.status_code == 403
    r = await client.post(
        "/v1/policy-changes", json={**body, "title": ""}, headers=tokens.headers("risk_management")
    )
    assert r.status_code == 422
    r = await client.post(
        "/v1/policy-changes", json=body, headers=tokens.headers("chief_of_police")
    )
    assert r.status_code == 201
    change = r.json()
    got = await client.get(
        f"/v1/policy-changes/{change['id']}", headers=tokens.headers("city_auditor")
    )
    assert got.json() == change
    listed = await client.get(
        "/v1/policy-changes", params={"quarter": "2026Q4"}, headers=tokens.headers("city_auditor")
    )
    assert [c["id"] for c in listed.json()] == [change["id"]]
    listed = await client.get(
        "/v1/policy-changes", params={"quarter": "2026Q3"}, headers=tokens.headers("city_auditor")
    )
    assert listed.json() == []
    missing = await client.get("/v1/policy-changes/abc123", headers=tokens.headers("city_auditor"))
    assert missing.status_code == 404
