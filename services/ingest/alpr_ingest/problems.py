"""Equipment problems: reports of a camera or system not working, routed to the Chief Security
Officer (344.3.1(b))."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import ingest as contract
from alpr_common.pagination import Page, PageParams
from alpr_ingest.cameras import load_camera, new_id
from alpr_ingest.deps import Runtime
from alpr_ingest.errors import InvalidProblem, ProblemNotFound
from alpr_ingest.events import emit
from alpr_ingest.models import EquipmentProblem
from alpr_ingest.repository import problems as repo
from alpr_ingest.schemas import (
    EquipmentProblemCreate,
    EquipmentProblemRead,
    EquipmentProblemUpdate,
)


def problem_read(problem: EquipmentProblem) -> EquipmentProblemRead:
    return EquipmentProblemRead.model_validate(problem, from_attributes=True)


async def report_problem(
    session: AsyncSession, *, rt: Runtime, actor: Principal, data: EquipmentProblemCreate
) -> EquipmentProblemRead:
    now = rt.now()
    if data.camera_id is not None:
        await load_camera(session, data.camera_id)
    problem = EquipmentProblem(
        id=new_id(),
        camera_id=data.camera_id,
        category=data.category,
        description=data.description,
        status="open",
        reported_at=now,
        reported_by=actor.subject,
        reported_by_name=actor.name,
        updated_at=now,
    )
    session.add(problem)
    await session.flush()
    # 344.3.1(b): the report goes to the Chief Security Officer (their inbox) and to audit.
    await emit(
        session,
        contract.EQUIPMENT_PROBLEM,
        actor=actor,
        data=contract.EquipmentProblemData(
            problem_id=problem.id,
            camera_id=problem.camera_id,
            category=problem.category,
            description=problem.description,
            reported_by=actor.subject,
            reported_by_name=actor.name,
            reported_at=now.isoformat(),
            routed_to="chief_security_officer",
        ),
    )
    return problem_read(problem)


async def list_problems(
    session: AsyncSession, *, status: str | None, page: PageParams
) -> Page[EquipmentProblemRead]:
    problems, more, total = await repo.list_problems(session, status=status, page=page)
    return page.answer([problem_read(p) for p in problems], more, total)


async def update_problem(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor: Principal,
    problem_id: str,
    data: EquipmentProblemUpdate,
) -> EquipmentProblemRead:
    problem = await session.get(EquipmentProblem, problem_id)
    if problem is None:
        raise ProblemNotFound(f"no equipment-problem report {problem_id!r}")
    if data.status == "resolved" and not (data.resolution or problem.resolution):
        raise InvalidProblem("say what was done: `resolution` is required to resolve a problem")
    problem.status = data.status
    if data.resolution is not None:
        problem.resolution = data.resolution
    problem.updated_at = rt.now()
    problem.updated_by = actor.subject
    await session.flush()
    await emit(
        session,
        contract.EQUIPMENT_PROBLEM_UPDATED,
        actor=actor,
        data=contract.EquipmentProblemUpdatedData(
            problem_id=problem.id,
            status=problem.status,
            resolution=problem.resolution,
            actor=actor.subject,
        ),
    )
    return problem_read(problem)
