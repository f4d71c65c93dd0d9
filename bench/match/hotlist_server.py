"""The hotlist service for the stream benchmark: the real app under uvicorn, in its own process,
verifying tokens against the benchmark's own signing key instead of access's JWKS.

    BENCH_KEY_DIR=... BENCH_PORT=... HOTLIST_DATABASE_URL=... python bench/match/hotlist_server.py
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from alpr_common.jwt import JWKSCache, KeyRing, TokenVerifier
from alpr_common.roles import Role
from alpr_common.status import StaticStatus
from alpr_hotlist.main import create_app
from alpr_hotlist.settings import HotlistSettings

ISSUER = "alpr-access"
AUDIENCE = "alpr"


def main() -> None:
    app = create_app(HotlistSettings())
    keys = KeyRing.from_dir(Path(os.environ["BENCH_KEY_DIR"]))
    app.state.verifier = TokenVerifier(
        JWKSCache(static=keys.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    # No access here: the benchmark's own principals (bench_stream.Tokens) are the live ones.
    principals = StaticStatus()
    everything = frozenset(r.value for r in Role)
    principals.add("client:bench", kind="machine", roles=everything)
    principals.add(
        "user:bench",
        kind="person",
        roles=everything,
        training_valid_until=datetime.now(UTC) + timedelta(days=30),
    )
    app.state.principal_status.use_source(principals, 60.0)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["BENCH_PORT"]),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
