"""`python -m alpr_<service> <command>`: serve, migrate, makemigration, plus service commands."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from alpr_common import metrics
from alpr_common.app import ServiceSpec

Command = Callable[[argparse.Namespace], int]
Registrar = Callable[[argparse.ArgumentParser], None]


def _serve(spec: ServiceSpec, args: argparse.Namespace) -> int:
    import uvicorn

    settings = spec.settings_cls()
    if args.migrate:
        _migrate(spec, args)
    workers = args.workers or settings.workers
    host, port = args.host or settings.host, args.port or settings.port
    if workers > 1:
        if not settings.database_url.startswith("postgresql"):
            print(
                f"[{spec.name}] {workers} worker processes need PostgreSQL (their outbox relays "
                "share the work with SKIP LOCKED); with SQLite run one worker",
                file=sys.stderr,
            )
            return 2
        return _supervise(spec, workers, host, port)
    if not args.reuse_port:
        metrics.clean_stale_files()
    app = spec.app_factory(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # The client's address is alpr_common.forwarded's to find, where one is wanted (access
        # records it at login; the gateway in its transaction log): uvicorn's rewrite of every
        # request was 3 % of ingest's CPU on single-read posts.
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    tune_gc()
    if args.reuse_port:
        server.run(sockets=[_reuse_port_socket(host, port)])
    else:
        server.run()
    return 0


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other workers bind too: the kernel spreads new connections over
    them (a shared accept queue would let one worker take every keep-alive connection)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _supervise(spec: ServiceSpec, workers: int, host: str, port: int) -> int:
    """Run `workers` single-process servers on one port (SO_REUSEPORT); stop them all on
    SIGTERM / SIGINT, and stop the rest if one dies (the orchestrator restarts the whole)."""
    command = [sys.executable, "-m", f"alpr_{spec.name}", "serve", "--reuse-port"]
    command += ["--workers", "1", "--host", host, "--port", str(port)]
    # The workers' metric files, summed by whichever worker answers /metrics.
    metrics_dir = metrics.prepare_multiprocess_dir(spec.name)
    children = [subprocess.Popen(command, env=worker_env(spec, i)) for i in range(workers)]  # noqa: S603
    print(f"[{spec.name}] {workers} workers on {host}:{port}", flush=True)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while any(child.poll() is None for child in children):
        for child in children:
            if child.poll() is not None and not stopping:
                code = child.returncode or 1
                print(f"[{spec.name}] a worker exited ({child.returncode}); stopping", flush=True)
                stop(signal.SIGTERM, None)
        time.sleep(0.2)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return code


def worker_env(spec: ServiceSpec, index: int) -> dict[str, str]:
    """The environment of worker `index` of `serve --workers N`: each knows its place
    (`worker_index`), and the first `relay_workers` of them deliver the outbox."""
    prefix = spec.settings_cls.model_config.get("env_prefix") or ""
    return {**os.environ, f"{prefix}WORKER_INDEX": str(index)}


def tune_gc() -> None:
    """Once per server process, before serving: move what is loaded (modules, schemas, the app)
    out of the collector's sight and collect the young generation less often. A request that
    handles a batch makes tens of thousands of short-lived objects; with the defaults the
    collector runs dozens of times per batch and its full passes walk the whole long-lived heap
    (measured 10-15 % of ingest's per-read cost; bench/ingest/micro_ingest.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _migrate(spec: ServiceSpec, _: argparse.Namespace) -> int:
    from alpr_common.migrations import upgrade

    settings = spec.settings_cls()
    print(f"[{spec.name}] migrating {_redact(settings.database_url)} to head", flush=True)
    asyncio.run(upgrade(spec.migrations_dir, settings.database_url))
    print(f"[{spec.name}] migrations done", flush=True)
    return 0


def _makemigration(spec: ServiceSpec, args: argparse.Namespace) -> int:
    """Autogenerate a revision by diffing the models against a scratch SQLite at head."""
    from alembic import command

    from alpr_common.migrations import alembic_config, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/scratch.db"
        asyncio.run(upgrade(spec.migrations_dir, url))
        cfg = alembic_config(spec.migrations_dir, url)
        command.revision(cfg, message=args.message, autogenerate=True)
    return 0


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main(
    spec: ServiceSpec,
    *,
    commands: dict[str, tuple[str, Registrar | None, Command]] | None = None,
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m alpr_{spec.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--migrate", action="store_true", help="migrate to head before serving")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default: <SERVICE>_WORKERS, else 1)"
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("migrate", help="apply this service's Alembic migrations")
    mk = sub.add_parser("makemigration", help="autogenerate a migration (developers)")
    mk.add_argument("message")
    handlers: dict[str, Command] = {
        "serve": lambda a: _serve(spec, a),
        "migrate": lambda a: _migrate(spec, a),
        "makemigration": lambda a: _makemigration(spec, a),
    }
    for name, (help_text, register, handler) in (commands or {}).items():
        p = sub.add_parser(name, help=help_text)
        if register is not None:
            register(p)
        handlers[name] = handler
    args = parser.parse_args(argv)
    return handlers[args.command](args)


def run(
    spec: ServiceSpec,
    *,
    commands: dict[str, tuple[str, Registrar | None, Command]] | None = None,
    argv: list[str] | None = None,
) -> None:
    sys.exit(main(spec, commands=commands, argv=argv))
