"""People: creation and enrolment, roles (only the CSO), passwords, deactivation."""

from __future__ import annotations

import pyotp
import pytest

from alpr_access.errors import WeakPassword
from alpr_access.security import check_password_rules
from alpr_common.errors import problem_type
from alpr_common.roles import PERSON_ROLES, Role
from tests.helpers.access import STRONG_PASSWORD

CSO = "chief_security_officer"
NOT_CSO = sorted(r.value for r in PERSON_ROLES if r != Role.CHIEF_SECURITY_OFFICER)


async def create(client, tokens, username="jdoe", roles=(), **extra):
    resp = await client.post(
        "/v1/users",
        json={
            "username": username,
            "full_name": "Jane Doe",
            "badge": "4411",
            "unit": "RTCC",
            "roles": list(roles),
            **extra,
        },
        headers=tokens.headers(CSO, subject="user:cso-1"),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_cso_creates_a_person_who_enrols_once(client, tokens, outbox_events):
    created = await create(client, tokens, roles=["investigator"])
    code = created["enrolment"]["enrolment_code"]
    assert created["user"]["roles"] == ["investigator"]
    assert created["user"]["enrolled"] is False

    enrolled = await client.post(
        "/v1/enrolments",
        json={"username": "jdoe", "code": code, "new_password": STRONG_PASSWORD},
    )
    assert enrolled.status_code == 201, enrolled.text
    secret = enrolled.json()["totp_secret"]
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/")

    token = await client.post(
        "/v1/token",
        data={
            "grant_type": "password",
            "username": "JDoe",
            "password": STRONG_PASSWORD,
            "totp": pyotp.TOTP(secret).now(),
        },
    )
    assert token.status_code == 200, token.text
    again = await client.post(
        "/v1/enrolments",
        json={"username": "jdoe", "code": code, "new_password": "another-" + STRONG_PASSWORD},
    )
    assert again.status_code == 401
    types = [e["type"] for e in await outbox_events() if e["type"] != "access.login_attempt"]
    assert types == [
        "access.user_created",
        "access.role_granted",
        "access.enrolment_code_issued",
        "access.user_enrolled",
    ]
    created_event = (await outbox_events("access.user_created"))[0]
    assert created_event["data"]["actor"] == "user:cso-1"
    assert created_event["destination"] == "audit"


async def test_enrolment_codes_are_stored_hashed(client, tokens, db):
    from sqlalchemy import select

    from alpr_access.models import EnrolmentCode

    created = await create(client, tokens)
    code = created["enrolment"]["enrolment_code"]
    async with db.sessionmaker() as session:
        stored = (await session.execute(select(EnrolmentCode.code_hash))).scalars().all()

    assert stored and all(code not in h and code.replace("-", "") not in h for h in stored)


async def test_new_enrolment_code_cancels_the_old_one(client, tokens):
    created = await create(client, tokens)
    old = created["enrolment"]["enrolment_code"]
    fresh = await client.post(
        f"/v1/users/{created['user']['id']}/enrolment-codes", headers=tokens.headers(CSO)
    )
    assert fresh.status_code == 201

    stale = await client.post(
        "/v1/enrolments", json={"username": "jdoe", "code": old, "new_password": STRONG_PASSWORD}
    )
    ok = await client.post(
        "/v1/enrolments",
        json={
            "username": "jdoe",
            "code": fresh.json()["enrolment_code"].lower(),
            "new_password": STRONG_PASSWORD,
        },
    )

    assert stale.status_code == 401
    assert ok.status_code == 201


async def test_wrong_code_or_name_is_refused_and_recorded(client, tokens, outbox_events):
    await create(client, tokens)

    wrong_code = await client.post(
        "/v1/enrolments",
        json={"username": "jdoe", "code": "AAAA-BBBB", "new_password": STRONG_PASSWORD},
    )
    wrong_name = await client.post(
        "/v1/enrolments",
        json={"username": "nobody", "code": "AAAA-BBBB", "new_password": STRONG_PASSWORD},
    )

    assert wrong_code.status_code == wrong_name.status_code == 401
    assert wrong_code.json()["detail"] == wrong_name.json()["detail"]
    attempts = await outbox_events("access.login_attempt")
    assert [(a["data"]["username"], a["data"]["outcome"]) for a in attempts] == [
        ("jdoe", "failure"),
        ("nobody", "failure"),
    ]


@pytest.mark.parametrize(
    "password",
    [
        "short-1A",  # too short
        "password123456",  # common password with digits
        "Passw0rd!!!!!",  # common password, leet
        "qwertyuiopasdfgh",  # keyboard walk
        "jdoe-is-my-name-2026",  # contains the username
        "Jane-Doe-Secret-42",  # contains the name
        "aaaaaaaaaaaaaaaa",  # one character
    ],
)
async def test_weak_passwords_are_refused(client, tokens, password):
    created = await create(client, tokens)

    resp = await client.post(
        "/v1/enrolments",
        json={
            "username": "jdoe",
            "code": created["enrolment"]["enrolment_code"],
            "new_password": password,
        },
    )

    assert resp.status_code == 422
    assert resp.json()["type"] == problem_type("WeakPassword")
    assert password not in resp.text


def test_password_rules_accept_a_long_unrelated_passphrase():
    check_password_rules(STRONG_PASSWORD, username="jdoe", full_name="Jane Doe")
    with pytest.raises(WeakPassword):
        check_password_rules("123456789012", username="jdoe", full_name="Jane Doe")


async def test_password_change_needs_current_password_and_totp(
    make_person, login, client, tokens, outbox_events
):
    person = await make_person("officer")
    auth = tokens.headers("officer", subject=person.subject)
    new_password = "granite-meadow-falcon-77"

    wrong = await client.put(
        "/v1/users/me/password",
        json={
            "current_password": "not-my-password-at-all",
            "totp": "000000",
            "new_password": new_password,
        },
        headers=auth,
    )
    no_totp = await client.put(
        "/v1/users/me/password",
        json={"current_password": person.password, "totp": "000000", "new_password": new_password},
        headers=auth,
    )
    ok = await client.put(
        "/v1/users/me/password",
        json={
            "current_password": person.password,
            "totp": person.code(),
            "new_password": new_password,
        },
        headers=auth,
    )

    assert wrong.status_code == 403 and wrong.json()["type"] == problem_type("CredentialsRefused")
    assert no_totp.status_code == 403
    assert ok.status_code == 204, ok.text
    assert (await login(person, password=STRONG_PASSWORD)).status_code == 400
    person.password = new_password
    assert (await login(person)).status_code == 200
    changed = await outbox_events("access.password_changed")
    assert [e["data"]["actor"] for e in changed] == [person.subject]
    methods = [
        (e["data"]["outcome"], e["data"]["reason"])
        for e in await outbox_events("access.login_attempt")
    ]
    assert ("failure", "bad_password") in methods and ("failure", "bad_totp") in methods


async def test_machines_have_no_password_to_change(client, tokens):
    resp = await client.get("/v1/users/me", headers=tokens.headers("service"))

    assert resp.status_code == 403


@pytest.mark.policy("344.2(b)")
async def test_only_the_cso_grants_and_removes_roles(client, tokens, make_person, outbox_events):
    person = await make_person("officer")

    grant = await client.post(
        f"/v1/users/{person.id}/roles",
        json={"role": "investigator"},
        headers=tokens.headers(CSO, subject="user:cso-1"),
    )
    remove = await client.delete(
        f"/v1/users/{person.id}/roles/officer", headers=tokens.headers(CSO, subject="user:cso-1")
    )

    assert grant.status_code == 201, grant.text
    assert grant.json()["granted_by"] == "user:cso-1"
    assert remove.status_code == 204
    user = await client.get(f"/v1/users/{person.id}", headers=tokens.headers(CSO))
    assert user.json()["roles"] == ["investigator"]
    events = [
        (e["type"], e["data"]["role"], e["data"]["actor"])
        for e in await outbox_events()
        if e["type"] in ("access.role_granted", "access.role_removed")
    ]
    assert events == [
        ("access.role_granted", "investigator", "user:cso-1"),
        ("access.role_removed", "officer", "user:cso-1"),
    ]


@pytest.mark.policy("344.2(b)")
@pytest.mark.parametrize("role", NOT_CSO)
async def test_no_other_role_grants_or_removes_roles(client, tokens, make_person, role):
    person = await make_person("officer")
    headers = tokens.headers(role)

    grant = await client.post(f"/v1/users/{person.id}/roles", json={"role": CSO}, headers=headers)
    remove = await client.delete(f"/v1/users/{person.id}/roles/officer", headers=headers)
    create_user = await client.post(
        "/v1/users",
        json={"username": "mallory", "full_name": "M", "badge": "1", "roles": [CSO]},
        headers=headers,
    )

    assert (grant.status_code, remove.status_code, create_user.status_code) == (403, 403, 403)


@pytest.mark.policy("344.2(b)")
async def test_admin_cannot_grant_roles(client, tokens, make_person):
    person = await make_person("officer")

    resp = await client.post(
        f"/v1/users/{person.id}/roles", json={"role": "admin"}, headers=tokens.headers("admin")
    )

    assert resp.status_code == 403
    assert "chief_security_officer" in resp.json()["detail"]


async def test_machine_roles_cannot_be_granted_to_people(client, tokens, make_person):
    person = await make_person("officer")

    resp = await client.post(
        f"/v1/users/{person.id}/roles", json={"role": "service"}, headers=tokens.headers(CSO)
    )

    assert resp.status_code == 422


async def test_granting_a_held_role_conflicts(client, tokens, make_person):
    person = await make_person("officer")

    resp = await client.post(
        f"/v1/users/{person.id}/roles", json={"role": "officer"}, headers=tokens.headers(CSO)
    )

    assert resp.status_code == 409


async def test_the_last_cso_cannot_be_removed_or_deactivated(client, tokens, make_person):
    cso = await make_person(CSO)

    remove = await client.delete(f"/v1/users/{cso.id}/roles/{CSO}", headers=tokens.headers(CSO))
    deactivate = await client.patch(
        f"/v1/users/{cso.id}", json={"active": False}, headers=tokens.headers(CSO)
    )
    second = await make_person(CSO)
    remove_again = await client.delete(
        f"/v1/users/{cso.id}/roles/{CSO}", headers=tokens.headers(CSO, subject=second.subject)
    )

    assert remove.status_code == deactivate.status_code == 409
    assert remove.json()["type"] == problem_type("LastChiefSecurityOfficer")
    assert remove_again.status_code == 204


async def test_usernames_are_unique(client, tokens):
    await create(client, tokens)

    resp = await client.post(
        "/v1/users",
        json={"username": "JDOE", "full_name": "J. Doe", "badge": "1"},
        headers=tokens.headers(CSO),
    )

    assert resp.status_code == 409


async def test_deactivation_is_shown_in_status_and_stops_logins(
    client, tokens, make_person, login, outbox_events
):
    person = await make_person("officer")
    status_url = f"/v1/principals/{person.subject}/status"

    resp = await client.patch(
        f"/v1/users/{person.id}", json={"active": False}, headers=tokens.headers(CSO)
    )

    assert resp.status_code == 200 and resp.json()["active"] is False
    status = (await client.get(status_url, headers=tokens.headers("service"))).json()
    assert status["active"] is False
    assert (await login(person)).status_code == 400
    await client.patch(f"/v1/users/{person.id}", json={"active": True}, headers=tokens.headers(CSO))
    assert (await client.get(status_url, headers=tokens.headers("service"))).json()["active"]
    types = [e["type"] for e in await outbox_events() if e["type"].startswith("access.user_")]
    assert types == ["access.user_deactivated", "access.user_activated"]


async def test_users_are_listed_by_role(client, tokens, make_person):
    await make_person("officer", username="aofficer")
    await make_person("investigator", username="binvestigator")

    resp = await client.get(
        "/v1/users", params={"role": "investigator"}, headers=tokens.headers("admin")
    )

    assert resp.status_code == 200
    assert [u["username"] for u in resp.json()["items"]] == ["binvestigator"]
