"""Run the whole suite as separate processes on one machine: `make run` (SQLite, fixed ports) and
the end-to-end tests (temporary directories, free ports, SQLite or PostgreSQL) use this one module.

    python -m alpr_common.suite run      # migrate, start all six services, stop them on Ctrl-C
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = ("access", "audit", "ingest", "hotlist", "sharing", "gateway")
INTERNAL = ("access", "audit", "ingest", "hotlist", "sharing")
DEV_PORTS = {
    "gateway": 8000,
    "access": 8001,
    "ingest": 8002,
    "hotlist": 8003,
    "sharing": 8004,
    "audit": 8005,
}


def postgres_databases(admin_url: str, prefix: str, *, drop: bool = False) -> dict[str, str]:
    """Create (or with drop=True, drop) one PostgreSQL database per service, `<prefix>_<svc>`,
    and return their async URLs. `admin_url` must allow CREATE DATABASE."""
    import asyncio

    import asyncpg

    names = {svc: f"{prefix}_{svc}" for svc in SERVICES}

    async def run() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            for name in names.values():
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if not drop:
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return {svc: f"{base}/{name}" for svc, name in names.items()}


_ISSUED_PORTS: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A loopback port nothing listens on, for a service about to start.

    Taken below the kernel's ephemeral range: outgoing connections (database pools, the services'
    calls to each other) take their source ports from that range, so a port picked there can be
    taken before the service binds it. Never the same port twice in one process."""
    low, high = _ephemeral_range()
    start, stop = (10000, low) if low > 12000 else (high + 1, 65536)
    rng = random.SystemRandom()
    for _ in range(500):
        port = rng.randrange(start, stop)
        if port in _ISSUED_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ISSUED_PORTS.add(port)
        return port
    raise RuntimeError(f"no free loopback port found between {start} and {stop - 1}")


def _argv(service: str, *args: str) -> list[str]:
    """A service's CLI command (`python -m alpr_<service> ...`) on this interpreter."""
    return [sys.executable, "-m", f"alpr_{service}", *args]


def _failure(service: str, args: tuple[str, ...], stderr: str) -> str:
    return f"`python -m alpr_{service} {' '.join(args)}` failed:\n{stderr[-3000:]}"


@dataclass
class Suite:
    """Six processes sharing a state directory; `database_urls` overrides SQLite per service."""

    state_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEV_PORTS))
    database_urls: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    environment: str = "dev"
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_dir: Path | None = None

    def url(self, service: str) -> str:
        """The service's address, or a replica's (`<service>@<port>`, see start_replicas)."""
        _, at, port = service.partition("@")
        return f"http://127.0.0.1:{port if at else self.ports[service]}"

    def secrets(self) -> dict[str, str]:
        """Service client secrets, made once per state directory and kept there (mode 600)."""
        path = self.state_dir / "dev-secrets.json"
        if path.exists():
            return dict(json.loads(path.read_text()))
        values = {svc: secrets.token_urlsafe(24) for svc in SERVICES if svc != "access"}
        values["access"] = secrets.token_urlsafe(24)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
        path.chmod(0o600)
        return values

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Each service's CLI makes its own (under `--workers N`); one directory shared by the six
        # would sum their series.
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        client_secrets = self.secrets()
        env["ACCESS_SERVICE_CLIENTS"] = ",".join(f"{k}:{v}" for k, v in client_secrets.items())
        env["ACCESS_SIGNING_KEY_DIR"] = str(self.state_dir / "keys" / "access")
        env["AUDIT_CHECKPOINT_DIR"] = str(self.state_dir / "audit-checkpoints")
        env["AUDIT_CHECKPOINT_KEY_FILE"] = str(self.state_dir / "keys" / "audit-checkpoint.pem")
        env["INGEST_IMAGE_DIR"] = str(self.state_dir / "images")
        for svc in SERVICES:
            p = svc.upper() + "_"
            env[p + "ENVIRONMENT"] = self.environment
            env[p + "HOST"] = "127.0.0.1"
            env[p + "PORT"] = str(self.ports[svc])
            env[p + "DATABASE_URL"] = self.database_urls.get(
                svc, f"sqlite+aiosqlite:///{self.state_dir / f'{svc}.db'}"
            )
            env[p + "CLIENT_ID"] = svc
            env[p + "CLIENT_SECRET"] = client_secrets[svc]
            for other in INTERNAL:
                env[f"{p}{other.upper()}_URL"] = self.url(other)
        env.update(self.extra_env)
        return env

    def command(self, service: str, *args: str, input_text: str | None = None) -> str:
        """Run a service's CLI command (create-cso, verify, purge…) against this suite's state."""
        result = subprocess.run(  # noqa: S603 (our own interpreter and module, no shell)
            _argv(service, *args),
            env=self.env(),
            capture_output=True,
            text=True,
            input=input_text,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(_failure(service, args, result.stderr))
        return result.stdout

    def migrate(self, services: tuple[str, ...] = SERVICES) -> None:
        """`python -m alpr_<svc> migrate` for each of `services`, all at once: each has its own
        database, and most of a migration's time is its interpreter starting (the imports),
        which six in a row spent one after the other (43 s of a suite's start on a slow hour).
        Every migration runs to its end; a failure is raised with each failed one's errors."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        print(f"  migrating {', '.join(services)}", flush=True)
        running = {
            svc: subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
                _argv(svc, "migrate"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for svc in services
        }
        failed = []
        for svc, proc in running.items():
            _, errors = proc.communicate()
            if proc.returncode != 0:
                failed.append(_failure(svc, ("migrate",), errors))
            else:
                print(f"  migrated {svc}", flush=True)
        if failed:
            raise RuntimeError("\n".join(failed))

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        logs = self.log_dir or self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = self.env()
        for svc in services:
            out = (logs / f"{svc}.log").open("ab")
            self.procs[svc] = subprocess.Popen(  # noqa: S603 (our own modules, no shell)
                _argv(svc, "serve"),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_replicas(
        self, service: str, ports: list[int], env: list[dict[str, str]] | None = None
    ) -> list[str]:
        """More processes of `service`, one per port, as replicas behind a balancer that listens
        on `ports[service]` (the address the others call); `env`: extra variables per replica.
        Named `<service>@<port>` in `procs` and stopped with the rest; returns their URLs."""
        logs = self.log_dir or self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        urls = []
        for i, port in enumerate(ports):
            extra = env[i] if env else {}
            environ = self.env() | {f"{service.upper()}_PORT": str(port)} | extra
            name = f"{service}@{port}"
            out = (logs / f"{name}.log").open("ab")
            self.procs[name] = subprocess.Popen(  # noqa: S603 (our own modules, no shell)
                _argv(service, "serve"),
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            urls.append(self.url(name))
        return urls

    def wait_ready(self, services: tuple[str, ...] = SERVICES, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(services)
        with httpx.Client(timeout=2.0) as client:
            while waiting:
                svc = waiting[0]
                proc = self.procs.get(svc)
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(
                        f"{svc} exited with {proc.returncode}; see its log in "
                        f"{(self.log_dir or self.state_dir / 'logs') / svc}.log"
                    )
                try:
                    if client.get(f"{self.url(svc)}/readyz").status_code == 200:
                        waiting.pop(0)
                        continue
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{svc} not ready after {timeout:.0f}s")
                time.sleep(0.1)

    def stop(self, services: tuple[str, ...] | None = None) -> None:
        names = list(services or self.procs)
        for svc in names:
            proc = self.procs.get(svc)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for svc in names:
            proc = self.procs.pop(svc, None)
            if proc is None:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(proc)

    def kill(self, service: str) -> None:
        """SIGKILL, as a crash would: no graceful shutdown (worker processes included)."""
        _kill_group(self.procs.pop(service))


def cpu_seconds(suite: Suite) -> dict[str, float]:
    """CPU seconds used so far, per service of `suite` (its whole process group, workers
    included), by PostgreSQL, by this process (the load generator of a benchmark) and by the
    rest of the machine (Linux /proc), that last per process (`other <pid> <start>`:
    `cpu_spent` adds them up). Read before and after a run, it says where the time went."""
    tick = os.sysconf("SC_CLK_TCK")
    groups = {proc.pid: svc for svc, proc in suite.procs.items()}
    used: dict[str, float] = defaultdict(float)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(entry) == os.getpid():
            used["load generator"] += seconds
        elif int(fields[2]) in groups:
            used[groups[int(fields[2])]] += seconds
        elif b"postgres" in cmd:
            # With the time of its exited children (the postmaster's): a backend whose
            # connection a pool closed during the run would otherwise take its CPU with it.
            used["postgresql"] += seconds + (int(fields[13]) + int(fields[14])) / tick
        else:
            # Keyed by pid and start time: a pid reused between two readings is another process.
            used[f"other {entry} {fields[19]}"] += seconds
    return used


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What each kind of process used between two `cpu_seconds` readings. The rest of the
    machine counts the processes alive at the second: one that exited in between takes its
    time with it, which summed as a whole would have made "other" negative."""
    spent: dict[str, float] = defaultdict(float)
    for key, seconds in after.items():
        spent["other" if key.startswith("other ") else key] += seconds - before.get(key, 0.0)
    return dict(spent)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # Each service is its own session (start_new_session): its group holds its workers too.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    # `kill`, an init system, a container runtime: the same orderly stop as Ctrl-C (the default
    # action would end this process alone and leave the services running in their sessions).
    raise KeyboardInterrupt


def _start_frigate_bridge(suite: Suite) -> str:
    """Frigate publishes on MQTT only: with a camera client's ingest key in
    FRIGATE_BRIDGE_INGEST_KEY, `make run` runs the bridge too (alpr_ingest.frigate_bridge)."""
    if not os.environ.get("FRIGATE_BRIDGE_INGEST_KEY"):
        return (
            "\nFrigate over MQTT: not started. Register the Frigate cameras, make a camera client "
            "and its ingest key,\nthen run again with FRIGATE_BRIDGE_INGEST_KEY=<key> "
            "(broker: FRIGATE_BRIDGE_MQTT_URL, default mqtt://127.0.0.1:1883)."
        )
    env = suite.env()
    target = f"{suite.url('gateway')}/v1/ingest/vendor-reads/frigate"
    env.setdefault("FRIGATE_BRIDGE_TARGET_URL", target)
    logs = suite.log_dir or suite.state_dir / "logs"
    suite.procs["frigate-bridge"] = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
        _argv("ingest", "frigate-bridge"),
        env=env,
        stdout=(logs / "frigate-bridge.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return f"\nFrigate over MQTT: the bridge posts to {env['FRIGATE_BRIDGE_TARGET_URL']}"


def _run_command(args: argparse.Namespace) -> int:
    suite = Suite(Path(args.state_dir).resolve())
    print("ALPR suite: migrating SQLite databases in", suite.state_dir, flush=True)
    suite.migrate()
    print("starting services…", flush=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        suite.start()
        try:
            suite.wait_ready()
        except (RuntimeError, TimeoutError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print("\nThe suite is up (SQLite, one process per service):")
        for svc in SERVICES:
            print(f"  {svc:8} {suite.url(svc)}   docs: {suite.url(svc)}/docs")
        print(_start_frigate_bridge(suite), flush=True)
        print(
            "\nThe gateway is the public entry: http://127.0.0.1:8000/v1/<service>/...\n"
            "Create the first Chief Security Officer (prints the TOTP secret to enrol in an app):\n"
            "  echo 'a-long-passphrase-here' | "
            "make cso USERNAME=cso FULL_NAME='Jane Doe' BADGE=1001\n"
            f"Logs: {suite.state_dir / 'logs'}.  Stop with Ctrl-C.",
            flush=True,
        )
        while all(p.poll() is None for p in suite.procs.values()):
            time.sleep(0.5)
        dead = [s for s, p in suite.procs.items() if p.poll() is not None]
        print(
            f"error: {', '.join(dead)} stopped; see logs in {suite.state_dir / 'logs'}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        # A second Ctrl-C (or the one uv forwards), or a SIGTERM, must not interrupt the
        # orderly stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        suite.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m alpr_common.suite")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate and run every service until Ctrl-C")
    run.add_argument("--state-dir", default="var")
    args = parser.parse_args()
    return _run_command(args)


if __name__ == "__main__":
    sys.exit(main())
