"""Ingest's own commands: `purge` (344.4(d), run daily by a CronJob), `partitions`,
`frigate-bridge` (Frigate's MQTT messages to ingest, `alpr_ingest.frigate_bridge`) and
`search-index` (the partial-plate index: hourly by a CronJob on PostgreSQL)."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from alpr_common.cli import Command, Registrar
from alpr_common.db import Database
from alpr_ingest import purge
from alpr_ingest.deps import Runtime
from alpr_ingest.repository import reads as reads_repo
from alpr_ingest.settings import IngestSettings


async def _purge() -> dict[str, object]:
    settings = IngestSettings()
    db = Database.from_url(settings.database_url)
    try:
        return await purge.run_purge(db, Runtime.from_settings(settings))
    finally:
        await db.dispose()


async def _partitions() -> list[str]:
    settings = IngestSettings()
    db = Database.from_url(settings.database_url)
    try:
        return await purge.run_maintenance(db, Runtime.from_settings(settings))
    finally:
        await db.dispose()


async def _search_index() -> dict[str, Any]:
    settings = IngestSettings()
    db = Database.from_url(settings.database_url)
    try:
        if db.dialect == "postgresql":
            return await purge.index_search(db, now=datetime.now(UTC))
        async with db.sessionmaker() as session:
            indexed = await reads_repo.rebuild_trigram_index(session)
            await session.commit()
        return {"reads_indexed": indexed}
    finally:
        await db.dispose()


def _run_search_index(_: argparse.Namespace) -> int:
    print(json.dumps(asyncio.run(_search_index())), flush=True)
    return 0


def _run_purge(_: argparse.Namespace) -> int:
    print(json.dumps(asyncio.run(_purge()), indent=1, sort_keys=True), flush=True)
    return 0


def _run_partitions(_: argparse.Namespace) -> int:
    created = asyncio.run(_partitions())
    print(json.dumps({"partitions_created": created}), flush=True)
    return 0


def _run_frigate_bridge(_: argparse.Namespace) -> int:
    from alpr_ingest.frigate_bridge import main  # paho is loaded only by the bridge

    return main()


COMMANDS: dict[str, tuple[str, Registrar | None, Command]] = {
    "purge": (
        "purge reads past the retention window (drops day partitions), keeping held reads",
        None,
        _run_purge,
    ),
    "partitions": (
        "create the reads table's day partitions ahead (PostgreSQL)",
        None,
        _run_partitions,
    ),
    "frigate-bridge": (
        "subscribe to Frigate's MQTT topics and post its plate reads to ingest (FRIGATE_BRIDGE_*)",
        None,
        _run_frigate_bridge,
    ),
    "search-index": (
        "the partial-plate index: PostgreSQL, build it for each closed day that has none (run "
        "hourly); SQLite, rebuild it from the reads (after a VACUUM or a restore)",
        None,
        _run_search_index,
    ),
}
