"""344.3.2(c), audit side: fixed cameras and hits per zip code and sector against the population
table the department imports, a disparity index per area, group exposure per demographic
column, and the placement reviews on record; all from audit's own log."""

from __future__ import annotations

from datetime import timedelta

import pytest

POPULATION_CSV = (
    "area,population,black,hispanic,white\n"
    "78701,10000,1000,3000,6000\n"
    "78702,20000,8000,9000,3000\n"
    "78703,5000,500,500,4000\n"
    "78704,15000,3000,6000,6000\n"
    "adam,25000,,,\n"
    "baker,25000,,,\n"
)
CSV_HEADERS = {"Content-Type": "text/csv"}


def _importer(tokens) -> dict[str, str]:
    return {**tokens.headers("chief_security_officer", subject="user:cso"), **CSV_HEADERS}


@pytest.fixture
async def cameras(ev, send) -> None:
    t = ev.BASE_TIME
    seq = iter(range(1000))

    def at() -> object:
        return t - timedelta(days=60) + timedelta(minutes=next(seq))

    def registered(cid: str, ctype: str, zip_code: str | None, sector: str | None) -> dict:
        return ev.event(
            "ingest.camera_registered",
            {
                "camera_id": cid,
                "camera_type": ctype,
                "status": "pending" if ctype == "fixed" else "active",
                "zip_code": zip_code,
                "sector": sector,
                "actor": "user:cso",
            },
            time=at(),
        )

    def status(cid: str, to: str) -> dict:
        return ev.event(
            "ingest.camera_status_changed",
            {"camera_id": cid, "camera_type": "fixed", "from": "x", "to": to},
            time=at(),
        )

    def review(cid: str, zip_code: str, sector: str, approved: bool = True) -> dict:
        return ev.event(
            "ingest.placement_review_recorded",
            {
                "camera_id": cid,
                "review_id": f"r-{cid}-{zip_code}",
                "reviewer": "R&P analyst",
                "reviewed_on": "2026-08-01",
                "approved": approved,
                "zip_code": zip_code,
                "sector": sector,
                "notes": "spread across sectors",
            },
            time=at(),
        )

    def hit(kind: str, zip_code: str, sector: str, when: object) -> dict:
        return ev.event(
            f"hotlist.{kind}",
            {
                "alert_id": "a",
                "camera_id": "cam-1",
                "camera_type": "fixed",
                "zip_code": zip_code,
                "sector": sector,
            },
            time=when,
        )

    events = [
        registered("cam-1", "fixed", "78701", "adam"),
        review("cam-1", "78701", "adam"),
        status("cam-1", "active"),
        registered("cam-2", "fixed", "78701", "adam"),
        review("cam-2", "78701", "adam"),
        status("cam-2", "active"),
        registered("cam-3", "fixed", "78702", "baker"),
        registered("cam-4", "fixed", "78702", "baker"),
        review("cam-4", "78702", "baker"),
        status("cam-4", "active"),
        ev.event(
            "ingest.camera_updated",
            {"camera_id": "cam-4", "changes": {"zip_code": "78703", "sector": "charlie"}},
            time=at(),
        ),
        status("cam-4", "pending"),
        review("cam-4", "78703", "charlie"),
        status("cam-4", "active"),
        registered("cam-5", "vehicle", None, None),
        registered("cam-6", "fixed", "78704", "david"),
        status("cam-6", "active"),
        registered("cam-7", "fixed", "78702", "baker"),
        review("cam-7", "78702", "baker"),
        status("cam-7", "active"),
        ev.event(
            "ingest.camera_retired",
            {
                "camera_id": "cam-7",
                "camera_type": "fixed",
                "status": "retired",
                "zip_code": "78702",
                "sector": "baker",
            },
            time=at(),
        ),
        hit("alert_created", "78701", "adam", t),
        hit("alert_created", "78701", "adam", t + timedelta(hours=1)),
        hit("alert_created", "78701", "adam", t + timedelta(hours=2)),
        hit("alert_read_added", "78701", "adam", t + timedelta(hours=3)),
        hit("alert_created", "78703", "charlie", t + timedelta(hours=4)),
        hit("alert_created", "78702", "baker", t - timedelta(days=60)),  # previous quarter
    ]
    await send(events)


@pytest.mark.policy("344.3.2(c)")
async def test_population_table_imports_once_and_is_current(client, tokens):
    first = await client.post(
        "/v1/population-imports", content=POPULATION_CSV, headers=_importer(tokens)
    )
    again = await client.post(
        "/v1/population-imports", content=POPULATION_CSV, headers=_importer(tokens)
    )
    areas = await client.get(
        "/v1/population-areas", params={"limit": 500}, headers=tokens.headers("city_auditor")
    )

    assert first.status_code == 201, first.text
    assert first.json()["row_count"] == 6
    assert first.json()["columns"] == [
        "area",
        "area_type",
        "population",
        "black",
        "hispanic",
        "white",
    ]
    assert again.json()["id"] == first.json()["id"]
    body = areas.json()
    assert body["total"] == 6
    by_area = {(a["area_type"], a["area"]): a for a in body["items"]}
    assert by_area[("zip", "78702")]["demographics"] == {
        "black": 8000.0,
        "hispanic": 9000.0,
        "white": 3000.0,
    }
    assert by_area[("sector", "adam")] == {
        "area_type": "sector",
        "area": "adam",
        "population": 25000,
        "demographics": {},
    }


@pytest.mark.policy("344.3.2(c)")
@pytest.mark.parametrize(
    ("csv_text", "rows"),
    [
        (
            "area,population\n78701,100\n78702,abc\n,5\n78701,7\n",
            [(3, "population"), (4, "area"), (5, "area")],
        ),
        ("area,people\n78701,100\n", [(1, "population")]),
        ("area,population,Black Pop\n78701,1,2\n", [(1, "black pop")]),
        ("area,population,area_type\n78701,1,county\n", [(2, "area_type")]),
        ("area,population,black\n78701,10,-3\n", [(2, "black")]),
        ("area,population\n78701,10,3\n", [(2, None)]),
        ("area,population\n", [(None, None)]),
        ("", [(None, None)]),
    ],
)
async def test_bad_population_rows_are_named_and_nothing_is_imported(
    client, tokens, csv_text, rows
):
    resp = await client.post("/v1/population-imports", content=csv_text, headers=_importer(tokens))

    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["clause"] == "344.3.2(c)"
    assert [(p["row"], p["column"]) for p in body["problems"]] == rows
    areas = await client.get("/v1/population-areas", headers=tokens.headers("city_auditor"))
    assert areas.json()["total"] == 0


async def test_population_table_that_is_not_utf8_is_refused(client, tokens):
    resp = await client.post(
        "/v1/population-imports",
        content=b"area,population\n\xff\xfe,1\n",
        headers=_importer(tokens),
    )

    assert resp.status_code == 422, resp.text
    assert "UTF-8" in resp.json()["detail"]


def _expected_exposure(cams: dict[str, int], rows: dict[str, dict]) -> dict[str, float]:
    total_pop = sum(r["population"] for r in rows.values())
    overall = sum(cams.get(a, 0) for a in rows) / total_pop
    out = {}
    for column in ("black", "hispanic", "white"):
        group = sum(r[column] for r in rows.values())
        rate = sum(cams.get(a, 0) / r["population"] * r[column] for a, r in rows.items()) / group
        out[column] = rate / overall
    return out


@pytest.mark.policy("344.3.2(c)")
async def test_equity_report_compares_cameras_and_hits_with_population(client, tokens, cameras):
    imported = await client.post(
        "/v1/population-imports", content=POPULATION_CSV, headers=_importer(tokens)
    )
    assert imported.status_code == 201

    resp = await client.get(
        "/v1/equity-reports", params={"quarter": "2026Q4"}, headers=tokens.headers("city_auditor")
    )

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total_fixed_cameras"] == 4 and body["total_hits"] == 5
    areas = {(a["area_type"], a["area"]): a for a in body["areas"]}
    zip_cams = {"78701": 2, "78703": 1, "78704": 1}
    zip_pop = {"78701": 10000, "78702": 20000, "78703": 5000, "78704": 15000}
    for area, pop in zip_pop.items():
        row = areas[("zip", area)]
        expected = (zip_cams.get(area, 0) / 4) / (pop / 50000)
        assert row["disparity_index"] == pytest.approx(expected), area
        assert row["fixed_cameras"] == zip_cams.get(area, 0)
    assert areas[("zip", "78701")]["hits"] == 4 and areas[("zip", "78703")]["hits"] == 1
    assert areas[("zip", "78702")]["hits"] == 0
    assert areas[("zip", "78702")]["pending_fixed_cameras"] == 1
    assert areas[("sector", "adam")]["disparity_index"] == pytest.approx(1.0)
    assert areas[("sector", "baker")]["disparity_index"] == 0
    assert areas[("sector", "charlie")]["population"] is None
    assert areas[("sector", "charlie")]["disparity_index"] is None
    rows = {
        "78701": {"population": 10000, "black": 1000, "hispanic": 3000, "white": 6000},
        "78702": {"population": 20000, "black": 8000, "hispanic": 9000, "white": 3000},
        "78703": {"population": 5000, "black": 500, "hispanic": 500, "white": 4000},
        "78704": {"population": 15000, "black": 3000, "hispanic": 6000, "white": 6000},
    }
    exposure = {g["column"]: g for g in body["group_exposure"] if g["area_type"] == "zip"}
    for column, index in _expected_exposure(zip_cams, rows).items():
        assert exposure[column]["exposure_index"] == pytest.approx(index), column
    assert exposure["black"]["cameras_per_100k"] == pytest.approx(4.0)
    assert body["fixed_cameras_without_approved_review"] == ["cam-6"]
    assert {(r["camera_id"], r["zip_code"]) for r in body["placement_reviews"]} == {
        ("cam-1", "78701"),
        ("cam-2", "78701"),
        ("cam-4", "78702"),
        ("cam-4", "78703"),
        ("cam-7", "78702"),
    }
    assert "population" in body["formula"]


@pytest.mark.policy("344.3.2(c)")
async def test_equity_report_as_csv_and_without_population(client, tokens, cameras):
    resp = await client.get(
        "/v1/equity-reports/areas.csv",
        params={"quarter": "2026Q4"},
        headers=tokens.headers("risk_management"),
    )

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    lines = resp.text.splitlines()
    assert lines[0].split(",")[:3] == ["area_type", "area", "population"]
    row = next(line.split(",") for line in lines if line.startswith("zip,78701,"))
    assert row[2] == "" and row[3] == "2"  # no population imported: share and index unknown


@pytest.mark.policy("344.3.2(c)")
@pytest.mark.parametrize("role", ["city_auditor", "officer", "investigator"])
async def test_only_the_cso_and_risk_management_import_population(client, tokens, role):
    resp = await client.post(
        "/v1/population-imports",
        content=POPULATION_CSV,
        headers={**tokens.headers(role), **CSV_HEADERS},
    )

    assert resp.status_code == 403, resp.text
