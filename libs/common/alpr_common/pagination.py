"""The one way lists are paged in every service: `limit` and an opaque `cursor` in, `items` and a
`next` link out (plus `total` where counting is cheap).

    @router.get("/things", response_model=Page[ThingRead])
    async def list_things(session: SessionDep, page: PageDep) -> Page[ThingRead]:
        rows, more, total = await keyset_page(session, select(Thing), key=(Thing.created_at,
                                              Thing.id), page=page, count=True)
        return page.answer([ThingRead.model_validate(r) for r in rows], more, total)

Large tables page by keyset (`keyset_page`: the sort key of the last item is the cursor, so the
thousandth page costs what the first does); small ones may page by position (`offset_page`). A
client cannot tell the two apart: it follows `next` (a relative reference, `?limit=..&cursor=..`
plus the request's other parameters, so it resolves against the public URL through the gateway as
well as against a service's own) until it is null.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeAlias, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.errors import BadRequest

T = TypeVar("T")
# What a paged query gives: the rows, the next page's cursor (None on the last), the total (None
# where it is not counted).
Paged: TypeAlias = tuple[list[T], str | None, int | None]
# A SQLAlchemy or SQLModel select (SQLModel's generics do not match SQLAlchemy's for mypy).
AnySelect: TypeAlias = Any

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_CURSOR_MAX = 512
_MALFORMED = "the cursor is malformed; start again without `cursor`"


class InvalidCursor(BadRequest):
    """The cursor is not one this list gave out; start again without `cursor`."""


class Page(BaseModel, Generic[T]):
    """One page of a list. Follow `next` until it is null."""

    items: list[T]
    next: str | None = Field(
        default=None,
        description="Relative link to the next page (`?limit=..&cursor=..`, with this request's "
        "other parameters); null on the last page",
    )
    next_cursor: str | None = Field(
        default=None, description="The `cursor` of the next page (what `next` carries)"
    )
    total: int | None = Field(
        default=None, description="How many items match, on lists where counting is cheap"
    )


@dataclass(frozen=True)
class PageParams:
    """`limit` and `cursor` of a list request, and its other parameters for the `next` link."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def answer(self, items: list[T], next_cursor: str | None, total: int | None = None) -> Page[T]:
        """The page of `items`; `next_cursor` from `keyset_page` / `offset_page`."""
        link = None
        if next_cursor is not None:
            params = [*self.query, ("limit", str(self.limit)), ("cursor", next_cursor)]
            link = "?" + urlencode(params)
        return Page[T](items=items, next=link, next_cursor=next_cursor, total=total)


class PageQuery(BaseModel):
    """For a route whose query parameters are a model (`Annotated[XQuery, Query()]`): subclass
    this for `limit` and `cursor`, and call `page_params()` for the `PageParams`."""

    limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many items per page (at most 500)"
    )
    cursor: str | None = Field(
        default=None,
        max_length=_CURSOR_MAX,
        description="Opaque: the `next_cursor` of the previous page; omit for the first",
    )

    def page_params(self) -> PageParams:
        others: list[tuple[str, str]] = []
        given = self.model_dump(
            mode="json", by_alias=True, exclude_unset=True, exclude={"limit", "cursor"}
        )
        for name, value in given.items():
            for item in value if isinstance(value, list) else [value]:
                if item is None:
                    continue
                text = item if isinstance(item, str) else json.dumps(item)
                others.append((name, text))
        return PageParams(limit=self.limit, cursor=self.cursor, query=tuple(others))


async def page_params(
    request: Request,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="How many items per page (at most 500)")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=_CURSOR_MAX,
            description="Opaque: the `next_cursor` of the previous page; omit for the first",
        ),
    ] = None,
) -> PageParams:
    others = tuple(
        (k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "cursor")
    )
    return PageParams(limit=limit, cursor=cursor, query=others)


PageDep = Annotated[PageParams, Depends(page_params)]


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"t": v.isoformat()}
    if isinstance(v, uuid.UUID):
        return {"u": str(v)}
    return v


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for the sort key `values` (str, int, float, bool, None, datetime,
    UUID)."""
    plain = [_plain(v) for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The sort key of `size` values a cursor carries; `InvalidCursor` (400) for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(_MALFORMED) from exc
    if not isinstance(plain, list) or len(plain) != size:
        raise InvalidCursor("the cursor belongs to another list; start again without `cursor`")
    values: list[Any] = []
    for v in plain:
        if isinstance(v, dict):
            try:
                values.append(uuid.UUID(v["u"]) if "u" in v else datetime.fromisoformat(v["t"]))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise InvalidCursor(_MALFORMED) from exc
        elif isinstance(v, str | int | float | bool) or v is None:
            values.append(v)
        else:
            raise InvalidCursor(_MALFORMED)
    return values


def _single_entity(stmt: Select[Any]) -> bool:
    described = stmt.column_descriptions
    return len(described) == 1 and described[0]["expr"] is described[0]["entity"] is not None


async def _rows(session: AsyncSession, stmt: Select[Any]) -> list[Any]:
    result = await session.execute(stmt)
    return list(result.scalars().all() if _single_entity(stmt) else result.all())


async def _count(session: AsyncSession, stmt: Select[Any]) -> int:
    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    return int((await session.execute(counted)).scalar_one())


async def keyset_page(
    session: AsyncSession,
    stmt: AnySelect,
    *,
    key: Sequence[Any],
    page: PageParams,
    descending: bool | Sequence[bool] = True,
    count: bool = False,
) -> Paged[Any]:
    """One page of `stmt` ordered by `key` (columns that are unique together, the last usually
    the id), newest first unless `descending=False` (or one flag per column, for a mixed order):
    `(rows, next_cursor, total)`. Rows are the entities when `stmt` selects one entity, else
    result rows; each must expose the key columns as attributes. `total` only if `count`."""
    flags = [descending] * len(key) if isinstance(descending, bool) else list(descending)
    if len(flags) != len(key):
        raise ValueError("one `descending` flag per key column")
    total = await _count(session, stmt) if count else None
    if page.cursor is not None:
        stmt = stmt.where(after_key(key, decode_cursor(page.cursor, len(key)), flags))
    order = [c.desc() if d else c.asc() for c, d in zip(key, flags, strict=True)]
    rows = await _rows(session, stmt.order_by(None).order_by(*order).limit(page.limit + 1))
    if len(rows) <= page.limit:
        return rows, None, total
    rows = rows[: page.limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, c.key) for c in key]), total


def _check_type(column: Any, value: Any) -> None:
    """A cursor from another list (or edited) is refused, not bound to a column it cannot fit."""
    kind = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator's own type
    try:
        expected = kind.python_type
    except (AttributeError, NotImplementedError):
        return
    fits = (
        value is not None
        and isinstance(value, bool) == (expected is bool)
        and (isinstance(value, expected) or (expected is float and isinstance(value, int)))
        # The suite stores aware times only.
        and not (isinstance(value, datetime) and value.tzinfo is None)
    )
    if not fits:
        raise InvalidCursor("the cursor belongs to another list; start again without `cursor`")


def after_key(key: Sequence[Any], values: Sequence[Any], flags: Sequence[bool]) -> Any:
    """The condition for rows after the sort key `values` in the order of `key` (one
    `descending` flag per column): for a repository that builds its own keyset query."""
    for column, value in zip(key, values, strict=True):
        _check_type(column, value)
    # Bound with each column's own type (UTCDateTime stores text on SQLite).
    bound = [literal(v, type_=c.type) for c, v in zip(key, values, strict=True)]
    if all(flags) or not any(flags):
        # One direction: a row-value comparison, which a composite index serves.
        keyed, after = tuple_(*key), tuple_(*bound)
        return keyed < after if flags[0] else keyed > after
    terms = []
    for i, (column, value, desc) in enumerate(zip(key, bound, flags, strict=True)):
        equal = [key[j] == bound[j] for j in range(i)]
        terms.append(and_(*equal, column < value if desc else column > value))
    return or_(*terms)


async def offset_page(
    session: AsyncSession, stmt: AnySelect, *, page: PageParams, count: bool = True
) -> tuple[list[Any], str | None, int | None]:
    """One page of `stmt` (already ordered) by position: for small lists, or orders a keyset
    cannot follow. The cursor is still opaque: clients cannot tell the two apart."""
    start = 0
    if page.cursor is not None:
        (start,) = decode_cursor(page.cursor, 1)
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise InvalidCursor(_MALFORMED)
    total = await _count(session, stmt) if count else None
    rows = await _rows(session, stmt.offset(start).limit(page.limit + 1))
    if len(rows) <= page.limit:
        return rows, None, total
    return rows[: page.limit], encode_cursor([start + page.limit]), total


def list_page(items: Sequence[T], *, page: PageParams) -> tuple[list[T], str | None, int]:
    """A page of a short list already in memory: `(items, next_cursor, total)`."""
    start = 0
    if page.cursor is not None:
        (start,) = decode_cursor(page.cursor, 1)
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise InvalidCursor(_MALFORMED)
    end = start + page.limit
    more = encode_cursor([end]) if end < len(items) else None
    return list(items[start:end]), more, len(items)
