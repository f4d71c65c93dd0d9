"""The Frigate bridge's filter: only messages that carry a recognised plate leave the bridge
(344.4(a)1: a description of a person, a face or a car without a plate is acknowledged and
dropped). The bridge end to end, with a real broker: tests/e2e/test_frigate_bridge_e2e.py."""

import json
import os
import time
from pathlib import Path

import pytest

from alpr_ingest.frigate_bridge import BridgeSettings, heartbeat_fresh, wanted

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    "fixture",
    [
        "frigate_lpr_known_plate.json",
        "frigate_events_end_tuple_plate.json",
        "frigate_plate_recognizer_sidecar.json",
        "frigate_plate_recognizer_watched.json",
    ],
)
def test_messages_with_a_plate_are_forwarded(fixture):
    assert wanted((FIXTURES / fixture).read_bytes()) is None


@pytest.mark.policy("344.4(a)1")
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ((FIXTURES / "frigate_description_update.json").read_bytes(), "not a plate update"),
        ((FIXTURES / "frigate_events_new_no_plate.json").read_bytes(), "without a recognised"),
        (json.dumps({"type": "face", "id": "1.0-a", "name": "someone"}).encode(), "not a plate"),
        (b"\xff not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"frigate_event_id": "1.0-a", "plate_number": ""}).encode(), "without a plate"),
    ],
)
def test_messages_without_a_plate_never_leave_the_bridge(payload, reason):
    assert reason in (wanted(payload) or "")


def test_settings_need_an_ingest_key_and_read_topics(monkeypatch):
    monkeypatch.delenv("FRIGATE_BRIDGE_INGEST_KEY", raising=False)
    with pytest.raises(ValueError, match="ingest_key"):
        BridgeSettings()  # type: ignore[call-arg]
    monkeypatch.setenv("FRIGATE_BRIDGE_INGEST_KEY", "k" * 32)
    monkeypatch.setenv("FRIGATE_BRIDGE_TOPICS", " a/events, b/tracked_object_update ,")
    assert BridgeSettings().topic_list() == ["a/events", "b/tracked_object_update"]  # type: ignore[call-arg]


def test_the_ingest_key_can_come_from_a_mounted_file(monkeypatch, tmp_path):
    (tmp_path / "ingest-key").write_text("k" * 40 + "\n")
    monkeypatch.delenv("FRIGATE_BRIDGE_INGEST_KEY", raising=False)
    monkeypatch.setenv("FRIGATE_BRIDGE_INGEST_KEY_FILE", str(tmp_path / "ingest-key"))
    assert BridgeSettings().ingest_key.get_secret_value() == "k" * 40  # type: ignore[call-arg]


def test_the_liveness_probe_wants_a_fresh_heartbeat(tmp_path):
    beat = tmp_path / "alive"
    assert not heartbeat_fresh(str(beat)) and not heartbeat_fresh(None)
    beat.touch()
    assert heartbeat_fresh(str(beat))
    old = time.time() - 120
    os.utime(beat, (old, old))
    assert not heartbeat_fresh(str(beat))
