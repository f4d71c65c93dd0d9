"""The alert workflow of 344.3.2: RTCC acknowledges and acts or dismisses (a); officers confirm
visually, with NCIC/TCIC and by a second, different officer before any enforcement action (b);
the outcome carries the audit facts of 344.6(b)11-13. Every step is attributed and audited."""

from __future__ import annotations

import pytest

from alpr_common.errors import problem_type

OFFICER_A = "user:ofc-a"
OFFICER_B = "user:ofc-b"
DETECTIVE = "user:det-c"


@pytest.fixture
def people(tokens):
    class People:
        rtcc = tokens.headers("rtcc_operator", subject="user:rtcc-1", name="RTCC One")
        officer_a = tokens.headers("officer", subject=OFFICER_A, name="Officer A")
        officer_b = tokens.headers("officer", subject=OFFICER_B, name="Officer B")
        detective = tokens.headers("investigator", subject=DETECTIVE, name="Det. C")

    return People


@pytest.fixture
async def alert_id(hl):
    lst = await hl.hotlist("stolen vehicles")
    await hl.entry(lst["id"], "WFL0001")
    await hl.post_reads([hl.read("WFL0001")])
    [alert] = await hl.alerts()
    return alert["id"]


async def step(client, alert_id, name, headers, **body):
    return await client.post(f"/v1/alerts/{alert_id}/{name}", json=body, headers=headers)


async def field_steps(client, alert_id, people, *, waiver=False):
    r = await step(client, alert_id, "visual-confirmations", people.officer_a, matches=True)
    assert r.status_code == 201, r.text
    r = await step(
        client,
        alert_id,
        "ncic-confirmations",
        people.officer_a,
        system="ncic_tcic",
        still_valid=True,
        reference="NCIC QV 26-118833",
    )
    assert r.status_code == 201, r.text
    if waiver:
        r = await step(
            client,
            alert_id,
            "exigency-waivers",
            people.officer_a,
            justification="Vehicle fleeing toward a school zone; no unit within 10 minutes",
        )
    else:
        r = await step(
            client, alert_id, "second-officer-verifications", people.officer_b, matches=True
        )
    assert r.status_code == 201, r.text


@pytest.mark.policy("344.3.2(a)")
async def test_rtcc_acknowledges_then_records_what_it_did(hl, client, people, alert_id):
    early = await step(client, alert_id, "rtcc-actions", people.rtcc, action="dispatched")
    assert early.status_code == 409
    assert early.json()["missing_step"] == "acknowledged"

    ack = await step(client, alert_id, "acknowledgements", people.rtcc)
    assert ack.status_code == 201
    assert ack.json()["status"] == "acknowledged"
    assert (await step(client, alert_id, "acknowledgements", people.rtcc)).status_code == 409

    for action in ("dispatched", "broadcast", "patrol_notified"):
        r = await step(client, alert_id, "rtcc-actions", people.rtcc, action=action, note="unit 4")
        assert r.status_code == 201, r.text
    detail = await hl.alert(alert_id)
    assert detail["status"] == "actioned"
    assert detail["rtcc_actions"] == ["dispatched", "broadcast", "patrol_notified"]
    assert detail["acknowledged_by"] == "user:rtcc-1"
    assert [s["step"] for s in detail["steps"]] == [
        "acknowledged",
        "actioned",
        "actioned",
        "actioned",
    ]
    assert all(s["actor"] == "user:rtcc-1" and s["at"] for s in detail["steps"])

    events = await hl.audit_events("hotlist.alert_actioned")
    assert [e["data"]["action"] for e in events] == ["dispatched", "broadcast", "patrol_notified"]
    assert all(e["subject"] == "user:rtcc-1" for e in events)


@pytest.mark.policy("344.3.2(a)")
async def test_rtcc_dismisses_with_a_reason_and_nothing_follows(hl, client, people, alert_id):
    assert (await step(client, alert_id, "acknowledgements", people.rtcc)).status_code == 201
    bad = await step(client, alert_id, "dismissals", people.rtcc, reason="bored")
    assert bad.status_code == 422
    r = await step(client, alert_id, "dismissals", people.rtcc, reason="misread", note="7 vs T")
    assert r.status_code == 201
    assert r.json()["status"] == "dismissed"
    later = await step(client, alert_id, "visual-confirmations", people.officer_a, matches=True)
    assert later.status_code == 409
    [event] = await hl.audit_events("hotlist.alert_dismissed")
    assert event["data"]["reason"] == "misread"
    listed = await hl.alerts(status="dismissed")
    assert [a["dismissal_reason"] for a in listed] == ["misread"]


async def test_workflow_roles(client, tokens, people, alert_id):
    assert (await step(client, alert_id, "acknowledgements", people.officer_a)).status_code == 403
    r = await step(client, alert_id, "visual-confirmations", people.rtcc, matches=True)
    assert r.status_code == 403
    r = await step(
        client, alert_id, "visual-confirmations", tokens.headers("hotlist_manager"), matches=True
    )
    assert r.status_code == 403
    missing = await step(client, "0" * 32, "acknowledgements", people.rtcc)
    assert missing.status_code == 404


@pytest.mark.policy("344.3.2(b)")
async def test_enforcement_refused_naming_each_missing_step(client, people, alert_id):
    async def enforce():
        return await step(
            client, alert_id, "enforcement-actions", people.officer_a, action="traffic_stop"
        )

    r = await enforce()
    assert r.status_code == 409
    body = r.json()
    assert body["type"] == problem_type("VerificationIncomplete")
    assert body["clause"] == "344.3.2(b)"
    assert body["missing_steps"] == [
        "visual_confirmation",
        "ncic_tcic_confirmation",
        "second_officer_verification",
    ]
    assert "visual_confirmation missing" in body["detail"]

    await step(client, alert_id, "visual-confirmations", people.officer_a, matches=True)
    r = await enforce()
    assert r.json()["missing_step"] == "ncic_tcic_confirmation"
    assert "NCIC/TCIC" in r.json()["detail"]

    await step(
        client,
        alert_id,
        "ncic-confirmations",
        people.officer_a,
        system="ncic",
        still_valid=True,
        reference="QV-1",
    )
    r = await enforce()
    assert r.status_code == 409
    assert r.json()["missing_steps"] == ["second_officer_verification"]
    assert "second officer" in r.json()["detail"]

    await step(client, alert_id, "second-officer-verifications", people.officer_b, matches=True)
    r = await enforce()
    assert r.status_code == 201, r.text
    assert r.json()["missing_steps"] == []


@pytest.mark.policy("344.3.2(b)")
async def test_negative_confirmations_block_enforcement(client, people, alert_id):
    await step(client, alert_id, "visual-confirmations", people.officer_a, matches=False)
    await step(
        client,
        alert_id,
        "ncic-confirmations",
        people.officer_a,
        system="tcic",
        still_valid=False,
        reference="QV-2 record cleared",
    )
    await step(client, alert_id, "second-officer-verifications", people.officer_b, matches=True)
    r = await step(client, alert_id, "enforcement-actions", people.officer_a, action="detention")
    assert r.status_code == 409
    assert r.json()["missing_steps"] == ["visual_confirmation", "ncic_tcic_confirmation"]
    assert "does not match" in r.json()["detail"]
    assert "no longer valid" in r.json()["detail"]


@pytest.mark.policy("344.3.2(b)")
async def test_the_same_officer_cannot_be_the_second_verifier(client, people, alert_id):
    await step(client, alert_id, "visual-confirmations", people.officer_a, matches=True)
    same = await step(
        client, alert_id, "second-officer-verifications", people.officer_a, matches=True
    )
    assert same.status_code == 403
    assert same.json()["type"] == problem_type("SecondOfficerRefused")
    assert same.json()["clause"] == "344.3.2(b)"
    assert "different officer" in same.json()["detail"]


@pytest.mark.policy("344.3.2(b)")
async def test_second_verification_follows_the_visual_confirmation(client, people, alert_id):
    r = await step(client, alert_id, "second-officer-verifications", people.officer_b, matches=True)
    assert r.status_code == 409
    assert r.json()["missing_step"] == "visual_confirmation"


@pytest.mark.policy("344.3.2(b)")
async def test_exigency_waiver_with_justification_allows_enforcement(hl, client, people, alert_id):
    short = await step(
        client, alert_id, "exigency-waivers", people.officer_a, justification="urgent"
    )
    assert short.status_code == 422
    await field_steps(client, alert_id, people, waiver=True)
    r = await step(client, alert_id, "enforcement-actions", people.officer_a, action="arrest")
    assert r.status_code == 201, r.text
    [event] = await hl.audit_events("hotlist.alert_exigency_waiver")
    assert "school zone" in event["data"]["justification"]
    [enforced] = await hl.audit_events("hotlist.alert_enforcement_action")
    assert enforced["data"]["second_officer_waived"] is True


@pytest.mark.policy("344.3.2(b)")
async def test_waiver_refused_for_an_investigators_follow_up(client, people, alert_id):
    flagged = await step(
        client,
        alert_id,
        "exigency-waivers",
        people.detective,
        justification="Suspect may flee before a second officer arrives",
        investigator_follow_up=True,
    )
    assert flagged.status_code == 403
    assert flagged.json()["type"] == problem_type("WaiverRefused")
    assert flagged.json()["clause"] == "344.3.2(b)"

    # Once a step marks the alert as a follow-up, a later waiver is refused too...
    await step(
        client,
        alert_id,
        "visual-confirmations",
        people.detective,
        matches=True,
        investigator_follow_up=True,
    )
    later = await step(
        client,
        alert_id,
        "exigency-waivers",
        people.officer_a,
        justification="Suspect may flee before a second officer arrives",
    )
    assert later.status_code == 403
    # ...and the enforcement action still needs the second officer.
    await step(
        client,
        alert_id,
        "ncic-confirmations",
        people.detective,
        system="ncic",
        still_valid=True,
        reference="QV-3",
    )
    r = await step(client, alert_id, "enforcement-actions", people.detective, action="detention")
    assert r.status_code == 409
    assert r.json()["missing_steps"] == ["second_officer_verification"]
    assert "investigator's follow-up" in r.json()["detail"]
    await step(client, alert_id, "second-officer-verifications", people.officer_b, matches=True)
    r = await step(client, alert_id, "enforcement-actions", people.detective, action="detention")
    assert r.status_code == 201


@pytest.mark.policy("344.3.2(b)")
async def test_waiver_recorded_before_a_follow_up_flag_does_not_count(client, people, alert_id):
    await step(
        client,
        alert_id,
        "exigency-waivers",
        people.officer_a,
        justification="Armed suspect leaving the scene at speed",
    )
    await step(client, alert_id, "visual-confirmations", people.officer_a, matches=True)
    await step(
        client,
        alert_id,
        "ncic-confirmations",
        people.officer_a,
        system="ncic",
        still_valid=True,
        reference="QV-4",
    )
    r = await step(
        client,
        alert_id,
        "enforcement-actions",
        people.detective,
        action="detention",
        investigator_follow_up=True,
    )
    assert r.status_code == 409
    assert r.json()["missing_step"] == "second_officer_verification"


@pytest.mark.policy("344.6(b)11")
@pytest.mark.policy("344.6(b)12")
@pytest.mark.policy("344.6(b)13")
async def test_outcome_records_driver_victim_and_offense(hl, client, people, alert_id):
    early = await step(
        client,
        alert_id,
        "outcomes",
        people.officer_a,
        outcome="arrest",
        offense="UUMV",
        victim_race="white",
        victim_gender="female",
    )
    assert early.status_code == 409
    assert early.json()["missing_step"] == "enforcement_action"

    await field_steps(client, alert_id, people)
    await step(client, alert_id, "enforcement-actions", people.officer_a, action="traffic_stop")
    no_driver = await step(
        client,
        alert_id,
        "outcomes",
        people.officer_a,
        outcome="arrest",
        offense="UUMV",
        victim_race="white",
        victim_gender="female",
    )
    assert no_driver.status_code == 422
    assert no_driver.json()["clause"] == "344.6(b)11"

    r = await step(
        client,
        alert_id,
        "outcomes",
        people.officer_a,
        outcome="arrest",
        offense="Unauthorized use of a motor vehicle (PC 31.07)",
        driver_race="hispanic_latino",
        driver_gender="male",
        victim_race="white",
        victim_gender="female",
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "closed"
    detail = await hl.alert(alert_id)
    assert (detail["outcome"], detail["driver_race"], detail["victim_gender"]) == (
        "arrest",
        "hispanic_latino",
        "female",
    )
    assert detail["offense"].startswith("Unauthorized use")
    after = await step(client, alert_id, "rtcc-actions", people.rtcc, action="dispatched")
    assert after.status_code == 409

    [event] = await hl.audit_events("hotlist.alert_outcome")
    data = event["data"]
    assert (data["driver_race"], data["driver_gender"]) == ("hispanic_latino", "male")
    assert (data["victim_race"], data["victim_gender"]) == ("white", "female")
    assert data["offense"].startswith("Unauthorized use")
    assert data["detention"] is True
    assert data["hotlist_name"] == "stolen vehicles"
    assert event["subject"] == OFFICER_A


async def test_every_transition_is_attributed_and_audited(hl, client, people, alert_id):
    await step(client, alert_id, "acknowledgements", people.rtcc)
    await step(client, alert_id, "rtcc-actions", people.rtcc, action="dispatched")
    await field_steps(client, alert_id, people)
    await step(client, alert_id, "enforcement-actions", people.officer_a, action="vehicle_recovery")
    await step(
        client,
        alert_id,
        "outcomes",
        people.officer_a,
        outcome="released_without_action",
        offense="Stolen vehicle recovered unoccupied",
        victim_race="unknown",
        victim_gender="unknown",
    )
    types = [e["type"] for e in await hl.audit_events("hotlist.alert_")]
    assert types == [
        "hotlist.alert_created",
        "hotlist.alert_acknowledged",
        "hotlist.alert_actioned",
        "hotlist.alert_visual_confirmation",
        "hotlist.alert_ncic_tcic_confirmation",
        "hotlist.alert_second_officer_verification",
        "hotlist.alert_enforcement_action",
        "hotlist.alert_outcome",
    ]
    detail = await hl.alert(alert_id)
    assert [(s["step"], s["actor"]) for s in detail["steps"]] == [
        ("acknowledged", "user:rtcc-1"),
        ("actioned", "user:rtcc-1"),
        ("visual_confirmation", OFFICER_A),
        ("ncic_tcic_confirmation", OFFICER_A),
        ("second_officer_verification", OFFICER_B),
        ("enforcement_action", OFFICER_A),
        ("outcome", OFFICER_A),
    ]
    step_responses = await step(client, alert_id, "acknowledgements", people.rtcc)
    assert "plate" not in step_responses.json()
