"""Reads in (native batches and vendor messages), search out, and the hot list's back-match."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio.to_thread
from fastapi import APIRouter, Query, Request

from alpr_common.app import own_json_body
from alpr_common.db import SessionDep
from alpr_common.direct import direct
from alpr_common.errors import responses
from alpr_common.jsonenc import FastJSONResponse
from alpr_common.pagination import PageDep
from alpr_common.purpose import PurposeDep
from alpr_ingest import adapters, reads, search, vehicles
from alpr_ingest.auth import ReadPoster, Searcher, Service
from alpr_ingest.deps import PurgedSinceStart, Runtime, RuntimeDep
from alpr_ingest.errors import (
    BatchRefused,
    BodyTooLarge,
    CameraNotBound,
    InvalidQuery,
    InvalidSearch,
    MalformedPayload,
    PurgePending,
    ReadNotFound,
    UnknownFormat,
    UnsupportedContentType,
)
from alpr_ingest.schemas import (
    CAMERA_ID_PATTERN,
    ApiTime,
    BackMatchIn,
    BackMatchOut,
    DahuaAck,
    ReadBatchIn,
    ReadBatchResult,
    ReadOut,
    SearchPage,
)

router = APIRouter(prefix="/v1")

# The members come from the adapter registry, so mypy cannot list them (a static Enum would
# repeat the registry).
VendorFormat = StrEnum(  # type: ignore[misc]
    "VendorFormat", {name.upper(): name for name in sorted(adapters.FORMATS)}
)
_VENDOR_MEDIA = {
    "application/json": {"schema": {}},
    "application/xml": {"schema": {"type": "string"}},
    "text/xml": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object"}},
    "multipart/mixed": {"schema": {"type": "string"}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
}
_INGEST_ERRORS = (
    BodyTooLarge,
    UnsupportedContentType,
    MalformedPayload,
    CameraNotBound,
)


async def _body(request: Request, rt: Runtime) -> bytes:
    limit = rt.settings.max_body_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise BodyTooLarge(f"body of {length} bytes exceeds the {limit}-byte limit")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body exceeds the {limit}-byte limit; send fewer reads per call")
        chunks.append(chunk)
    return b"".join(chunks)


# Bodies above this are parsed in a worker thread, so a large (or hostile) body never holds the
# event loop: /livez and other cameras' posts keep their turns. Native batches of 1,000 reads
# without images stay below it and take the in-loop path (pydantic-core, a few milliseconds).
PARSE_IN_THREAD_BYTES = 1024 * 1024


async def _parse(
    fmt: str,
    *,
    content_type: str,
    body: bytes,
    received_at: datetime,
    options: adapters.ParseOptions | None = None,
) -> adapters.AdapterResult:
    parse = functools.partial(
        adapters.parse,
        fmt,
        content_type=content_type,
        body=body,
        received_at=received_at,
        options=options,
    )
    if len(body) <= PARSE_IN_THREAD_BYTES:
        return parse()
    return await anyio.to_thread.run_sync(parse)


READ_BATCH_EXAMPLES = {
    "two reads": {
        "summary": "Two reads from a fixed camera, stored unless invalid",
        "value": {
            "reads": [
                {
                    "plate": "ABC1234",
                    "region": "US-TX",
                    "captured_at": "2026-12-05T14:03:07Z",
                    "camera": "cam-north-1",
                    "confidence": 0.97,
                },
                {
                    "plate": "XYZ9876",
                    "region": "US-TX",
                    "captured_at": "2026-12-05T14:03:09Z",
                    "camera": "cam-north-1",
                    "confidence": 0.91,
                    "position": {"lat": 30.2672, "lon": -97.7431},
                },
            ],
            "atomic": False,
        },
    }
}


@router.post(
    "/reads",
    response_model=ReadBatchResult,
    tags=["reads"],
    description=(
        "`atomic: false` (the default) stores the valid reads and lists each rejected one with "
        "its index and reason; `atomic: true` stores all of them or none (422 listing every "
        "problem). Posting the same read again stores nothing new: it counts as a duplicate. "
        "The answer is sent only after the stored reads are committed."
    ),
    responses=responses(BatchRefused, *_INGEST_ERRORS),
    openapi_extra=own_json_body(ReadBatchIn, examples=READ_BATCH_EXAMPLES),
)
@direct
async def post_reads(request: Request, principal: ReadPoster, rt: RuntimeDep) -> FastJSONResponse:
    """Store a batch of 1 to 1,000 native reads; answered only once they are committed."""
    body = await _body(request, rt)
    result = await _parse(
        "native",
        content_type=request.headers.get("content-type", ""),
        body=body,
        received_at=rt.now(),
    )
    atomic = b'"atomic"' in body and _atomic(body)
    # No session dependency: most posts are single reads, which the group writer stores in no
    # transaction of their own; `reads.ingest` opens one for the others.
    outcome = await reads.ingest(
        request.app.state.db, rt=rt, principal=principal, result=result, atomic=atomic
    )
    # Built as plain data and sent as is: re-validating up to 1,000 outcomes costs more than
    # storing them. The fuzz tests check it against ReadBatchResult.
    return FastJSONResponse(outcome)


def _atomic(body: bytes) -> bool:
    # The adapter validated the envelope; only a batch object can say atomic.
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("atomic") is True


@router.post(
    "/vendor-reads/{vendor_format}",
    response_model=ReadBatchResult | DahuaAck,
    tags=["reads"],
    description=(
        "Formats: openalpr (alpr_results, alpr_group preview then final, alpr_alert, "
        "heartbeat), platerecognizer (JSON, form, multipart), genetec (JSON, XML), hikvision "
        "(XML, multipart), axis (JSON, multipart), verkada, dahua (answered "
        '`{"Result": true}`), frigate (events, lpr updates and the plate_recognizer side-car), '
        "survision (camera serial in the `survision-serial-number` header), codeproject (a "
        "CodeProject.AI `/v1/vision/alpr` response, with `camera` and `captured_at`), native. "
        "Answered only once the reads are committed."
    ),
    responses=responses(UnknownFormat, InvalidQuery, *_INGEST_ERRORS),
    openapi_extra={"requestBody": {"required": True, "content": _VENDOR_MEDIA}},
)
@direct
async def post_vendor_reads(
    vendor_format: VendorFormat,
    request: Request,
    principal: ReadPoster,
    rt: RuntimeDep,
    camera: Annotated[
        str | None,
        Query(
            pattern=CAMERA_ID_PATTERN,
            description="The camera, for messages that carry no camera identity (Dahua ITSAPI, "
            "a Plate Recognizer Snapshot without camera_id). Default: the client's only camera.",
        ),
    ] = None,
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            description="IANA time zone of cameras that send local time without an offset.",
        ),
    ] = None,
    date_order: Annotated[
        Literal["MDY", "DMY", "YMD"], Query(description="Genetec's locale date order.")
    ] = "MDY",
    captured_at: Annotated[
        ApiTime | None,
        Query(
            description="When the image was taken, for messages that carry no time (a "
            "CodeProject.AI response), with its UTC offset."
        ),
    ] = None,
) -> FastJSONResponse:
    """Store the reads of one vendor message, in the vendor's own format and transport."""
    local_tz = None
    if tz is not None:
        try:
            local_tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidQuery(f"unknown time zone {tz!r}; use an IANA name") from None
    camera_key = camera or (principal.cameras[0] if len(principal.cameras) == 1 else None)
    body = await _body(request, rt)
    result = await _parse(
        str(vendor_format),
        content_type=request.headers.get("content-type", ""),
        body=body,
        received_at=rt.now(),
        options=adapters.ParseOptions(
            local_tz=local_tz,
            date_order=date_order,
            camera_key=camera_key,
            captured_at=captured_at,
            headers={
                name: request.headers[name]
                for name in adapters.DEVICE_HEADERS
                if name in request.headers
            },
        ),
    )
    outcome = await reads.ingest(request.app.state.db, rt=rt, principal=principal, result=result)
    return FastJSONResponse(result.ack if result.ack is not None else outcome)


Plate = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=32,
        description=(
            "Exact plate, or a partial one with `?` (one character) and `*` (any run): three "
            "known characters in a row, a fixed start or end counting as one (`PXK7*`, `*342`, "
            "`PX?7342`); beside a vehicle attribute, a camera or an area two at the start or "
            "end will do (`*42`)."
        ),
        examples=["ABC1234"],
    ),
]
VehicleWords = Annotated[
    list[str] | None,
    Query(
        max_length=4,
        description="Make or model as cameras name it (`toyota`, `TOYT`; `camry`, `model 3`); "
        "narrows a plate, camera or area search; repeat for any of several.",
    ),
]
Coordinate = Annotated[float | None, Query(ge=-180, le=180)]
Latitude = Annotated[float | None, Query(ge=-90, le=90)]
Longitude = Annotated[float | None, Query(ge=-180, le=180)]


@router.get(
    "/reads",
    response_model=SearchPage,
    tags=["search"],
    responses=responses(InvalidSearch, PurgePending),
)
async def search_reads(
    _purged: PurgedSinceStart,
    principal: Searcher,
    purpose: PurposeDep,
    session: SessionDep,
    rt: RuntimeDep,
    page: PageDep,
    plate: Plate = None,
    confusable: Annotated[
        bool,
        Query(
            description="Also match OCR-confusable spellings (0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G)."
        ),
    ] = False,
    since: Annotated[ApiTime | None, Query(description="Window start (with offset).")] = None,
    until: Annotated[ApiTime | None, Query(description="Window end (default now).")] = None,
    camera_id: Annotated[str | None, Query(pattern=CAMERA_ID_PATTERN)] = None,
    min_lat: Latitude = None,
    min_lon: Longitude = None,
    max_lat: Latitude = None,
    max_lon: Longitude = None,
    lat: Latitude = None,
    lon: Longitude = None,
    radius_m: Annotated[float | None, Query(gt=0, le=50_000)] = None,
    vehicle_make: VehicleWords = None,
    vehicle_model: VehicleWords = None,
    vehicle_color: Annotated[
        list[str] | None,
        Query(
            max_length=4,
            description="The vehicle's colour, one of: "
            + ", ".join(vehicles.COLORS)
            + " (vendor spellings such as `GRY` or `gray` are understood); repeat for any of "
            "several.",
        ),
    ] = None,
    vehicle_type: Annotated[
        list[str] | None,
        Query(
            max_length=4,
            description="Body type, one of: "
            + ", ".join(vehicles.BODY_TYPES)
            + "; repeat for any of several.",
        ),
    ] = None,
) -> SearchPage:
    """Search reads by plate (exact, partial, look-alike), time, camera, area and vehicle
    (make, model, colour, body type); best match first, then newest; audited."""
    criteria = search.Criteria(
        plate=plate,
        confusable=confusable,
        since=since,
        until=until,
        camera_id=camera_id,
        min_lat=min_lat,
        min_lon=min_lon,
        max_lat=max_lat,
        max_lon=max_lon,
        lat=lat,
        lon=lon,
        radius_m=radius_m,
        vehicle_make=tuple(vehicle_make or ()),
        vehicle_model=tuple(vehicle_model or ()),
        vehicle_color=tuple(vehicle_color or ()),
        vehicle_type=tuple(vehicle_type or ()),
        limit=min(page.limit, rt.settings.search_max_page_size),
    )
    return await search.search(
        session, rt=rt, principal=principal, purpose=purpose, c=criteria, page=page
    )


@router.get(
    "/reads/{read_id}",
    response_model=ReadOut,
    tags=["search"],
    responses=responses(ReadNotFound, PurgePending),
)
async def read_read(
    _purged: PurgedSinceStart,
    read_id: uuid.UUID,
    principal: Searcher,
    purpose: PurposeDep,
    session: SessionDep,
    rt: RuntimeDep,
) -> ReadOut:
    """One read by id, within the retention window; audited like a search."""
    return await search.get_read(
        session, rt=rt, principal=principal, purpose=purpose, read_id=read_id
    )


@router.post(
    "/reads/back-match",
    response_model=BackMatchOut,
    tags=["internal"],
    responses=responses(InvalidSearch, PurgePending),
)
async def back_match(
    _purged: PurgedSinceStart,
    data: BackMatchIn,
    _service: Service,
    session: SessionDep,
    rt: RuntimeDep,
) -> BackMatchOut:
    """Internal (hotlist): recent reads of newly listed plates, exact or confusable."""
    return await search.back_match(session, rt=rt, data=data)
