"""Typed contracts of the events that cross a service boundary: one definition per event type,
used by the service that sends it and by every service that receives it.

One module per producing service (`gateway`, `access`, `ingest`, `hotlist`, `sharing`, `audit`),
each with a pydantic model per event type (`<Thing>Data`, the event's `data`) and an
`EVENT_TYPES` mapping from the type name (`<producer>.<thing>`) to its model. `KNOWN_TYPES` below
is their union: audit checks every incoming event's data against it, and a producer builds its
event's data from the model, so a field renamed on one side is caught on the other.
"""

from __future__ import annotations

from pydantic import BaseModel

from alpr_common.contracts import access, gateway, hotlist, ingest, sharing

KNOWN_TYPES: dict[str, type[BaseModel]] = {
    **gateway.EVENT_TYPES,
    **access.EVENT_TYPES,
    **ingest.EVENT_TYPES,
    **hotlist.EVENT_TYPES,
    **sharing.EVENT_TYPES,
}
