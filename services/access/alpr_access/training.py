"""Who is trained (344.7): the annual training records and how long they stay valid."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI
from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.auditing import emit
from alpr_access.errors import IncompleteTraining, SelfRecordingRefused
from alpr_access.models import TrainingRecord
from alpr_access.schemas import TrainingRecordCreate, TrainingRecordRead, TrainingTopic
from alpr_access.security import new_id
from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.metrics import gauge
from alpr_common.pagination import Page, PageParams

# 344.7: the annual training is valid for a year from its completion.
TRAINING_VALIDITY = timedelta(days=365)
# Training completion may sit a little ahead of the server clock, never further.
CLOCK_SKEW = timedelta(minutes=5)


def training_valid_until(completed_at: datetime | None) -> datetime | None:
    return completed_at + TRAINING_VALIDITY if completed_at is not None else None


def _training_read(record: TrainingRecord) -> TrainingRecordRead:
    return TrainingRecordRead(
        id=record.id,
        user_id=record.user_id,
        course=record.course,
        version=record.version,
        topics=list(record.topics),
        completed_at=record.completed_at,
        valid_until=record.completed_at + TRAINING_VALIDITY,
        recorded_by=record.recorded_by,
        recorded_at=record.recorded_at,
    )


async def record_training(
    session: AsyncSession,
    *,
    actor: Principal,
    data: TrainingRecordCreate,
    now: datetime | None = None,
) -> TrainingRecordRead:
    """344.7(a): a training coordinator records a completed course covering all four topics."""
    now = now or utcnow()
    missing = [t.value for t in TrainingTopic if t not in set(data.topics)]
    if missing:
        raise IncompleteTraining(
            f"the course must cover all four topics of 344.7(a); missing: {', '.join(missing)}",
            extra={"clause": "344.7(a)", "missing_topics": missing},
        )
    if data.completed_at > now + CLOCK_SKEW:
        raise IncompleteTraining("completed_at is in the future; record training once completed")
    user = await repo.load_user(session, data.user_id)
    if actor.subject == f"user:{user.id}":
        raise SelfRecordingRefused(
            "you cannot record your own training; another training coordinator must"
        )
    record = await repo.add(
        session,
        TrainingRecord(
            id=new_id(),
            user_id=user.id,
            course=data.course,
            version=data.version,
            topics=sorted({t.value for t in data.topics}),
            completed_at=data.completed_at,
            recorded_by=actor.subject,
            recorded_at=now,
        ),
    )
    read = _training_read(record)
    await emit(
        session,
        "training_recorded",
        actor=actor.subject,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        training_id=record.id,
        course=record.course,
        version=record.version,
        topics=read.topics,
        completed_at=record.completed_at.isoformat(),
        valid_until=read.valid_until.isoformat(),
    )
    return read


async def list_training(
    session: AsyncSession, *, user_id: str | None, page: PageParams
) -> Page[TrainingRecordRead]:
    records, more, total = await repo.list_training(session, user_id=user_id, page=page)
    return page.answer([_training_read(r) for r in records], more, total)


# How far ahead lapses are counted: a month to book the course, a week to chase it.
LAPSE_HORIZONS_DAYS = (7, 30)


async def training_metrics(app: FastAPI) -> list[Metric]:
    """Metrics probe (344.7): active people whose training has lapsed (or never happened), and
    those whose training lapses within the next 7 and 30 days."""
    async with app.state.db.read_sessionmaker() as session:
        completions = await repo.training_of_active_people(session)
    now = utcnow()
    until = [training_valid_until(done) for done in completions]
    lapsed = sum(1 for u in until if u is None or u <= now)
    ahead = [
        (
            {"within_days": str(days)},
            sum(1 for u in until if u is not None and now < u <= now + timedelta(days=days)),
        )
        for days in LAPSE_HORIZONS_DAYS
    ]
    return [
        gauge(
            "alpr_access_training_lapsed_people",
            "Active people without current training (lapsed or never recorded, 344.7(b)).",
            [({}, lapsed)],
        ),
        gauge(
            "alpr_access_training_lapsing_people",
            "Active people whose training lapses within the next `within_days` days.",
            ahead,
        ),
    ]
