"""Request and response models of the audit API, separate from the tables.

Lists are paged by page number: `{items, total, page, page_size}`, newest first unless
`order=asc`; `total` counts every match of the filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

# Strings that end up as SQL parameters: no NUL, which PostgreSQL text cannot hold.
_NO_NUL = r"^[^\x00]*$"
FLAG_PATTERN = r"^[a-z0-9_]{1,50}$"


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range once converted to UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_NUL)]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_NO_NUL)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="How many entries match the filters, on every page")
    page: int
    page_size: int


class _ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Text200 | None = Field(None, description="Principal, e.g. user:42")
    request_id: Text64 | None = Field(None, description="Gateway request id")
    since: UtcDatetime | None = Field(None, description="Occurred at or after (inclusive)")
    until: UtcDatetime | None = Field(None, description="Occurred before (exclusive)")
    flag: Annotated[str, StringConstraints(pattern=FLAG_PATTERN)] | None = Field(
        None, description="A review flag of the request, e.g. first_amendment (344.4(a)4)"
    )
    status_class: Literal["1xx", "2xx", "3xx", "4xx", "5xx"] | None = Field(
        None, description="Class of the gateway's answer status"
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=500)
    order: Literal["desc", "asc"] = Field("desc", description="By sequence number")


class LogEntryQuery(_ListQuery):
    type: Text100 | None = Field(
        None, description="Event type; a trailing `.*` matches a family, e.g. access.*"
    )
    source: Text64 | None = Field(None, description="Emitting service")


class TransactionQuery(_ListQuery):
    pass


class LogEntryRead(BaseModel):
    seq: int
    event_id: str
    source: str
    type: str
    subject: str | None
    occurred_at: datetime
    recorded_at: datetime
    request_id: str | None
    status: int | None
    flags: list[str]
    problem: str | None = Field(description="Why the event did not have its type's shape")
    data: dict[str, Any]
    prev_hash: str
    hash: str


class TransactionRead(BaseModel):
    """One request through the gateway with its outcome (gateway.request + gateway.response)."""

    request_id: str
    request_seq: int
    response_seq: int | None = Field(description="None while the outcome is not yet logged")
    requested_at: datetime
    subject: str | None
    roles: list[str]
    source_address: str | None
    method: str | None
    path: str | None
    query: str | None
    purpose: str | None
    case_number: str | None
    reason: str | None
    criminal_nexus: str | None
    flags: list[str]
    status: int | None
    bytes: int | None
    latency_ms: float | None
    refused_reason: str | None


class BrokenEntryRead(BaseModel):
    seq: int
    event_id: str
    problem: Literal["seq_gap", "prev_hash_mismatch", "hash_mismatch"]
    detail: str
    expected_seq: int | None = Field(None, description="For seq_gap: the seq that was due")


class HeadRead(BaseModel):
    seq: int
    hash: str


class CheckpointRead(BaseModel):
    file: str
    seq: int | None
    hash: str | None
    at: str | None
    key_id: str | None
    signature_valid: bool


class CheckpointProblemRead(BaseModel):
    file: str
    seq: int | None
    problem: Literal[
        "unreadable",
        "unknown_key",
        "bad_signature",
        "hash_mismatch",
        "entry_missing",
        "beyond_end",
    ]
    detail: str


class LogVerificationRead(BaseModel):
    """The result of recomputing the whole chain and checking it against the signed
    checkpoints and the chain head."""

    ok: bool
    verified_at: datetime
    entries_checked: int
    last_seq: int | None
    last_hash: str | None
    broken_entries: int
    first_broken: BrokenEntryRead | None
    head: HeadRead | None
    head_problem: str | None
    checkpoints_checked: int
    checkpoint_problems: list[CheckpointProblemRead]
    latest_checkpoint: CheckpointRead | None
    requests_without_outcome: int = Field(
        0,
        description="gateway.request entries made over 5 minutes ago with no "
        "gateway.response: outcomes the gateway could not record, or streams still open",
    )


class CheckpointKeyRead(BaseModel):
    key_id: str
    algorithm: Literal["Ed25519"]
    current: bool = Field(description="Signs new checkpoints; the others verify older ones")
    public_key_pem: str
