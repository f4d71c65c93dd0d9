"""Frigate over MQTT, end to end: a real broker (the machine's Mosquitto, `ALPR_TEST_MQTT_URL`),
the bridge as its own process (`python -m alpr_ingest frigate-bridge`), the suite's real processes.
Messages published to the broker become reads stored once, also when the bridge is killed while
it works and when it is down while Frigate publishes (the broker keeps its session)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alpr_common.suite import Suite
from alpr_common.testing.plugin import unavailable
from tests.helpers.e2e import PASSWORD, create_cso, create_person, login, record_training

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

MQTT_URL = os.environ.get("ALPR_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
SEARCH_PURPOSE = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-1818181",
    "X-ALPR-Reason": "checking the reads the Frigate bridge brought in",
}
FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"


def _broker() -> tuple[str, int]:
    url = urlsplit(MQTT_URL)
    host, port = url.hostname or "127.0.0.1", url.port or 1883
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        message = f"no MQTT broker at {MQTT_URL} ({exc}); start mosquitto or set ALPR_TEST_MQTT_URL"
        unavailable(message)
    return host, port


class Frigate:
    """What Frigate does on MQTT: QoS 1 publishes under its topic prefix."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.prefix = prefix
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"frigate-{prefix}")
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(self, topic: str, message: dict) -> None:
        info = self.client.publish(f"{self.prefix}/{topic}", json.dumps(message), qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def setup(suite: Suite, gateway: httpx.Client) -> Iterator[dict]:
    host, port = _broker()
    run = uuid.uuid4().hex[:8]
    cso_secret = create_cso(suite, f"cso-frig-{run}", PASSWORD)["totp_secret"]
    cso = login(gateway, f"cso-frig-{run}", PASSWORD, cso_secret)
    people = {
        "trainer": create_person(gateway, cso, f"frtr{run}", "training_coordinator"),
        "admin": create_person(gateway, cso, f"frad{run}", "admin"),
        "inv": create_person(gateway, cso, f"frin{run}", "investigator"),
    }
    trainer = login(gateway, people["trainer"]["username"], PASSWORD, people["trainer"]["totp"])
    for who in ("admin", "inv"):
        record_training(gateway, trainer, people[who]["id"], datetime.now(UTC) - timedelta(days=1))
    headers = {
        who: login(gateway, people[who]["username"], PASSWORD, people[who]["totp"])
        for who in ("admin", "inv")
    }
    camera_id, frigate_name = f"frigate-{run}", f"yard_gate_{run}"
    r = gateway.post(
        "/v1/ingest/cameras",
        headers=headers["admin"],
        json={
            "id": camera_id,
            "name": "Fleet yard gate (Frigate)",
            "vendor": "frigate",
            "camera_type": "trailer",  # a fixed camera waits for its placement review
            "location": {"lat": 30.2686, "lon": -97.7540},
            "vendor_keys": [frigate_name],
        },
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/clients",
        headers=cso,
        json={"name": f"frigate bridge {run}", "kind": "camera", "cameras": [camera_id]},
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/ingest-keys",
        headers=cso,
        json={"client_id": r.json()["client"]["id"], "label": "frigate bridge"},
    )
    assert r.status_code == 201, r.text
    prefix = f"frigate-e2e-{run}"
    env = {
        **os.environ,
        "FRIGATE_BRIDGE_MQTT_URL": MQTT_URL,
        "FRIGATE_BRIDGE_TOPICS": f"{prefix}/events,{prefix}/tracked_object_update",
        "FRIGATE_BRIDGE_CLIENT_ID": f"alpr-bridge-{run}",
        "FRIGATE_BRIDGE_TARGET_URL": f"{suite.url('gateway')}/v1/ingest/vendor-reads/frigate",
        "FRIGATE_BRIDGE_INGEST_KEY": r.json()["key"],
    }
    frigate = Frigate(host, port, prefix)
    state = {
        "env": env,
        "frigate": frigate,
        "camera_id": camera_id,
        "frigate_name": frigate_name,
        "inv": headers["inv"],
        "log": suite.state_dir / "logs" / f"frigate-bridge-{run}.log",
    }
    yield state
    frigate.close()
    # Drop the bridge's persistent session at the broker (a clean session under its id).
    cleanup = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=env["FRIGATE_BRIDGE_CLIENT_ID"], clean_session=True
    )
    cleanup.connect(host, port)
    cleanup.disconnect()


def _start_bridge(setup: dict) -> subprocess.Popen[bytes]:
    """Start the bridge and wait for its subscription: from then on the broker keeps the
    session's messages, whether the bridge runs or not (before it, nothing is subscribed)."""
    log: Path = setup["log"]
    seen = log.read_text().count("subscribed to") if log.exists() else 0
    bridge = subprocess.Popen(
        [sys.executable, "-m", "alpr_ingest", "frigate-bridge"],
        env=setup["env"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not (log.exists() and log.read_text().count("subscribed to") > seen):
        assert bridge.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, "the bridge did not subscribe within 30 s"
        time.sleep(0.1)
    return bridge


def _lpr(setup: dict, n: int, plate: str) -> dict:
    start = time.time() - 60
    return {
        "type": "lpr",
        "id": f"{start + n:.6f}-{uuid.uuid4().hex[:6]}",
        "name": None,
        "plate": plate,
        "score": 0.93,
        "camera": setup["frigate_name"],
        "timestamp": start + n + 0.5,
    }


def _noise(setup: dict) -> list[tuple[str, dict]]:
    """Messages about no plate: a person's description update, a car event without a plate."""
    description = json.loads((FIXTURES / "frigate_description_update.json").read_text())
    no_plate = json.loads((FIXTURES / "frigate_events_new_no_plate.json").read_text())
    for side in ("before", "after"):
        no_plate[side]["camera"] = setup["frigate_name"]
    description["camera"] = setup["frigate_name"]
    return [("tracked_object_update", description), ("events", no_plate)]


def _stored(setup: dict, gateway: httpx.Client) -> Counter[str]:
    r = gateway.get(
        "/v1/ingest/reads",
        params={"camera_id": setup["camera_id"], "limit": 500},
        headers={**setup["inv"], **SEARCH_PURPOSE},
    )
    assert r.status_code == 200, r.text
    return Counter(item["plate"] for item in r.json()["items"])


def _wait_for(setup: dict, gateway: httpx.Client, plates: list[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        stored = _stored(setup, gateway)
        if set(plates) <= set(stored):
            assert all(stored[p] == 1 for p in plates), f"stored twice: {stored - Counter(plates)}"
            assert sum(stored.values()) == len(plates), "reads no message carried were stored"
            return
        if time.monotonic() > deadline:
            missing = sorted(set(plates) - set(stored))
            log = setup["log"].read_text()[-2000:] if setup["log"].exists() else ""
            raise AssertionError(f"{len(missing)} reads never stored, e.g. {missing[:3]}\n{log}")
        time.sleep(0.5)


def _stop(bridge: subprocess.Popen[bytes], sig: int) -> None:
    os.killpg(bridge.pid, sig)
    bridge.wait(timeout=15)


def test_frigate_messages_are_stored_once_across_bridge_restarts_and_crashes(setup, gateway):
    frigate: Frigate = setup["frigate"]
    plates = [f"FB{n:05d}" for n in range(1, 91)]
    bridge = _start_bridge(setup)
    try:
        # 1. Running: every plate message becomes one read; the rest never leaves the bridge.
        for topic, message in _noise(setup):
            frigate.publish(topic, message)
        for n, plate in enumerate(plates[:30]):
            frigate.publish("tracked_object_update", _lpr(setup, n, plate))
        _wait_for(setup, gateway, plates[:30])

        # 2. Down while Frigate publishes: the broker keeps the persistent session's messages.
        _stop(bridge, signal.SIGTERM)
        for n, plate in enumerate(plates[30:60], start=30):
            frigate.publish("tracked_object_update", _lpr(setup, n, plate))
        bridge = _start_bridge(setup)
        _wait_for(setup, gateway, plates[:60])

        # 3. Killed (SIGKILL) while it works: whatever was posted but not yet acknowledged to the
        # broker comes again, and ingest keeps one read per Frigate event.
        for n, plate in enumerate(plates[60:], start=60):
            frigate.publish("tracked_object_update", _lpr(setup, n, plate))
        time.sleep(0.3)
        _stop(bridge, signal.SIGKILL)
        bridge = _start_bridge(setup)
        _wait_for(setup, gateway, plates)
    finally:
        if bridge.poll() is None:
            _stop(bridge, signal.SIGTERM)
