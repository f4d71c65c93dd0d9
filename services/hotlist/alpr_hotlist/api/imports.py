"""Hot-list imports: a file in one of the importer formats replaces a source list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from alpr_common.db import SessionDep
from alpr_hotlist import imports
from alpr_hotlist.auth import HotlistManager, ListReader
from alpr_hotlist.deps import ImportIdPath, SettingsDep, errors
from alpr_hotlist.errors import HotlistNotFound, HotlistRetired, ImportNotFound, ImportTooLarge
from alpr_hotlist.importers import ImportOptions
from alpr_hotlist.policy import EntryType
from alpr_hotlist.schemas import ImportFormat, ImportQuery, ImportRead, Page

router = APIRouter(prefix="/v1", tags=["hotlist imports"])


class ImportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hotlist_id: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    format: ImportFormat | None = Field(None, description="Else the list's import_format")
    timezone: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="IANA zone of the file's bare dates; else the agency's",
    )
    list_type: EntryType | None = Field(
        None,
        description="The 344.2(c) type of the list the file is imported into, for files whose "
        "rows do not say it (Rekor alert lists, CA CLEW .tbl files, Genetec files without a "
        "Category naming one). Never guessed from descriptions: rows without a type are held "
        "for review.",
    )
    columns: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        pattern=r"^[^\x00-\x08\x0a-\x1f\x7f]+$",
        description="Genetec: the attribute order of a file without a header line, as "
        "configured for the hotlist in Security Center, written with the file's delimiter "
        "(Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate)",
    )
    delimiter: Literal[";", ",", ":", "tab"] | None = Field(
        None, description="Genetec: the delimiter of `columns` and the file (`tab` for Tab)"
    )


_FILE_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file as exported by its source, unchanged",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {
                "schema": {"type": "string"},
                "examples": {
                    "canonical": {
                        "summary": "The canonical CSV (`format=canonical`): two NCIC records",
                        "value": (
                            "plate,state,list_type,reason,ncic_number,source,expiration_date\n"
                            "ABC1234,TX,stolen_vehicle,stolen 2026-12-01,V123456789,ncic,"
                            "2027-06-01\n"
                            "KLM4455,TX,stolen_plate,plate stolen from a parked car,"
                            "P987654321,ncic,\n"
                        ),
                    }
                },
            },
        },
    }
}


async def _body(request: Request, limit: int) -> bytes:
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ImportTooLarge(f"the file exceeds the {limit}-byte import limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/hotlist-imports",
    status_code=201,
    response_model=ImportRead,
    responses=errors(HotlistNotFound, HotlistRetired, ImportTooLarge),
    openapi_extra=_FILE_BODY,
)
async def create_import(
    request: Request,
    session: SessionDep,
    principal: HotlistManager,
    settings: SettingsDep,
    params: Annotated[ImportParams, Query()],
) -> ImportRead:
    """Import a file: the list's next version; reports added, removed, held and bad rows."""
    data = await _body(request, settings.max_import_bytes)
    return await imports.import_file(
        session,
        settings=settings,
        principal=principal,
        hotlist_id=params.hotlist_id,
        fmt=params.format,
        timezone=params.timezone,
        options=ImportOptions(
            list_type=params.list_type, columns=params.columns, delimiter=params.delimiter
        ),
        data=data,
    )


@router.get("/hotlist-imports", response_model=Page[ImportRead], responses=errors())
async def list_imports(
    session: SessionDep, _reader: ListReader, query: Annotated[ImportQuery, Query()]
) -> Page[ImportRead]:
    """Imports, newest first, with their counts and bad rows."""
    return await imports.list_imports(session, query=query)


@router.get(
    "/hotlist-imports/{import_id}", response_model=ImportRead, responses=errors(ImportNotFound)
)
async def get_import(
    session: SessionDep, _reader: ListReader, import_id: ImportIdPath
) -> ImportRead:
    """One import and its report."""
    return await imports.get_import(session, import_id=import_id)
