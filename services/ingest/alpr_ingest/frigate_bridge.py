"""Frigate over MQTT: the bridge that brings Frigate's plate reads to ingest (docs/formats.md §3).

Frigate has no HTTP webhook; it publishes on MQTT. The bridge subscribes to its topics and posts
each message, unchanged, to `POST /v1/ingest/vendor-reads/frigate` with a camera client's ingest
key, as any camera would. Its guarantees are ingest's:

- nothing is acknowledged before it is stored: the bridge holds a persistent session (a fixed
  client id, `clean_session` off) at QoS 1 and sends a message's PUBACK only once ingest answered
  2xx for it, or refused it for good (a 4xx that a retry cannot change). Until then the broker
  keeps the message, across a bridge restart, and sends it again;
- no duplicates: a message sent again (a crash between ingest's answer and the PUBACK) is the
  same Frigate event id, which is the read's duplicate key at ingest, so it is stored once;
- ingest or the gateway down, answering 429 or 503: the message waits (honouring
  `Retry-After`, with backoff) and the broker holds the rest; a refused ingest key (401/403)
  waits too, with an error in the log that says which setting to fix;
- messages about anything but a recognised plate (a person, a face, a car with no plate read)
  are acknowledged without leaving the bridge (344.4(a)1: no data about people).

PUBACKs go in the order the messages came (MQTT 3.1.1 §4.6), so one worker handles them in order.
Settings come from the environment (`FRIGATE_BRIDGE_*`, below). Run: `python -m alpr_ingest
frigate-bridge`.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from alpr_common.settings import FileSettingsSource
from alpr_common.telemetry import configure_logging

log = logging.getLogger("alpr.ingest.frigate_bridge")

# Frigate's own topics (under its `mqtt.topic_prefix`, `frigate` by default) and the one the
# frigate_plate_recognizer side-car publishes on in its sample configuration.
DEFAULT_TOPICS = "frigate/events,frigate/tracked_object_update,frigate/plate_recognizer"
PERMANENT = frozenset({400, 404, 405, 410, 413, 415, 422})


class BridgeSettings(BaseSettings):
    """From the environment, or (secrets) from the file `FRIGATE_BRIDGE_<NAME>_FILE` names."""

    model_config = SettingsConfigDict(env_prefix="FRIGATE_BRIDGE_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSettingsSource(settings_cls))

    mqtt_url: str = "mqtt://127.0.0.1:1883"  # mqtts:// for TLS; user:password@ when needed
    topics: str = DEFAULT_TOPICS  # comma-separated; MQTT wildcards allowed
    client_id: str = "alpr-frigate-bridge"  # the broker keeps the session under this id
    target_url: str = "http://127.0.0.1:8000/v1/ingest/vendor-reads/frigate"
    ingest_key: SecretStr
    request_timeout_seconds: float = 10.0
    max_backoff_seconds: float = 30.0
    # Touched every second while the bridge runs: a liveness probe without an HTTP port.
    heartbeat_file: str | None = None

    def topic_list(self) -> list[str]:
        return [t.strip() for t in self.topics.split(",") if t.strip()]


def wanted(payload: bytes) -> str | None:
    """Why a message is not forwarded, or None when it carries a recognised plate."""
    try:
        msg = json.loads(payload)
    except ValueError:
        return "not JSON"
    if not isinstance(msg, dict):
        return "not a JSON object"
    if "frigate_event_id" in msg:  # the plate_recognizer side-car
        return None if msg.get("plate_number") else "side-car message without a plate"
    if "type" in msg and "after" not in msg:  # frigate/tracked_object_update
        return None if msg.get("type") == "lpr" and msg.get("plate") else "not a plate update"
    after = msg.get("after")
    if not isinstance(after, dict):
        return "not a Frigate message"
    plate = after.get("recognized_license_plate")
    return None if plate else "event without a recognised plate"


@dataclass(frozen=True, slots=True)
class Message:
    generation: int  # the connection it came on: a PUBACK is only valid on that connection
    mid: int
    qos: int
    topic: str
    payload: bytes


class Bridge:
    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.stopping = threading.Event()
        self.generation = 0
        self.counts = {"forwarded": 0, "skipped": 0, "refused": 0, "retried": 0}
        url = urlsplit(settings.mqtt_url)
        if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
            raise ValueError(
                f"FRIGATE_BRIDGE_MQTT_URL must look like mqtt://host:1883, not {settings.mqtt_url}"
            )
        self.host, self.port = url.hostname, url.port or (8883 if url.scheme == "mqtts" else 1883)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if url.username:
            self.client.username_pw_set(unquote(url.username), unquote(url.password or ""))
        if url.scheme == "mqtts":
            self.client.tls_set()
        self.client.reconnect_delay_set(min_delay=1, max_delay=int(settings.max_backoff_seconds))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.http = httpx.Client(
            timeout=settings.request_timeout_seconds,
            headers={
                "X-ALPR-Ingest-Key": settings.ingest_key.get_secret_value(),
                "Content-Type": "application/json",
            },
        )

    # --- MQTT callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("the broker refused the connection: %s", reason)
            return
        client.subscribe([(t, 1) for t in self.settings.topic_list()])
        log.info("connected to %s:%s as %s", self.host, self.port, self.settings.client_id)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _m: int, reasons: Any, _p: Any) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("the broker refused a subscription: %s", refused)
        else:
            log.info("subscribed to %d topics at QoS 1", len(reasons))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        # Messages received on the old connection are sent again on the new one (same session):
        # they must not be acknowledged with the old connection's packet ids.
        self.generation += 1
        if not self.stopping.is_set():
            log.warning("lost the broker (%s); reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put(Message(self.generation, msg.mid, msg.qos, msg.topic, bytes(msg.payload)))

    # --- the worker ---------------------------------------------------------------------------

    def _ack(self, m: Message) -> None:
        if m.qos > 0 and m.generation == self.generation:
            self.client.ack(m.mid, m.qos)

    def _deliver(self, m: Message) -> bool:
        """Post until ingest answers for good; False when the bridge is stopping first."""
        backoff = 0.5
        while not self.stopping.is_set():
            if m.generation != self.generation:
                return False  # the broker sends it again on the new connection
            wait = backoff
            try:
                r = self.http.post(self.settings.target_url, content=m.payload)
            except httpx.HTTPError as exc:
                log.warning("ingest unreachable (%s); retrying in %.1fs", type(exc).__name__, wait)
            else:
                if r.is_success:
                    self.counts["forwarded"] += 1
                    self._note_rejections(m, r)
                    return True
                if r.status_code in PERMANENT:
                    # The body names the problem; it is the vendor's message, so log its kind only.
                    title = _problem_title(r)
                    log.warning(
                        "ingest refused a message on %s: %s %s", m.topic, r.status_code, title
                    )
                    self.counts["refused"] += 1
                    return True
                if r.status_code in (401, 403):
                    log.error(
                        "ingest refused the bridge's key (%s %s): check FRIGATE_BRIDGE_INGEST_KEY "
                        "and that its camera client holds the Frigate cameras",
                        r.status_code,
                        _problem_title(r),
                    )
                else:
                    wait = max(wait, _retry_after(r))
                    log.warning("ingest answered %s; retrying in %.1fs", r.status_code, wait)
            self.counts["retried"] += 1
            self.stopping.wait(wait)
            backoff = min(backoff * 2, self.settings.max_backoff_seconds)
        return False

    def _note_rejections(self, m: Message, r: httpx.Response) -> None:
        """Ingest stores what it can and names what it refused (an unregistered Frigate camera,
        a plate that is not one): refused for good, so logged, never retried."""
        try:
            outcome = r.json()
        except ValueError:
            return
        for rejection in outcome.get("rejections", []) if isinstance(outcome, dict) else []:
            self.counts["refused"] += 1
            field = rejection.get("field")
            # A reason about the camera names the camera; others may quote the plate (DEBUG only).
            reason = rejection.get("reason") if field == "camera" else "see DEBUG"
            log.warning("ingest refused a read on %s: %s: %s", m.topic, field, reason)
            log.debug("refused read: %s", rejection)

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                m = self.inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            reason = wanted(m.payload)
            if reason is not None:
                self.counts["skipped"] += 1
                log.debug("skipped a message on %s: %s", m.topic, reason)
                self._ack(m)
            elif self._deliver(m):
                self._ack(m)

    def run(self) -> None:
        log.info(
            "Frigate bridge: %s -> %s",
            ", ".join(self.settings.topic_list()),
            self.settings.target_url,
        )
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        worker = threading.Thread(target=self._work, name="frigate-bridge", daemon=True)
        worker.start()
        last_report = time.monotonic()
        try:
            while not self.stopping.wait(1.0):
                if self.settings.heartbeat_file and worker.is_alive():
                    Path(self.settings.heartbeat_file).touch()
                if time.monotonic() - last_report >= 60:
                    last_report = time.monotonic()
                    log.info("frigate bridge: %s", self.counts)
        finally:
            self.stopping.set()
            worker.join(timeout=self.settings.request_timeout_seconds + 1)
            self.client.disconnect()
            self.client.loop_stop()
            self.http.close()
            log.info("frigate bridge stopped: %s", self.counts)


def _retry_after(r: httpx.Response) -> float:
    try:
        return min(float(r.headers.get("retry-after", "1")), 300.0)
    except ValueError:
        return 1.0


def _problem_title(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return ""
    return str(body.get("title") or body.get("type") or "") if isinstance(body, dict) else ""


def heartbeat_fresh(path: str | None, max_age: float = 60.0) -> bool:
    """The liveness probe: the bridge's loop touched its heartbeat file within `max_age`."""
    try:
        return path is not None and time.time() - os.path.getmtime(path) < max_age
    except OSError:
        return False


def main() -> int:
    configure_logging("ingest-frigate-bridge")
    try:
        bridge = Bridge(BridgeSettings())  # ingest_key from the environment
    except ValueError as exc:
        log.error("cannot start: %s (set FRIGATE_BRIDGE_INGEST_KEY and FRIGATE_BRIDGE_*)", exc)
        return 2

    def stop(_signum: int, _frame: object) -> None:
        bridge.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bridge.run()
    return 0


if __name__ == "__main__":  # the probe: python -m alpr_ingest.frigate_bridge --check-heartbeat
    import sys

    if sys.argv[1:] != ["--check-heartbeat"]:
        sys.exit("usage: python -m alpr_ingest.frigate_bridge --check-heartbeat")
    sys.exit(0 if heartbeat_fresh(os.environ.get("FRIGATE_BRIDGE_HEARTBEAT_FILE")) else 1)
