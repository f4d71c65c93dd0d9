"""`python -m alpr_<service> <command>`: serve, migrate, makemigration, plus service commands."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import sys
import tempfile
from collections.abc import Callable

from alpr_common.app import ServiceSpec

Command = Callable[[argparse.Namespace], int]
Registrar = Callable[[argparse.ArgumentParser], None]


_SPEC_ENV = "ALPR_SERVE_SPEC"


def _serve(spec: ServiceSpec, args: argparse.Namespace) -> int:
    import uvicorn

    settings = spec.settings_cls()
    if args.migrate:
        _migrate(spec, args)
    workers = args.workers or settings.workers
    options: dict[str, object] = {
        "host": args.host or settings.host,
        "port": args.port or settings.port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        "timeout_graceful_shutdown": 5,
    }
    if workers <= 1:
        app = spec.app_factory(settings)
        tune_gc()
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return 0
    if not settings.database_url.startswith("postgresql"):
        print(
            f"[{spec.name}] {workers} worker processes need PostgreSQL (their outbox relays "
            "share the work with SKIP LOCKED); with SQLite run one worker",
            file=sys.stderr,
        )
        return 2
    # Several processes on one listening socket (uvicorn's supervisor restarts a dead one);
    # each builds its own app, connections and relay after it starts.
    os.environ[_SPEC_ENV] = f"{spec.app_factory.__module__}:SPEC"
    uvicorn.run("alpr_common.cli:worker_app", factory=True, workers=workers, **options)  # type: ignore[arg-type]
    return 0


def worker_app() -> object:
    """The app of one worker process (`serve` with several workers)."""
    module, _, name = os.environ[_SPEC_ENV].partition(":")
    spec: ServiceSpec = getattr(importlib.import_module(module), name)
    app = spec.app_factory(spec.settings_cls())
    tune_gc()
    return app


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


def run(spec: ServiceSpec, **kwargs: object) -> None:
    sys.exit(main(spec, **kwargs))  # type: ignore[arg-type]
