"""Access's own commands: `create-cso` (the admin bootstrap), `rotate-key`, `retire-keys`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys

from alpr_access import users
from alpr_access.security import Passwords, retirable_keys, rotate_key
from alpr_access.settings import AccessSettings
from alpr_common.cli import Command, Registrar
from alpr_common.db import Database
from alpr_common.errors import AppError


def _register_create_cso(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", required=True)
    parser.add_argument("--full-name", required=True)
    parser.add_argument("--badge", required=True)
    parser.add_argument("--unit", default="Auto Theft Interdiction Unit")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else prompt twice)",
    )
    parser.add_argument(
        "--allow-additional",
        action="store_true",
        help="create a CSO even though an active one exists (account recovery)",
    )


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password for the Chief Security Officer: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


async def _create_cso(settings: AccessSettings, args: argparse.Namespace, password: str) -> str:
    db = Database.from_url(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            enrolled = await users.create_first_cso(
                session,
                settings=settings,
                passwords=Passwords.from_settings(settings),
                username=args.username,
                full_name=args.full_name,
                badge=args.badge,
                unit=args.unit,
                password=password,
                allow_additional=args.allow_additional,
            )
            await session.commit()
    finally:
        await db.dispose()
    return enrolled.model_dump_json()


def create_cso(args: argparse.Namespace) -> int:
    """Print {user_id, username, totp_secret, otpauth_uri}; the secret is not shown again."""
    settings = AccessSettings()
    password = _read_password(args)
    try:
        print(asyncio.run(_create_cso(settings, args, password)))
    except AppError as exc:
        print(json.dumps({"error": type(exc).__name__, "detail": exc.detail}), file=sys.stderr)
        return 1
    except ValueError as exc:
        print(json.dumps({"error": "InvalidInput", "detail": str(exc)}), file=sys.stderr)
        return 1
    return 0


def rotate(_: argparse.Namespace) -> int:
    """Add a signing key; running processes start signing with it within a second."""
    settings = AccessSettings()
    kid = rotate_key(settings.signing_key_dir)
    published = sorted(p.stem for p in settings.signing_key_dir.glob("*.pem"))
    print(json.dumps({"kid": kid, "published": published}))
    return 0


def _register_retire(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="list, do not delete")


def retire(args: argparse.Namespace) -> int:
    """Delete keys superseded long enough ago that no unexpired token can carry their kid."""
    settings = AccessSettings()
    paths = retirable_keys(settings.signing_key_dir)
    if not args.dry_run:
        for path in paths:
            path.unlink()
    print(json.dumps({"retired": [p.stem for p in paths], "dry_run": bool(args.dry_run)}))
    return 0


COMMANDS: dict[str, tuple[str, Registrar | None, Command]] = {
    "create-cso": (
        "create the first Chief Security Officer (prints the TOTP seed once)",
        _register_create_cso,
        create_cso,
    ),
    "rotate-key": ("add a new token signing key", None, rotate),
    "retire-keys": ("remove signing keys no live token can use", _register_retire, retire),
}
