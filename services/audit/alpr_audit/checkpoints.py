"""Signed checkpoints of the chain head, kept outside the database (344.4(d)).

A checkpoint is one JSON file in the checkpoint directory, named
`checkpoint-<seq, 16 digits>-<UTC time>.json`::

    {"checkpoint": {"format": "alpr-audit-checkpoint/1", "seq": 42,
                    "hash": "<hash of log entry 42>", "at": "2026-11-30T06:40:00.000000Z"},
     "signature": {"algorithm": "Ed25519", "key_id": "<16 hex>", "value": "<base64>"}}

The signature is Ed25519 over the canonical JSON (chain.py) of the `checkpoint` object, i.e.
over the UTF-8 bytes of `json.dumps(checkpoint, sort_keys=True, separators=(",", ":"))`.
`key_id` is the first 16 hex digits of SHA-256 over the raw 32-byte public key. A checkpoint is
written only after the entries since the previous checkpoint have been verified, so each one
attests that the chain was whole up to its seq when it was signed.

To check one offline, with the public key from `python -m alpr_audit public-key` (or
`GET /v1/checkpoint-keys`; take it from there rather than from the checkpoint directory, whose
copy is a convenience an intruder could replace)::

    import base64, json
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    doc = json.load(open(path))
    message = json.dumps(doc["checkpoint"], sort_keys=True, separators=(",", ":")).encode()
    load_pem_public_key(open("audit-checkpoint.pub.pem", "rb").read()).verify(
        base64.b64decode(doc["signature"]["value"]), message)   # raises if forged

then check that log entry `seq` has that `hash`.

`CheckpointStore` reads and writes these files; `list_checkpoints` and `checkpoint_keys` give
them and the verifying keys to auditors. Signing happens in verification.py, after the check.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from alpr_audit.chain import canonical_json, format_time
from alpr_audit.errors import CheckpointKeyUnavailable
from alpr_audit.schemas import CheckpointKeyRead, CheckpointRead
from alpr_audit.settings import AuditSettings

FORMAT = "alpr-audit-checkpoint/1"
ALGORITHM = "Ed25519"
FILE_GLOB = "checkpoint-*.json"
_HASH = re.compile(r"^[0-9a-f]{64}$")

CheckpointProblemKind = Literal["unreadable", "unknown_key", "bad_signature"]


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def write_new_key(path: Path) -> Ed25519PrivateKey:
    """Create a private key file readable by its owner only; refuse to replace one."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str

    def signed_part(self) -> dict[str, Any]:
        return {"format": FORMAT, "seq": self.seq, "hash": self.hash, "at": self.at}


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint file as found: `checkpoint` is None when it could not be read at all;
    `problem` is None when its signature holds."""

    file: str
    checkpoint: Checkpoint | None
    key_id: str | None
    problem: CheckpointProblemKind | None
    detail: str = ""

    @property
    def valid(self) -> bool:
        return self.checkpoint is not None and self.problem is None


class CheckpointStore:
    """Signs, writes, lists and checks checkpoint files; holds the signing key once loaded."""

    def __init__(self, settings: AuditSettings) -> None:
        self.directory = settings.checkpoint_dir
        self.key_file = settings.checkpoint_key_file
        self.trusted_files = list(settings.checkpoint_trusted_public_key_files)
        self.generate_missing = settings.generate_missing_key
        self._key: Ed25519PrivateKey | None = None

    def signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = self._load_key()
        return self._key

    def _load_key(self) -> Ed25519PrivateKey:
        if not self.key_file.exists():
            if not self.generate_missing:
                raise CheckpointKeyUnavailable(
                    f"checkpoint key {self.key_file} not found: mount the Ed25519 key from the "
                    "secret store (create one with `python -m alpr_audit keygen`)"
                )
            with contextlib.suppress(FileExistsError):
                return write_new_key(self.key_file)
        try:
            key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise CheckpointKeyUnavailable(
                f"checkpoint key {self.key_file} unreadable: {type(exc).__name__}"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointKeyUnavailable(
                f"checkpoint key {self.key_file} is not an Ed25519 private key"
            )
        return key

    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key().public_key()

    def trusted_keys(self) -> dict[str, tuple[Ed25519PublicKey, bool]]:
        """key id -> (public key, is current): the signing key and the retired ones."""
        current = self.public_key()
        keys = {key_id(current): (current, True)}
        for path in self.trusted_files:
            try:
                loaded = serialization.load_pem_public_key(path.read_bytes())
            except (OSError, ValueError) as exc:
                raise CheckpointKeyUnavailable(
                    f"trusted checkpoint key {path} unreadable: {type(exc).__name__}"
                ) from None
            if not isinstance(loaded, Ed25519PublicKey):
                raise CheckpointKeyUnavailable(f"trusted checkpoint key {path} is not Ed25519")
            keys.setdefault(key_id(loaded), (loaded, False))
        return keys

    # ------------------------------------------------------------------------- writing

    def write(self, *, seq: int, hash: str, at: datetime) -> LoadedCheckpoint:
        key = self.signing_key()
        checkpoint = Checkpoint(seq=seq, hash=hash, at=format_time(at))
        message = canonical_json(checkpoint.signed_part()).encode("utf-8")
        kid = key_id(key.public_key())
        document = {
            "checkpoint": checkpoint.signed_part(),
            "signature": {
                "algorithm": ALGORITHM,
                "key_id": kid,
                "value": base64.b64encode(key.sign(message)).decode("ascii"),
            },
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = checkpoint.at.replace("-", "").replace(":", "").replace(".", "")
        name = f"checkpoint-{seq:016d}-{stamp}.json"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.directory / name)
        self._export_public_key(key.public_key(), kid)
        return LoadedCheckpoint(name, checkpoint, kid, None)

    def _export_public_key(self, public_key: Ed25519PublicKey, kid: str) -> None:
        path = self.directory / f"checkpoint-key-{kid}.pub.pem"
        if not path.exists():
            path.write_text(public_pem(public_key))

    # ------------------------------------------------------------------------- reading

    def files(self) -> list[Path]:
        """Checkpoint files, oldest first (the name sorts by seq, then time)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(FILE_GLOB))

    def latest(self, count: int) -> list[LoadedCheckpoint]:
        """The newest `count` checkpoints, newest first, each with its signature checked."""
        keys = self.trusted_keys()
        return [self.load(path, keys) for path in reversed(self.files()[-count:])]

    def latest_valid(self) -> LoadedCheckpoint | None:
        keys = self.trusted_keys()
        for path in reversed(self.files()):
            loaded = self.load(path, keys)
            if loaded.valid:
                return loaded
        return None

    @staticmethod
    def load(path: Path, keys: dict[str, tuple[Ed25519PublicKey, bool]]) -> LoadedCheckpoint:
        try:
            document = json.loads(path.read_text())
            body = document["checkpoint"]
            signature = document["signature"]
            checkpoint = Checkpoint(seq=body["seq"], hash=body["hash"], at=body["at"])
            kid = signature["key_id"]
            value = base64.b64decode(signature["value"], validate=True)
            well_formed = (
                body.get("format") == FORMAT
                and set(body) == {"format", "seq", "hash", "at"}
                and type(checkpoint.seq) is int
                and checkpoint.seq >= 0
                and isinstance(checkpoint.hash, str)
                and _HASH.match(checkpoint.hash) is not None
                and isinstance(checkpoint.at, str)
                and signature.get("algorithm") == ALGORITHM
                and isinstance(kid, str)
            )
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error):
            well_formed = False
        if not well_formed:
            return LoadedCheckpoint(
                path.name,
                None,
                None,
                "unreadable",
                f"{path.name} is not a well-formed checkpoint file",
            )
        if kid not in keys:
            return LoadedCheckpoint(
                path.name,
                checkpoint,
                kid,
                "unknown_key",
                f"{path.name} is signed by unknown key {kid}",
            )
        message = canonical_json(body).encode("utf-8")
        try:
            keys[kid][0].verify(value, message)
        except InvalidSignature:
            return LoadedCheckpoint(
                path.name,
                checkpoint,
                kid,
                "bad_signature",
                f"{path.name}: signature does not match its content",
            )
        return LoadedCheckpoint(path.name, checkpoint, kid, None)


def checkpoint_read(loaded: LoadedCheckpoint) -> CheckpointRead:
    cp = loaded.checkpoint
    return CheckpointRead(
        file=loaded.file,
        seq=cp.seq if cp else None,
        hash=cp.hash if cp else None,
        at=cp.at if cp else None,
        key_id=loaded.key_id,
        signature_valid=loaded.valid,
    )


def list_checkpoints(*, store: CheckpointStore, limit: int) -> list[CheckpointRead]:
    return [checkpoint_read(c) for c in store.latest(limit)]


def checkpoint_keys(*, store: CheckpointStore) -> list[CheckpointKeyRead]:
    return [
        CheckpointKeyRead(
            key_id=kid, algorithm=ALGORITHM, current=current, public_key_pem=public_pem(key)
        )
        for kid, (key, current) in store.trusted_keys().items()
    ]
