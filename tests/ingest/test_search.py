from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.ingest import NOW, SOUTH

PROTECTED = (
    "race", "color", "colour", "religion", "creed", "sex", "gender", "orientation", "age",
    "national", "origin", "ethnic", "disability", "veteran", "marital", "partnership",
    "pregnan", "political", "alien", "citizen", "immigration",
)  # fmt: skip


VEHICLE_ATTRIBUTES = ("vehicle_make", "vehicle_model", "vehicle_color", "vehicle_type")


@pytest.fixture
async def loaded(ingest):
    await ingest.camera("cam-s1")
    await ingest.camera("cam-s2", location=SOUTH)
    await ingest.camera("patrol-s", camera_type="vehicle")
    reads = [
        ingest.read("cam-s1", "ABC1234", captured_at=NOW - timedelta(hours=1)),
        ingest.read("cam-s1", "A8C1234", captured_at=NOW - timedelta(hours=2)),
        ingest.read("cam-s2", "ABC1234", captured_at=NOW - timedelta(days=3)),
        ingest.read("cam-s2", "XBC1239", captured_at=NOW - timedelta(days=10)),
        ingest.read("cam-s1", "ZZZ9999", captured_at=NOW - timedelta(days=20)),
        ingest.read(
            "patrol-s",
            "ABC1234",
            captured_at=NOW - timedelta(minutes=10),
            position={"lat": 30.3000, "lon": -97.7000},
        ),
    ]
    resp = await ingest.post(reads)
    assert resp.json()["stored"] == 6
    return ingest


async def plates(ingest, **params):
    resp = await ingest.search(**params)
    assert resp.status_code == 200, resp.text
    return sorted(r["plate"] for r in resp.json()["items"])


async def test_exact_plate(loaded):
    assert await plates(loaded, plate="ABC1234") == ["ABC1234"] * 3
    assert await plates(loaded, plate="abc-1234") == ["ABC1234"] * 3


async def test_partial_plate_with_wildcards(loaded):
    assert await plates(loaded, plate="?BC123?") == ["ABC1234"] * 3 + ["XBC1239"]
    assert await plates(loaded, plate="ABC*") == ["ABC1234"] * 3
    assert await plates(loaded, plate="*999*") == ["ZZZ9999"]
    for too_broad in ("*", "A*", "??*", "AB?"):
        resp = await loaded.search(plate=too_broad)
        assert resp.status_code == 422, too_broad


async def test_ocr_confusable_variants(loaded):
    assert await plates(loaded, plate="ABC1234") == ["ABC1234"] * 3
    assert await plates(loaded, plate="ABC1234", confusable="true") == ["A8C1234"] + ["ABC1234"] * 3
    assert await plates(loaded, plate="A8CI2E4", confusable="true") == []
    assert await plates(loaded, plate="4BC1234", confusable="true") == []
    assert await plates(loaded, plate="A8C?234", confusable="true") == ["A8C1234"] + ["ABC1234"] * 3


async def test_time_range_is_bounded_and_defaults_to_the_recent_window(loaded, app):
    since = (NOW - timedelta(days=5)).isoformat()
    assert await plates(loaded, plate="ABC1234", since=since) == ["ABC1234"] * 3
    until = (NOW - timedelta(days=2)).isoformat()
    assert await plates(loaded, plate="ABC1234", until=until) == ["ABC1234"]
    app.state.runtime.settings.search_max_window_days = 7
    resp = await loaded.search(plate="ABC1234", since=(NOW - timedelta(days=8)).isoformat())
    assert resp.status_code == 422 and "at most 7 days" in resp.json()["detail"]
    page = (await loaded.search(camera_id="cam-s2")).json()
    assert page["since"].startswith((NOW - timedelta(days=7)).date().isoformat())
    assert [r["plate"] for r in page["items"]] == ["ABC1234"]
    resp = await loaded.search(plate="ABC1234", since=NOW.isoformat(), until=since)
    assert resp.status_code == 422
    resp = await loaded.search(plate="ABC1234", since="2025-03-01T00:00:00")
    assert resp.status_code == 422  # no UTC offset


async def test_camera_and_area(loaded):
    assert await plates(loaded, camera_id="cam-s2") == ["ABC1234", "XBC1239"]
    box = {"min_lat": 30.29, "max_lat": 30.31, "min_lon": -97.71, "max_lon": -97.69}
    assert await plates(loaded, **box) == ["ABC1234"]
    near_south = {"lat": SOUTH["lat"], "lon": SOUTH["lon"], "radius_m": 300}
    assert await plates(loaded, **near_south) == ["ABC1234", "XBC1239"]
    far = {"lat": SOUTH["lat"] + 0.01, "lon": SOUTH["lon"], "radius_m": 300}
    assert await plates(loaded, **far) == []
    resp = await loaded.search(lat=30.0, lon=-97.0)
    assert resp.status_code == 422 and "radius_m" in resp.json()["detail"]
    resp = await loaded.search(min_lat=30.0)
    assert resp.status_code == 422


async def test_a_search_needs_a_subject(loaded):
    resp = await loaded.search(since=(NOW - timedelta(days=1)).isoformat())
    assert resp.status_code == 422
    assert "a time window alone is not a search" in resp.json()["detail"]


async def test_paging_returns_the_total(loaded):
    first = (await loaded.search(plate="ABC1234", limit=2)).json()
    assert first["next"] == f"?plate=ABC1234&limit=2&cursor={first['next_cursor']}"
    second = (await loaded.search(plate="ABC1234", limit=2, cursor=first["next_cursor"])).json()
    assert second["next"] is None
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    times = [r["captured_at"] for r in first["items"] + second["items"]]
    assert times == sorted(times, reverse=True)
    ids = {r["read_id"] for r in first["items"] + second["items"]}
    assert len(ids) == 3


@pytest.mark.policy("344.4(d)")
async def test_search_never_returns_a_read_past_the_retention_window(loaded):
    loaded.clock.advance(days=15)  # ZZZ9999 is now 35 days old, unpurged
    assert await plates(loaded, plate="ZZZ9999") == []
    resp = await loaded.search(
        plate="ZZZ9999",
        since=(NOW - timedelta(days=21)).isoformat(),
        until=(NOW - timedelta(days=19)).isoformat(),
    )
    assert resp.status_code == 422 and "retention" in resp.json()["detail"]
    assert await plates(loaded, camera_id="cam-s2") == ["ABC1234", "XBC1239"]
    (read,) = (await loaded.search(plate="ABC1234", camera_id="cam-s2")).json()["items"]
    loaded.clock.advance(days=13)
    resp = await loaded.client.get(f"/v1/reads/{read['read_id']}", headers=loaded.investigator())
    assert resp.status_code == 404


@pytest.mark.policy("344.4(d)")
async def test_every_search_is_audited_with_who_why_what_and_how_many(loaded):
    headers = loaded.investigator()
    await loaded.search(headers, plate="ABC1234", limit=1)
    (event,) = await loaded.events("ingest.search", "audit")
    data = event["data"]
    assert event["subject"] == "user:inv1"
    assert data["name"] == "Det. Ines Vega" and data["roles"] == ["investigator"]
    assert data["purpose"] == "criminal_investigation"
    assert data["case_number"] == headers["X-ALPR-Case"]
    assert data["reason"] == headers["X-ALPR-Reason"]
    assert data["criteria"]["plate"] == "ABC1234" and data["criteria"]["limit"] == 1
    assert data["criteria"]["since"] and data["criteria"]["until"]
    assert (data["result_count"], data["returned"]) == (3, 1)
    # A look-up by id is logged the same way.
    read_id = (await loaded.search(plate="ZZZ9999")).json()["items"][0]["read_id"]
    await loaded.client.get(f"/v1/reads/{read_id}", headers=headers)
    events = await loaded.events("ingest.search", "audit")
    assert events[-1]["data"]["kind"] == "read"
    assert events[-1]["data"]["criteria"] == {"read_id": read_id}


@pytest.mark.policy("344.4(a)3")
async def test_search_requires_a_declared_purpose(loaded, purpose_headers):
    no_purpose = loaded.tokens.headers("investigator")
    resp = await loaded.client.get("/v1/reads", params={"plate": "ABC1234"}, headers=no_purpose)
    assert resp.status_code == 422
    for header in ("X-ALPR-Purpose", "X-ALPR-Case", "X-ALPR-Reason"):
        partial = {**loaded.investigator()}
        del partial[header]
        resp = await loaded.client.get("/v1/reads", params={"plate": "A1"}, headers=partial)
        assert resp.status_code == 422, header
    personal = {**loaded.investigator(), "X-ALPR-Purpose": "personal_use"}
    resp = await loaded.client.get("/v1/reads", params={"plate": "ABC1234"}, headers=personal)
    assert resp.status_code == 403
    assert await loaded.events("ingest.search") == []
    # The OpenAPI declares the purpose header required, which is how the gateway knows.
    schema = loaded.app.openapi()
    for path, method in (
        ("/v1/reads", "get"),
        ("/v1/reads/{read_id}", "get"),
        ("/v1/holds", "post"),
        ("/v1/holds/{hold_id}/exports", "post"),
    ):
        params = schema["paths"][path][method]["parameters"]
        purpose = [p for p in params if p["name"].lower() == "x-alpr-purpose"]
        assert purpose and purpose[0]["required"] is True, path


@pytest.mark.policy("344.4(a)1")
def test_no_search_parameter_concerns_a_protected_attribute(app):
    schema = app.openapi()
    names = []
    for ops in schema["paths"].values():
        for op in ops.values():
            names += [p["name"].lower() for p in op.get("parameters", [])]
    names += [n.lower() for n in schema["components"]["schemas"]["BackMatchIn"]["properties"]]
    search = schema["paths"]["/v1/reads"]["get"]
    assert {p["name"] for p in search["parameters"] if p["in"] == "query"} == {
        "plate", "confusable", "since", "until", "camera_id", "min_lat", "min_lon",
        "max_lat", "max_lon", "lat", "lon", "radius_m", "limit", "cursor",
        "vehicle_make", "vehicle_model", "vehicle_color", "vehicle_type",
    }  # fmt: skip
    for name in names:
        # The vehicle's own attributes (its paint colour, its make) are not a person's.
        if name in VEHICLE_ATTRIBUTES:
            continue
        for word in PROTECTED:
            if word == "age" and name in ("page",):
                continue
            assert word not in name.replace("x-alpr-", ""), name


async def test_search_is_for_investigators_and_the_rtcc(loaded):
    for role in ("investigator", "rtcc_operator", "supervisor"):
        headers = loaded.tokens.headers(role, purpose=True)
        resp = await loaded.client.get("/v1/reads", params={"plate": "ABC1234"}, headers=headers)
        assert resp.status_code == 200, role
    for role in ("officer", "admin", "camera", "hotlist_manager", "city_auditor"):
        headers = loaded.tokens.headers(role, purpose=True)
        resp = await loaded.client.get("/v1/reads", params={"plate": "ABC1234"}, headers=headers)
        assert resp.status_code == 403, role


async def test_back_match_is_internal_to_services(loaded):
    service = loaded.tokens.headers("service", subject="client:hotlist")
    resp = await loaded.client.post(
        "/v1/reads/back-match",
        json={"plates": ["abc-1234"], "since": (NOW - timedelta(days=5)).isoformat()},
        headers=service,
    )
    assert resp.status_code == 200, resp.text
    assert sorted(r["plate"] for r in resp.json()["reads"]) == ["ABC1234"] * 3
    fuzzy = await loaded.client.post(
        "/v1/reads/back-match",
        json={
            "plates": ["ABC1234"],
            "since": (NOW - timedelta(days=5)).isoformat(),
            "confusable": True,
        },
        headers=service,
    )
    assert sorted(r["plate"] for r in fuzzy.json()["reads"]) == ["A8C1234"] + ["ABC1234"] * 3
    person = loaded.tokens.headers("investigator", purpose=True)
    resp = await loaded.client.post(
        "/v1/reads/back-match",
        json={"plates": ["ABC1234"], "since": NOW.isoformat()},
        headers=person,
    )
    assert resp.status_code == 403
    security = loaded.app.openapi()["paths"]["/v1/reads/back-match"]["post"]["security"]
    assert [s for req in security for scopes in req.values() for s in scopes] == ["service"]
