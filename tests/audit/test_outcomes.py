"""Issue 13, defect 7: the verify report counts gateway requests whose outcome never reached the
log, so a hole in the transaction log is not silent (344.4(d))."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.policy("344.4(d)")


async def test_verify_counts_requests_without_outcomes(client, tokens, ev, send):
    answered = ev.gateway_pair(minute=0)
    unanswered_a, _ = ev.gateway_pair(minute=1)
    unanswered_b, _ = ev.gateway_pair(minute=2)
    await send([*answered, unanswered_a, unanswered_b, ev.login_attempt()])

    resp = await client.get("/v1/log-verifications", headers=tokens.headers("risk_management"))

    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["ok"] is True  # the chain is intact; the holes are counted beside it
    assert report["requests_without_outcome"] == 2
