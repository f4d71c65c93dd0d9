"""The JWT stack signs and verifies with python-jose's `cryptography` backend only. python-jose
declares the pure-Python `ecdsa` package as a hard dependency, so it is installed, but it must
never be loaded (SECURITY.md says why). Checked in a fresh interpreter: the test process itself
may have imported anything."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import asyncio, sys, tempfile
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    import jose.backends
    from alpr_common.jwt import JWKSCache, KeyRing, TokenVerifier

    ring = KeyRing.from_dir(Path(tempfile.mkdtemp()), create=True)
    token = ring.sign(
        {"sub": "user:1"}, issuer="i", audience="a",
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    verifier = TokenVerifier(JWKSCache(static=ring.jwks()), issuer="i", audience="a")
    assert asyncio.run(verifier.verify(token))["sub"] == "user:1"
    print(jose.backends.ECKey.__module__)
    print(sorted(m for m in sys.modules if m.split(".")[0] == "ecdsa" or "ecdsa_backend" in m))
    """
)


def test_tokens_are_made_and_checked_without_the_ecdsa_package():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "jose.backends.cryptography_backend"
    assert out[1] == "[]"
