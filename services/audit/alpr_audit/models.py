"""Audit tables. `log_entry` is the append-only, hash-chained transaction log (see chain.py for
the envelope and the hashing); `chain_head` is its one-row head, locked by every append so that
entries get consecutive sequence numbers under concurrency.

Audit metrics (344.6) get their own tables beside these, fed by the same event intake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, String, Text
from sqlmodel import Field

from alpr_common.db import JSONType, TableModel, UTCDateTime, service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata
OUTBOX = outbox_tables(metadata)


class Base(TableModel, registry=registry):
    """The service's tables, in its own registry and metadata (see `service_registry`)."""


SeqType = BigInteger().with_variant(Integer(), "sqlite")


class LogEntry(Base, table=True):
    __tablename__ = "log_entry"
    __table_args__ = (
        Index("ix_log_entry_type_seq", "type", "seq"),
        Index("ix_log_entry_subject_seq", "subject", "seq"),
        Index("ix_log_entry_occurred_at", "occurred_at"),
        Index("ix_log_entry_request_id", "request_id"),
        Index("ix_log_entry_source", "source"),
    )

    # Assigned from chain_head, never by the database, so the chain has no gaps.
    seq: int = Field(sa_column=Column(SeqType, primary_key=True, autoincrement=False))
    event_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    source: str = Field(sa_column=Column(String(64), nullable=False))
    type: str = Field(sa_column=Column(String(100), nullable=False))
    subject: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    flags: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class ChainHead(Base, table=True):
    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(SeqType, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
