"""Sharing's own commands: `expire` (approvals not fulfilled in time lapse; run daily)."""

from __future__ import annotations

import argparse
import asyncio
import json

from alpr_common.cli import Command, Registrar
from alpr_common.db import Database
from alpr_sharing import requests
from alpr_sharing.settings import SharingSettings


async def _expire() -> list[str]:
    settings = SharingSettings()
    db = Database.from_url(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            expired = await requests.expire_lapsed(session, approval_days=settings.approval_days)
            await session.commit()
        return expired
    finally:
        await db.dispose()


def _run_expire(_: argparse.Namespace) -> int:
    print(json.dumps({"expired": asyncio.run(_expire())}), flush=True)
    return 0


COMMANDS: dict[str, tuple[str, Registrar | None, Command]] = {
    "expire": (
        "expire approvals not fulfilled within SHARING_APPROVAL_DAYS (run daily)",
        None,
        _run_expire,
    ),
}
