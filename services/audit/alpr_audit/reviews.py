"""344.6(a): the quarterly random audit. A seeded random sample of a period's queries, exports
and shares, drawn from audit's own transaction log, assigned to Risk Management reviewers (never
to the person who made the query), and their findings.

The draw is reproducible by anyone who can read the log:

1. the population is every log entry that occurred in [start, end) and is a `gateway.request`
   carrying a purpose (kind `query`), an `ingest.export` (kind `export`) or a
   `sharing.package_released` (kind `share`), sorted by its log sequence number;
2. `random.Random(seed).sample(range(population_size), sample_size)` (CPython 3.11) gives the
   positions drawn, in draw order; item `position` is the index in that list;
3. the population's digest is SHA-256 over `kind:seq` lines in seq order, so a redraw can first
   check that it starts from the same population.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import allegations, repository
from alpr_audit.errors import (
    FindingAlreadyRecorded,
    NotTheReviewer,
    ReviewItemNotFound,
    ReviewSampleExists,
    ReviewSampleNotFound,
    SelfReviewRefused,
)
from alpr_audit.models import ReviewItem, ReviewSample
from alpr_audit.review_schemas import (
    KindSummaryRead,
    NonCompliantRead,
    ReviewAssignment,
    ReviewFindingCreate,
    ReviewItemQuery,
    ReviewItemRead,
    ReviewKind,
    ReviewQuarterSummary,
    ReviewSampleCreate,
    ReviewSampleDetail,
    ReviewSampleQuery,
    ReviewSampleRead,
    ReviewSampleRedrawRead,
)
from alpr_audit.schemas import Page
from alpr_common.auth import Principal
from alpr_common.db import utcnow

# Log event type -> review kind. gateway.request entries count only when they carry a purpose:
# those are the queries of ALPR data (344.4(a)).
POPULATION_KINDS: dict[str, ReviewKind] = {
    repository.GATEWAY_REQUEST: "query",
    "ingest.export": "export",
    "sharing.package_released": "share",
}
ALGORITHM = (
    "population sorted by log seq; random.Random(seed).sample(range(population_size), "
    "sample_size) (CPython 3.11); items in draw order"
)
KINDS: tuple[ReviewKind, ...] = ("query", "export", "share")


def population_digest(population: list[tuple[int, str]]) -> str:
    lines = "".join(f"{POPULATION_KINDS[t]}:{seq}\n" for seq, t in population)
    return hashlib.sha256(lines.encode()).hexdigest()


def draw(population_size: int, sample_size: int, seed: int) -> list[int]:
    """Positions in the seq-sorted population, in draw order (see the module docstring)."""
    return random.Random(seed).sample(range(population_size), min(sample_size, population_size))


def _text(data: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    return value[:limit] if isinstance(value, str) and value else None


def _item(sample_id: str, position: int, kind: ReviewKind, row: Row[Any]) -> ReviewItem:
    m = row._mapping
    data: Mapping[str, Any] = m["data"] if isinstance(m["data"], dict) else {}
    actor = m["subject"] if kind != "export" else (_text(data, "actor", 200) or m["subject"])
    return ReviewItem(
        id=uuid.uuid4().hex,
        sample_id=sample_id,
        position=position,
        kind=kind,
        log_seq=m["seq"],
        actor=actor,
        occurred_at=m["occurred_at"],
        purpose=_text(data, "purpose", 100),
        case_number=_text(data, "case_number", 200),
        reason=_text(data, "reason", 4000),
        # The path only: a query string may hold a plate, and the reviewer reads the entry itself.
        path=_text(data, "path", 1000) if kind == "query" else None,
    )


def _assign_in_turn(items: list[ReviewItem], reviewers: list[str], by: str, at: datetime) -> None:
    """Item i goes to reviewers[i % n], or the next one in turn when that one made it."""
    unique = list(dict.fromkeys(reviewers))
    for i, item in enumerate(items):
        for j in range(len(unique)):
            reviewer = unique[(i + j) % len(unique)]
            if reviewer != item.actor:  # 344.6(a): never the person who made the query
                item.reviewer, item.assigned_at, item.assigned_by = reviewer, at, by
                break


def sample_read(sample: ReviewSample) -> ReviewSampleRead:
    return ReviewSampleRead.model_validate(sample, from_attributes=True)


def item_read(item: ReviewItem) -> ReviewItemRead:
    return ReviewItemRead.model_validate(item, from_attributes=True)


async def create_sample(
    session: AsyncSession, *, actor: Principal, data: ReviewSampleCreate
) -> ReviewSampleDetail:
    """Draw the period's random sample (344.6(a)); one per period, so nobody can redraw until
    the sample suits them."""
    start, end = data.bounds()
    existing = await repository.sample_for_period(session, start=start, end=end)
    if existing is not None:
        raise ReviewSampleExists(
            f"the period already has random sample {existing.id}", sample_id=existing.id
        )
    seed = data.seed if data.seed is not None else secrets.randbelow(2**63)
    population = await repository.review_population(
        session, start=start, end=end, kinds=dict(POPULATION_KINDS)
    )
    positions = draw(len(population), data.sample_size, seed)
    now = utcnow()
    sample = ReviewSample(
        id=uuid.uuid4().hex,
        period_start=start,
        period_end=end,
        seed=seed,
        population_size=len(population),
        sample_size=len(positions),
        population_digest=population_digest(population),
        algorithm=ALGORITHM,
        created_at=now,
        created_by=actor.subject,
    )
    chosen = [population[p] for p in positions]
    rows = await repository.entries_by_seq(session, [seq for seq, _ in chosen])
    items = [
        _item(sample.id, i, POPULATION_KINDS[t], rows[seq]) for i, (seq, t) in enumerate(chosen)
    ]
    _assign_in_turn(items, data.reviewers, actor.subject, now)
    session.add(sample)
    try:
        await session.flush()
        session.add_all(items)
        await session.flush()
    except IntegrityError:
        # Another draw for the same period committed first.
        raise ReviewSampleExists(
            "the period already has a random sample", sample_id=sample.id
        ) from None
    return ReviewSampleDetail(
        **sample_read(sample).model_dump(), items=[item_read(i) for i in items]
    )


async def list_samples(
    session: AsyncSession, *, query: ReviewSampleQuery
) -> Page[ReviewSampleRead]:
    page = query.page_params()
    samples, more, total = await repository.list_samples(session, page=page)
    return page.answer([sample_read(s) for s in samples], more, total)


async def get_sample(session: AsyncSession, *, sample_id: str) -> ReviewSampleRead:
    sample = await repository.get_sample(session, sample_id)
    if sample is None:
        raise ReviewSampleNotFound(f"no review sample {sample_id}")
    return sample_read(sample)


async def redraw(session: AsyncSession, *, sample_id: str) -> ReviewSampleRedrawRead:
    """Draw the sample again from the log and its seed: the check an auditor makes by hand."""
    sample = await repository.get_sample(session, sample_id)
    if sample is None:
        raise ReviewSampleNotFound(f"no review sample {sample_id}")
    population = await repository.review_population(
        session, start=sample.period_start, end=sample.period_end, kinds=dict(POPULATION_KINDS)
    )
    digest = population_digest(population)
    seqs = [population[p][0] for p in draw(len(population), sample.sample_size, sample.seed)]
    items = await repository.sample_items(session, [sample.id])
    return ReviewSampleRedrawRead(
        sample_id=sample.id,
        seed=sample.seed,
        population_size=len(population),
        population_digest=digest,
        same_population=(len(population), digest)
        == (sample.population_size, sample.population_digest),
        same_items=seqs == [i.log_seq for i in items],
        log_seqs=seqs,
    )


async def list_items(
    session: AsyncSession, *, sample_id: str, query: ReviewItemQuery
) -> Page[ReviewItemRead]:
    await get_sample(session, sample_id=sample_id)
    page = query.page_params()
    items, more, total = await repository.list_items(
        session, sample_id=sample_id, reviewer=query.reviewer, status=query.status, page=page
    )
    return page.answer([item_read(i) for i in items], more, total)


async def _load_item(session: AsyncSession, item_id: str, *, for_update: bool) -> ReviewItem:
    item = await repository.get_review_item(session, item_id, for_update=for_update)
    if item is None:
        raise ReviewItemNotFound(f"no review item {item_id}")
    return item


async def get_item(session: AsyncSession, *, item_id: str) -> ReviewItemRead:
    return item_read(await _load_item(session, item_id, for_update=False))


async def assign_item(
    session: AsyncSession, *, actor: Principal, item_id: str, data: ReviewAssignment
) -> ReviewItemRead:
    """Assign (or reassign, before its finding) an item to a Risk Management reviewer."""
    item = await _load_item(session, item_id, for_update=True)
    if data.reviewer == item.actor:
        raise SelfReviewRefused(
            f"{data.reviewer} made this {item.kind} and cannot review it (GO 344.6(a))"
        )
    if item.finding is not None:
        if item.reviewer == data.reviewer:
            return item_read(item)
        raise FindingAlreadyRecorded("the item has its finding; it is no longer reassigned")
    item.reviewer, item.assigned_at, item.assigned_by = data.reviewer, utcnow(), actor.subject
    await session.flush()
    return item_read(item)


async def record_finding(
    session: AsyncSession, *, actor: Principal, item_id: str, data: ReviewFindingCreate
) -> ReviewItemRead:
    """The reviewer's finding on one sampled item: compliant, or non-compliant with the reason,
    and whether a criminal predicate was present (344.6(a), 344.4(d))."""
    item = await _load_item(session, item_id, for_update=True)
    if actor.subject == item.actor:
        raise NotTheReviewer(f"{actor.subject} made this {item.kind} and cannot review it")
    if item.reviewer is not None and item.reviewer != actor.subject:
        raise NotTheReviewer(f"the item is assigned to {item.reviewer}, not to {actor.subject}")
    reason = data.reason.strip() if data.reason and data.reason.strip() else None
    if item.finding is not None:
        same = (item.finding, item.finding_reason, item.criminal_predicate) == (
            data.finding,
            reason,
            data.criminal_predicate,
        )
        if same:  # a retry of the same finding
            return item_read(item)
        raise FindingAlreadyRecorded("the item already has a different finding")
    now = utcnow()
    if item.reviewer is None:
        item.reviewer, item.assigned_at, item.assigned_by = actor.subject, now, actor.subject
    item.finding = data.finding
    item.finding_reason = reason
    item.criminal_predicate = data.criminal_predicate
    item.notes = data.notes
    item.reviewed_at, item.reviewed_by = now, actor.subject
    if data.refer_for_investigation:
        # 344.4(a)7: a non-compliant use found by the random audit becomes an allegation.
        allegation = await allegations.open_from_review(session, actor=actor, item=item)
        item.allegation_id = allegation.id
    await session.flush()
    return item_read(item)


async def quarter_summary(
    session: AsyncSession, *, start: datetime, end: datetime
) -> ReviewQuarterSummary:
    """344.6(a) for the report: the samples drawn for periods starting in [start, end) and the
    reviewers' findings on them."""
    samples = await repository.samples_starting_in(session, start=start, end=end)
    items = await repository.sample_items(session, [s.id for s in samples])
    by_kind = {
        k: KindSummaryRead(kind=k, sampled=0, reviewed=0, compliant=0, non_compliant=0)
        for k in KINDS
    }
    for item in items:
        row = by_kind[item.kind]  # type: ignore[index]  # kind is one of KINDS by construction
        row.sampled += 1
        if item.finding is not None:
            row.reviewed += 1
        if item.finding == "compliant":
            row.compliant += 1
        elif item.finding == "non_compliant":
            row.non_compliant += 1
    reviewed = [i for i in items if i.finding is not None]
    return ReviewQuarterSummary(
        start=start,
        end=end,
        samples=[sample_read(s) for s in samples],
        sampled=len(items),
        assigned=sum(1 for i in items if i.reviewer is not None),
        reviewed=len(reviewed),
        compliant=sum(1 for i in reviewed if i.finding == "compliant"),
        non_compliant=sum(1 for i in reviewed if i.finding == "non_compliant"),
        criminal_predicate_present=sum(1 for i in reviewed if i.criminal_predicate),
        criminal_predicate_absent=sum(1 for i in reviewed if i.criminal_predicate is False),
        by_kind=list(by_kind.values()),
        non_compliant_items=[
            NonCompliantRead(
                item_id=i.id,
                log_seq=i.log_seq,
                kind=i.kind,
                actor=i.actor,
                reason=i.finding_reason,
                criminal_predicate=i.criminal_predicate,
                allegation_id=i.allegation_id,
            )
            for i in reviewed
            if i.finding == "non_compliant"
        ],
    )
