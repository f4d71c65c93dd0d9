"""End-to-end set-up shared by the operations tests (restore, scale-out): the people, a camera
and its ingest key, all made through the real gateway, and reads posted as cameras post them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from alpr_common.suite import Suite
from tests.helpers.e2e import PASSWORD, create_person, login, record_training

SEARCH_PURPOSE = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-0042-OPS",
    "X-ALPR-Reason": "stolen pickup seen leaving the burglary scene",
}


@dataclass
class Fleet:
    gateway: httpx.Client
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    cso: dict[str, str] = field(default_factory=dict)
    camera: str = ""
    ingest_key: str = ""

    def headers(self, who: str) -> dict[str, str]:
        # One login per person: a TOTP code is accepted once, and tokens last 15 minutes.
        if who not in self.tokens:
            person = self.users[who]
            self.tokens[who] = login(self.gateway, person["username"], PASSWORD, person["totp"])
        return self.tokens[who]


def make_fleet(suite: Suite, gateway: httpx.Client, tag: str, roles: dict[str, str]) -> Fleet:
    """A CSO, one trained person per `roles` entry (name -> role, names prefixed with `tag`),
    and a camera `<tag>-cam` registered by an admin with a camera client and an ingest key."""
    password = "amber-compass-rolling-19"
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        f"{tag}-cso",
        "--full-name",
        f"{tag} CSO",
        "--badge",
        "9077",
        "--password-stdin",
        "--allow-additional",
        input_text=password + "\n",
    )
    fleet = Fleet(gateway)
    fleet.cso = login(gateway, f"{tag}-cso", password, json.loads(out)["totp_secret"])
    everyone = {"trainer": "training_coordinator", "admin": "admin", **roles}
    for name, role in everyone.items():
        fleet.users[name] = create_person(gateway, fleet.cso, f"{tag}-{name}", role)
    for name in everyone:
        if name != "trainer":
            record_training(
                gateway,
                fleet.headers("trainer"),
                fleet.users[name]["id"],
                datetime.now(UTC) - timedelta(days=1),
            )
    fleet.camera = f"{tag}-cam"
    r = gateway.post(
        "/v1/ingest/cameras",
        headers=fleet.headers("admin"),
        json={
            "id": fleet.camera,
            "name": f"Trailer {tag}",
            "vendor": "native",
            "camera_type": "trailer",
            "location": {"lat": 30.2686, "lon": -97.7540},
        },
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/clients",
        headers=fleet.cso,
        json={"name": f"{tag} trailer", "kind": "camera", "cameras": [fleet.camera]},
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/ingest-keys",
        headers=fleet.cso,
        json={"client_id": r.json()["client"]["id"], "label": tag},
    )
    assert r.status_code == 201, r.text
    fleet.ingest_key = r.json()["key"]
    return fleet


def post_reads(client: httpx.Client, fleet: Fleet, plates: list[str]) -> dict[str, Any]:
    """One native post of `plates` through `client` (a gateway), as the camera would send it."""
    now = datetime.now(UTC)
    r = client.post(
        "/v1/ingest/reads",
        headers={"X-ALPR-Ingest-Key": fleet.ingest_key},
        json={
            "reads": [
                {
                    "plate": p,
                    "captured_at": (now - timedelta(seconds=2)).isoformat(),
                    "camera": fleet.camera,
                }
                for p in plates
            ]
        },
    )
    assert r.status_code == 200, r.text
    return dict(r.json())
