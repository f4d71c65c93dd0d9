"""Every event ingest queues matches its one typed definition in `alpr_common.contracts.ingest`,
as a receiver sees it (after the JSON the relay sends)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alpr_common.contracts import KNOWN_TYPES
from alpr_common.contracts.ingest import EVENT_TYPES, READ_FIELDS
from alpr_common.events import Event, from_columns
from tests.helpers.ingest import NOW

CASE = "2025-0314-0077"


@pytest.mark.policy("344.4(d)")
async def test_every_event_ingest_sends_matches_its_contract(ingest):
    await ingest.camera("cam-contract")
    await ingest.client.patch(
        "/v1/cameras/cam-contract", json={"name": "Contract St"}, headers=ingest.admin()
    )
    posted = await ingest.post(
        [ingest.read("cam-contract", "CON1"), ingest.read("cam-contract", "CON2")]
    )
    assert posted.status_code == 200, posted.text
    read_ids = [r["read_id"] for r in posted.json()["reads"]]
    assert (await ingest.search(camera_id="cam-contract")).status_code == 200
    held = await ingest.client.post(
        "/v1/holds",
        json={
            "case_number": CASE,
            "category": "criminal_investigation",
            "reason": "Pickup seen leaving the scene.",
            "retention_until": (NOW + timedelta(days=90)).date().isoformat(),
            "read_ids": read_ids,
        },
        headers=ingest.investigator(case=CASE),
    )
    assert held.status_code == 201, held.text
    problem = await ingest.client.post(
        "/v1/equipment-problems",
        json={"camera_id": "cam-contract", "category": "misreads", "description": "Reads 8 as B."},
        headers=ingest.tokens.headers("officer"),
    )
    assert problem.status_code == 201, problem.text
    retired = await ingest.client.delete("/v1/cameras/cam-contract", headers=ingest.admin())
    assert retired.status_code == 200, retired.text

    events = await ingest.events()
    sent = {e["type"] for e in events}
    assert sent >= {
        "ingest.camera_registered", "ingest.camera_updated", "ingest.camera_retired",
        "ingest.reads", "ingest.scan_counts", "ingest.search", "ingest.hold_created",
        "ingest.equipment_problem",
    }  # fmt: skip
    assert sent <= set(EVENT_TYPES), "an event type without a contract"
    for event in events:
        # Read batches and scan counts are built without validation on the way out (the fast
        # path's cost): the envelope and the data must still be what the contract says.
        Event.model_validate({k: v for k, v in event.items() if k != "destination"})
        KNOWN_TYPES[event["type"]].model_validate(event["data"])
    (batch,) = [e for e in events if e["type"] == "ingest.reads"]
    reads = from_columns(batch["data"]["columns"])
    assert reads is not None and [set(r) for r in reads] == [set(READ_FIELDS)] * 2


def test_a_batch_with_a_column_missing_or_short_breaks_the_contract():
    model = EVENT_TYPES["ingest.reads"]
    columns = {name: [None, None] for name in READ_FIELDS}
    model.model_validate({"batch_id": "b", "columns": columns})
    model.model_validate({"reads": [{"plate": "ABC123"}]})  # the earlier form
    with pytest.raises(ValueError, match="columns missing: plate"):
        model.model_validate({"columns": {k: v for k, v in columns.items() if k != "plate"}})
    with pytest.raises(ValueError, match="different lengths"):
        model.model_validate({"columns": {**columns, "plate": ["ABC123"]}})
    with pytest.raises(ValueError, match="exactly one"):
        model.model_validate({"batch_id": "b"})
