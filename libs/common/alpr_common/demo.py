"""`make demo`: the suite as `make run` starts it, with demo people, cameras and a hot list, and a
camera simulator posting vendor-format reads until Ctrl-C, so alerts, searches and counters move
within a minute.

Everything goes through the public gateway, as in docs/getting-started.md. The state lives in its
own directory (`var/demo`, wiped at each start): demo people never reach `make run`'s data.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import string
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp

from alpr_common.suite import DEV_PORTS, SERVICES, Suite, free_port

PASSWORD = "harbor-lantern-violet-2026"  # noqa: S105 (demo people only, printed on purpose)
ROLES = {
    "trainer": "training_coordinator",
    "admin": "admin",
    "manager": "hotlist_manager",
    "rtcc": "rtcc_operator",
    "detective": "investigator",
    "auditor": "risk_management",
}
TOPICS = ["appropriate_use", "safeguards", "misuse_consequences", "driver_not_wanted_person"]
CAMERAS = [  # our id, vendor, the vendor's identity for it
    ("demo-lamar-5th", "platerecognizer", "lamar-5th"),
    ("demo-congress-11th", "openalpr", "agent-demo-1"),
    ("demo-riverside", "verkada", "5f0c1d7e-demo-4f6a-8c1e-7d0b5a3f2e91"),
]
RTCC_PURPOSE = {
    "X-ALPR-Purpose": "alert_response",
    "X-ALPR-Case": "DEMO-0001",
    "X-ALPR-Reason": "watching the demo's hot-list alerts",
}


class Demo:
    def __init__(self, gateway: httpx.Client, suite: Suite) -> None:
        self.gw = gateway
        self.suite = suite
        self.secrets: dict[str, str] = {}
        self.tokens: dict[str, tuple[float, dict[str, str]]] = {}
        self.ingest_key = ""
        self.hot_plates: list[str] = []

    def _ok(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
        return r.json()

    def sign_in(self, username: str) -> dict[str, str]:
        issued, headers = self.tokens.get(username, (0.0, {}))
        if time.monotonic() - issued < 600:
            return headers
        code = pyotp.TOTP(self.secrets[username]).now()
        for _ in range(40):  # a code works once: wait for the next one if this one was used
            r = self.gw.post(
                "/v1/access/token",
                data={
                    "grant_type": "password",
                    "username": username,
                    "password": PASSWORD,
                    "totp": code,
                },
            )
            if r.status_code == 200:
                headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
                self.tokens[username] = (time.monotonic(), headers)
                return headers
            time.sleep(1)
            code = pyotp.TOTP(self.secrets[username]).now()
        raise RuntimeError(f"could not sign in as {username}: {r.text}")

    def people(self) -> None:
        out = self.suite.command(
            "access",
            "create-cso",
            "--username",
            "cso",
            "--full-name",
            "Demo Chief Security Officer",
            "--badge",
            "1000",
            "--password-stdin",
            input_text=PASSWORD + "\n",
        )
        self.secrets["cso"] = json.loads(out)["totp_secret"]
        cso = self.sign_in("cso")
        ids = {}
        for n, (username, role) in enumerate(ROLES.items(), start=1):
            person = self._ok(
                self.gw.post(
                    "/v1/access/users",
                    headers=cso,
                    json={
                        "username": username,
                        "full_name": f"Demo {role.replace('_', ' ').title()}",
                        "badge": f"10{n:02d}",
                    },
                )
            )
            ids[username] = person["user"]["id"]
            self._ok(
                self.gw.post(
                    f"/v1/access/users/{ids[username]}/roles", headers=cso, json={"role": role}
                )
            )
            enrolled = self._ok(
                self.gw.post(
                    "/v1/access/enrolments",
                    json={
                        "username": username,
                        "code": person["enrolment"]["enrolment_code"],
                        "new_password": PASSWORD,
                    },
                )
            )
            self.secrets[username] = enrolled["totp_secret"]
        trainer = self.sign_in("trainer")
        for username, user_id in ids.items():
            if username == "trainer":
                continue
            self._ok(
                self.gw.post(
                    "/v1/access/training-records",
                    headers=trainer,
                    json={
                        "user_id": user_id,
                        "course": "ALPR annual (demo)",
                        "version": "2026.1",
                        "topics": TOPICS,
                        "completed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                    },
                )
            )

    def cameras_and_list(self, hot_count: int) -> None:
        admin = self.sign_in("admin")
        for camera_id, vendor, key in CAMERAS:
            self._ok(
                self.gw.post(
                    "/v1/ingest/cameras",
                    headers=admin,
                    json={
                        "id": camera_id,
                        "name": f"Demo {vendor} camera",
                        "vendor": vendor,
                        "camera_type": "trailer",
                        "location": {
                            "lat": 30.2672 + random.uniform(-0.02, 0.02),
                            "lon": -97.7431 + random.uniform(-0.02, 0.02),
                        },
                        "vendor_keys": [key],
                    },
                )
            )
        cso = self.sign_in("cso")
        client = self._ok(
            self.gw.post(
                "/v1/access/clients",
                headers=cso,
                json={
                    "name": "Demo camera fleet",
                    "kind": "camera",
                    "cameras": [c[0] for c in CAMERAS],
                },
            )
        )
        self.ingest_key = self._ok(
            self.gw.post(
                "/v1/access/ingest-keys",
                headers=cso,
                json={"client_id": client["client"]["id"], "label": "demo simulator"},
            )
        )["key"]
        manager = self.sign_in("manager")
        hotlist = self._ok(
            self.gw.post(
                "/v1/hotlist/hotlists",
                headers=manager,
                json={
                    "name": "Demo stolen vehicles",
                    "source": "ncic",
                    "import_format": "canonical",
                },
            )
        )
        self.hot_plates = [_plate() for _ in range(hot_count)]
        rows = ["plate,state,list_type,list_code,reason,ncic_number,ori,entry_date,source"]
        rows += [
            f"{p},TX,stolen_vehicle,V,Stolen vehicle,V9{n:08d},TX2279900,2026-11-01,NCIC"
            for n, p in enumerate(self.hot_plates)
        ]
        self._ok(
            self.gw.post(
                "/v1/hotlist/hotlist-imports",
                params={"hotlist_id": hotlist["id"]},
                content=("\n".join(rows) + "\n").encode(),
                headers={**manager, "Content-Type": "application/octet-stream"},
            )
        )

    def post_read(self, plate: str) -> bool:
        _, vendor, key = random.choice(CAMERAS)
        now = datetime.now(UTC)
        body: dict[str, Any]
        if vendor == "platerecognizer":
            body = {
                "hook": {"target": "http://demo", "id": 1, "event": "image.done"},
                "data": {
                    "timestamp": now.isoformat(),
                    "camera_id": key,
                    "filename": f"{key}_{now.timestamp():.3f}.jpg",
                    "results": [
                        {"plate": plate.lower(), "score": 0.9, "region": {"code": "us-tx"}}
                    ],
                },
            }
        elif vendor == "openalpr":
            ms = int(now.timestamp() * 1000)
            body = {
                "version": 2,
                "data_type": "alpr_results",
                "epoch_time": ms,
                "agent_uid": key.rsplit("-", 1)[0],
                "camera_id": int(key.rsplit("-", 1)[1]),
                "uuid": f"{key}-{ms}",
                "img_width": 1280,
                "img_height": 720,
                "results": [{"plate": plate, "confidence": 90.0, "region": "tx"}],
            }
        else:
            body = {
                "webhook_type": "lpr",
                "created_at": int(now.timestamp()),
                "webhook_id": f"demo-{now.timestamp()}",
                "data": {
                    "camera_id": key,
                    "created": int(now.timestamp()),
                    # The read's own time in ms, as Verkada sends it: with `created` alone (s),
                    # the same hot plate twice in a second on one camera is one read.
                    "detected": int(now.timestamp() * 1000),
                    "license_plate_number": plate,
                    "confidence": 0.95,
                },
            }
        r = self.gw.post(
            f"/v1/ingest/vendor-reads/{vendor}",
            json=body,
            headers={"X-ALPR-Ingest-Key": self.ingest_key},
        )
        return r.status_code == 200 and bool(r.json().get("stored"))

    def alerts(self) -> int:
        """Alerts raised so far (the alert list pages by cursor and has no total)."""
        count, params = 0, {"limit": "200"}
        for _ in range(50):
            r = self.gw.get(
                "/v1/hotlist/alerts",
                params=params,
                headers={**self.sign_in("rtcc"), **RTCC_PURPOSE},
            )
            if r.status_code != 200:
                return -1
            body = r.json()
            count += len(body.get("items", []))
            if not body.get("next_cursor"):
                break
            params = {"limit": "200", "cursor": body["next_cursor"]}
        return count


def _plate() -> str:
    letters = "".join(random.choices(string.ascii_uppercase, k=3))
    return letters + "".join(random.choices(string.digits, k=4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alpr_common.demo", description=__doc__)
    parser.add_argument("--state-dir", default="var/demo", help="wiped at each start")
    parser.add_argument("--rate", type=float, default=5.0, help="reads per second")
    parser.add_argument("--hit-rate", type=float, default=0.05, help="share of hot-list plates")
    parser.add_argument("--hot-plates", type=int, default=25)
    parser.add_argument("--duration", type=float, default=0, help="seconds; 0: until Ctrl-C")
    parser.add_argument(
        "--ports", choices=["dev", "free"], default="dev", help="dev: the gateway on :8000"
    )
    args = parser.parse_args(argv)
    state = Path(args.state_dir).resolve()
    shutil.rmtree(state, ignore_errors=True)
    ports = dict(DEV_PORTS) if args.ports == "dev" else {s: free_port() for s in SERVICES}
    suite = Suite(state, ports=ports)
    print(f"ALPR demo: a fresh suite in {state} (SQLite)", flush=True)
    suite.migrate()
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    suite.start()
    try:
        suite.wait_ready(timeout=120)
        with httpx.Client(base_url=suite.url("gateway"), timeout=30) as gw:
            demo = Demo(gw, suite)
            print("creating demo people, cameras and a hot list…", flush=True)
            demo.people()
            demo.cameras_and_list(args.hot_plates)
            _print_people(demo, suite)
            return _simulate(demo, args, lambda: stop)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}; logs in {state / 'logs'}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        suite.stop()


def _print_people(demo: Demo, suite: Suite) -> None:
    print(f"\nThe suite is up: {suite.url('gateway')} (API docs: {suite.url('gateway')}/docs)")
    print(f"Demo people (password for all: {PASSWORD}; enrol the secret in an authenticator app):")
    for username in ["cso", *ROLES]:
        secret = demo.secrets[username]
        role = ROLES.get(username, "chief_security_officer")
        print(
            f"  {username:10} {role:24} TOTP secret {secret}  (code now: "
            f"{pyotp.TOTP(secret).now()})"
        )
    print(f"Hot list: {len(demo.hot_plates)} plates, e.g. {', '.join(demo.hot_plates[:3])}")
    print(
        "Search as the detective with the headers X-ALPR-Purpose: criminal_investigation, "
        "X-ALPR-Case, X-ALPR-Reason (docs/getting-started.md).\n",
        flush=True,
    )


def _simulate(demo: Demo, args: argparse.Namespace, stopped: Any) -> int:
    interval = 1.0 / args.rate if args.rate > 0 else 1.0
    started = last = time.monotonic()
    posted = stored = hits = 0
    print(
        f"camera simulator: {args.rate:g} reads/s, {args.hit_rate:.0%} hot; Ctrl-C stops",
        flush=True,
    )
    while not stopped() and (args.duration <= 0 or time.monotonic() - started < args.duration):
        hot = demo.hot_plates and random.random() < args.hit_rate
        plate = random.choice(demo.hot_plates) if hot else _plate()
        stored += demo.post_read(plate)
        posted += 1
        hits += bool(hot)
        if time.monotonic() - last >= 5:
            last = time.monotonic()
            print(
                f"  reads posted {posted}, stored {stored}, hot {hits}, alerts {demo.alerts()}",
                flush=True,
            )
        time.sleep(max(0.0, interval - 0.002))
    time.sleep(1)  # the last hits reach hotlist
    print(
        f"done: reads posted {posted}, stored {stored}, hot {hits}, alerts {demo.alerts()}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
