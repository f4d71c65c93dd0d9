"""Hot-list file importers, one module per format; pure (bytes in, `ImportResult` out).

`parse(fmt, data)` reads a whole file. Rows the policy accepts are `accepted`; rows it does not
(a category outside 344.2(c), a warrant without a qualifying class, a manual entry without a
reason code, a prohibited purpose) are `held` with the reason, for a hotlist manager's review,
never activated or dropped; rows that cannot be read are `errors`. A file that cannot be read
at all raises `MalformedImport`.
"""

from __future__ import annotations

from datetime import tzinfo

from alpr_hotlist.importers import (
    ca_clew,
    canonical,
    genetec,
    ncic_fixed,
    rekor,
    tx_ncic,
    tx_tcic,
)
from alpr_hotlist.importers.errors import MalformedImport, UnknownImportFormat
from alpr_hotlist.importers.model import (
    HeldEntry,
    ImportedEntry,
    Importer,
    ImportOptions,
    ImportResult,
    RowError,
)

FORMATS: dict[str, Importer] = {
    module.IMPORTER.name: module.IMPORTER
    for module in (canonical, tx_ncic, tx_tcic, ncic_fixed, genetec, rekor, ca_clew)
}


def parse(
    fmt: str, data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    """Read a hot-list file of format `fmt`; bare dates are in `tz` (agency zone by default);
    `options` says what the file does not (its list type, a header-less file's columns)."""
    try:
        importer = FORMATS[fmt]
    except KeyError:
        raise UnknownImportFormat(
            f"unknown hot-list format {fmt!r}; known formats: " + ", ".join(FORMATS),
            extra={"formats": list(FORMATS)},
        ) from None
    return importer(data, tz=tz, options=options)


__all__ = [
    "FORMATS",
    "HeldEntry",
    "ImportOptions",
    "ImportResult",
    "ImportedEntry",
    "Importer",
    "MalformedImport",
    "RowError",
    "UnknownImportFormat",
    "parse",
]
