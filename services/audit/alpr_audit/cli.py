"""Service commands of `python -m alpr_audit`: verify, checkpoint, public-key, keygen."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from alpr_audit import verification
from alpr_audit.checkpoints import (
    CheckpointStore,
    checkpoint_keys,
    key_id,
    public_pem,
    write_new_key,
)
from alpr_audit.errors import ChainBroken, CheckpointKeyUnavailable
from alpr_audit.settings import AuditSettings
from alpr_common.cli import Command, Registrar
from alpr_common.db import Database


def _verify_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")


async def _verify(settings: AuditSettings, as_json: bool) -> int:
    db = Database.from_url(settings.database_url)
    try:
        async with db.read_sessionmaker() as session:
            result = await verification.verify_log(
                session,
                store=CheckpointStore(settings),
                checkpoint_count=settings.checkpoint_verify_count,
                page_size=settings.verify_page_size,
            )
            await session.rollback()
    finally:
        await db.dispose()
    if as_json:
        print(result.model_dump_json(indent=1))
        return 0 if result.ok else 1
    print(
        f"checked {result.entries_checked} entries, last seq {result.last_seq}, "
        f"{result.checkpoints_checked} checkpoints"
    )
    if result.first_broken is not None:
        b = result.first_broken
        print(f"BROKEN at seq {b.seq} (event {b.event_id}): {b.problem}: {b.detail}")
        if result.broken_entries > 1:
            print(f"{result.broken_entries} broken entries in all")
    if result.head_problem:
        print(f"HEAD: {result.head_problem}")
    for p in result.checkpoint_problems:
        print(f"CHECKPOINT {p.file}: {p.problem}: {p.detail}")
    print("OK: the chain verifies" if result.ok else "FAILED: the log does not verify")
    return 0 if result.ok else 1


def verify(args: argparse.Namespace) -> int:
    return asyncio.run(_verify(AuditSettings(), args.json))


def _checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true", help="sign even if nothing was appended since the last"
    )


async def _checkpoint(settings: AuditSettings, force: bool) -> int:
    db = Database.from_url(settings.database_url)
    try:
        async with db.read_sessionmaker() as session:
            written = await verification.write_checkpoint(
                session,
                store=CheckpointStore(settings),
                page_size=settings.verify_page_size,
                force=force,
            )
            await session.rollback()
    except (ChainBroken, CheckpointKeyUnavailable) as exc:
        print(f"checkpoint refused: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    if written is None:
        print("no new entries since the last checkpoint; nothing signed")
    else:
        print(
            f"signed seq {written.seq} hash {written.hash} -> "
            f"{settings.checkpoint_dir / written.file}"
        )
    return 0


def checkpoint(args: argparse.Namespace) -> int:
    return asyncio.run(_checkpoint(AuditSettings(), args.force))


def _public_key_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print key ids and PEMs as JSON")


def public_key(args: argparse.Namespace) -> int:
    try:
        keys = checkpoint_keys(store=CheckpointStore(AuditSettings()))
    except CheckpointKeyUnavailable as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([k.model_dump() for k in keys], indent=1))
    else:
        current = next(k for k in keys if k.current)
        print(f"# checkpoint key {current.key_id} (Ed25519)")
        print(current.public_key_pem, end="")
    return 0


def keygen(_: argparse.Namespace) -> int:
    settings = AuditSettings()
    path = settings.checkpoint_key_file
    try:
        key = write_new_key(path)
    except FileExistsError:
        print(
            f"{path} exists; not replaced (retire it by listing its public key in "
            "AUDIT_CHECKPOINT_TRUSTED_PUBLIC_KEY_FILES, then move it away)",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {path} (key {key_id(key.public_key())}); public key:")
    print(public_pem(key.public_key()), end="")
    return 0


COMMANDS: dict[str, tuple[str, Registrar | None, Command]] = {
    "verify": (
        "recompute the hash chain; exit 1 and name the first broken entry",
        _verify_args,
        verify,
    ),
    "checkpoint": (
        "verify the new entries and sign a checkpoint of the chain head",
        _checkpoint_args,
        checkpoint,
    ),
    "public-key": (
        "print the public key that verifies checkpoint signatures",
        _public_key_args,
        public_key,
    ),
    "keygen": ("create the Ed25519 checkpoint signing key (refuses to overwrite)", None, keygen),
}
