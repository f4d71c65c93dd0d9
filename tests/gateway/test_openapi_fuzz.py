"""Property-based fuzzing of the gateway's request path: whatever the method, path, query or
headers, it answers with a JSON error or a forwarded answer, never a 5xx of its own making.

The gateway documents no API of its own (it routes by the services' OpenAPI documents), so its
fuzz test generates requests with hypothesis instead of schemathesis; the file is named like
every service's fuzz test."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alpr_common.roles import Role
from alpr_common.testing.plugin import PURPOSE_HEADERS

segment = st.text(alphabet=string.ascii_letters + string.digits + "-_.~%:", max_size=12)
paths = st.lists(segment, max_size=4).map(lambda parts: "/".join(parts))
services = st.sampled_from(["ingest", "hotlist", "access", "audit", "sharing", "nope", ""])
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    service=services,
    path=st.one_of(st.sampled_from(["reads", "public-info", "alerts/stream", "events"]), paths),
    query=st.dictionaries(segment, header_text, max_size=3),
    purpose=st.dictionaries(
        st.sampled_from(
            [*list(PURPOSE_HEADERS), "X-ALPR-Criminal-Nexus", "X-ALPR-First-Amendment"]
        ),
        header_text,
        max_size=5,
    ),
    auth=st.sampled_from(["valid", "none", "garbage", "basic", "key"]),
    body=st.binary(max_size=64),
)
async def test_gateway_never_answers_5xx(
    client, tokens, directory, method, service, path, query, purpose, auth, body
):
    directory.keys.setdefault("k", "cam-1")
    directory.status.setdefault(
        "client:cam-1",
        {
            "subject": "client:cam-1",
            "kind": "machine",
            "active": True,
            "roles": ["camera"],
            "training_valid_until": None,
        },
    )
    headers = dict(purpose)
    if auth == "valid":
        headers |= directory.person(tokens, Role.INVESTIGATOR)[1]
    elif auth == "garbage":
        headers["Authorization"] = "Bearer x.y.z"
    elif auth == "basic":
        headers["Authorization"] = "Basic !!!"
    elif auth == "key":
        headers["X-ALPR-Ingest-Key"] = "k"
    r = await client.request(
        method,
        f"/v1/{service}/{path}",
        params=query,
        headers=headers,
        content=body if method in ("POST", "PUT", "PATCH") else None,
    )
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "status", "detail"} <= set(r.json())
