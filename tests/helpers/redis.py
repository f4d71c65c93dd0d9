"""The machine's real Redis for the tests that need one (rate limits across gateway replicas).

ALPR_TEST_REDIS_URL (default: the local server). Unreachable: skipped locally, an error in CI,
as for PostgreSQL."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from alpr_common.testing.plugin import unavailable

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """The test Redis's URL; skips (fails in CI) when nothing answers there."""
    url = os.environ.get("ALPR_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2):
            pass
    except OSError as exc:
        message = f"no Redis at {parts.hostname}:{parts.port} ({exc}); set ALPR_TEST_REDIS_URL"
        unavailable(message)
    return url
