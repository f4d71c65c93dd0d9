"""Helpers for end-to-end tests: people and tokens made through the real gateway."""

import json
from datetime import datetime

import httpx
import pyotp

from alpr_common.suite import Suite

PASSWORD = "violet-harbor-window-77"
ALL_TOPICS = ["appropriate_use", "safeguards", "misuse_consequences", "driver_not_wanted_person"]


def create_cso(suite: Suite, username: str, password: str) -> dict[str, str]:
    # The e2e modules share one suite per test worker and each makes its own CSO, in whichever
    # order the worker runs them; refusing a second CSO is tested in tests/access/test_cli.py.
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        username,
        "--full-name",
        "Chief Security",
        "--badge",
        "9001",
        "--password-stdin",
        "--allow-additional",
        input_text=password + "\n",
    )
    return dict(json.loads(out))


def login(gateway: httpx.Client, username: str, password: str, totp_secret: str) -> dict:
    r = gateway.post(
        "/v1/access/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "totp": pyotp.TOTP(totp_secret).now(),
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def create_person(gateway: httpx.Client, cso: dict, username: str, role: str) -> dict:
    r = gateway.post(
        "/v1/access/users",
        headers=cso,
        json={
            "username": username,
            "full_name": f"{username.title()} Person",
            "badge": username[:6],
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    r = gateway.post(
        f"/v1/access/users/{created['user']['id']}/roles", headers=cso, json={"role": role}
    )
    assert r.status_code in (200, 201), r.text
    r = gateway.post(
        "/v1/access/enrolments",
        json={
            "username": username,
            "code": created["enrolment"]["enrolment_code"],
            "new_password": PASSWORD,
        },
    )
    assert r.status_code in (200, 201), r.text
    return {"id": created["user"]["id"], "username": username, "totp": r.json()["totp_secret"]}


def record_training(
    gateway: httpx.Client, coordinator: dict, user_id: str, completed_at: datetime
) -> None:
    r = gateway.post(
        "/v1/access/training-records",
        headers=coordinator,
        json={
            "user_id": user_id,
            "course": "ALPR annual",
            "version": "2026.1",
            "topics": ALL_TOPICS,
            "completed_at": completed_at.isoformat(),
        },
    )
    assert r.status_code == 201, r.text
