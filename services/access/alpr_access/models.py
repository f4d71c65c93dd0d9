"""Access tables: people, their roles, training and credentials; machine clients and their ingest
keys; login attempts and lockouts. Secrets are stored hashed, never in the clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String
from sqlmodel import Field

from alpr_common.db import JSONType, TableModel, UTCDateTime, service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata
OUTBOX = outbox_tables(metadata)


class Base(TableModel, registry=registry):
    """The service's tables, in its own registry and metadata (see `service_registry`)."""


class User(Base, table=True):
    __tablename__ = "user_account"

    id: str = Field(primary_key=True, max_length=32)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=200)
    badge: str = Field(max_length=64)
    unit: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    # argon2id; empty until the person enrols.
    password_hash: str | None = Field(default=None, max_length=512)
    # Base32 TOTP seed; the server needs it in the clear to check codes.
    totp_secret: str | None = Field(default=None, max_length=64)
    # Last accepted TOTP time step: a code is accepted once (RFC 6238 section 5.2).
    totp_last_step: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    enrolled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Tokens issued before this are refused everywhere within seconds: set on password change,
    # TOTP reset, deactivation and role change (the status check compares it with `iat`).
    tokens_valid_after: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RevokedToken(Base, table=True):
    """A token signed out before it expired, kept until it would have expired."""

    __tablename__ = "revoked_token"
    __table_args__ = (Index("ix_revoked_token_subject_expires_at", "subject", "expires_at"),)

    jti: str = Field(primary_key=True, max_length=64)
    subject: str = Field(max_length=200)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime = Field(sa_type=UTCDateTime)


class RoleGrant(Base, table=True):
    __tablename__ = "role_grant"

    user_id: str = Field(
        sa_column=Column(String(32), ForeignKey("user_account.id"), primary_key=True)
    )
    role: str = Field(primary_key=True, max_length=32)
    granted_at: datetime = Field(sa_type=UTCDateTime)
    granted_by: str = Field(max_length=200)


class EnrolmentCode(Base, table=True):
    __tablename__ = "enrolment_code"
    __table_args__ = (Index("ix_enrolment_code_user_id", "user_id"),)

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(
        sa_column=Column(String(32), ForeignKey("user_account.id"), nullable=False)
    )
    # sha256 of the normalized code: the codes are random, so a fast hash is enough.
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Issuing a new code cancels the unused ones.
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TrainingRecord(Base, table=True):
    __tablename__ = "training_record"
    __table_args__ = (Index("ix_training_record_user_id_completed_at", "user_id", "completed_at"),)

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(
        sa_column=Column(String(32), ForeignKey("user_account.id"), nullable=False)
    )
    course: str = Field(max_length=200)
    version: str = Field(max_length=64)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    completed_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class LoginAttempt(Base, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_at", "at"),
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_user_id_at", "user_id", "at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    at: datetime = Field(sa_type=UTCDateTime)
    # As typed by the caller (normalized), whether or not such a principal exists.
    username: str = Field(max_length=256)
    user_id: str | None = Field(default=None, max_length=32)
    subject: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=16)  # person | machine
    method: str = Field(max_length=32)  # password | client_credentials | ingest_key | ...
    outcome: str = Field(max_length=16)  # success | failure | locked
    reason: str = Field(max_length=64)
    source_address: str | None = Field(default=None, max_length=64)


class Lockout(Base, table=True):
    __tablename__ = "lockout"
    __table_args__ = (Index("ix_lockout_user_id_locked_at", "user_id", "locked_at"),)

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(
        sa_column=Column(String(32), ForeignKey("user_account.id"), nullable=False)
    )
    locked_at: datetime = Field(sa_type=UTCDateTime)
    locked_until: datetime = Field(sa_type=UTCDateTime)
    failures: int
    # How it ended: "time" (the lock ran out) or "cso" (released early through the API).
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    released_how: str | None = Field(default=None, max_length=16)
    released_by: str | None = Field(default=None, max_length=200)
    release_reason: str | None = Field(default=None, max_length=500)


class Client(Base, table=True):
    __tablename__ = "client"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # camera | agency | service
    secret_hash: str = Field(max_length=512)
    cameras: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    agency_id: str | None = Field(default=None, max_length=64)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=200)


class IngestKey(Base, table=True):
    __tablename__ = "ingest_key"
    __table_args__ = (Index("ix_ingest_key_client_id", "client_id"),)

    id: str = Field(primary_key=True, max_length=32)
    client_id: str = Field(sa_column=Column(String(64), ForeignKey("client.id"), nullable=False))
    label: str = Field(default="", max_length=200)
    # sha256 of the key: keys are 256 random bits, so a fast hash resists guessing.
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    cameras: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=200)
