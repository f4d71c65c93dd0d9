"""`POST /v1/events` decodes its body itself (pydantic-core's parser, not FastAPI's body
parameter): the answers, their order against the token check, and the OpenAPI document stay
what FastAPI gave. Driven against the audit service's app, which mounts the kernel's router."""

import json
import uuid

import pytest
from pydantic.json_schema import models_json_schema

from alpr_audit.main import SPEC as AUDIT
from alpr_common.errors import problem_type
from alpr_common.events import EventBatch
from alpr_common.roles import Role

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def service_spec():
    return AUDIT


@pytest.fixture
def service(tokens):
    return {**tokens.headers(Role.SERVICE), **JSON}


def _body(**data) -> bytes:
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "gateway",
        "type": "gateway.request",
        "time": "2026-11-02T14:00:00+00:00",
        "data": {"request_id": uuid.uuid4().hex[:16], **data},
    }
    return json.dumps({"events": [event]}).encode()


def _errors(resp) -> list[dict]:
    body = resp.json()
    assert body["type"] == problem_type("ValidationFailed")
    assert set(body) == {"type", "title", "status", "detail", "errors", "instance", "request_id"}
    return body["errors"]


@pytest.mark.parametrize("authorised", [True, False])
async def test_malformed_event_json_is_refused_before_the_token_check(client, service, authorised):
    headers = service if authorised else JSON
    resp = await client.post("/v1/events", content=b'{"events": [', headers=headers)
    assert resp.status_code == 422
    assert _errors(resp) == [
        {"loc": ["body", 12], "msg": "JSON decode error", "type": "json_invalid"}
    ]
    assert resp.json()["detail"] == "body.12: JSON decode error"


async def test_event_schema_errors_answer_after_the_token_check(client, service, tokens):
    body = b'{"events": [], "extra": 1}'
    assert (await client.post("/v1/events", content=body, headers=JSON)).status_code == 401
    officer = {**tokens.headers("officer"), **JSON}
    assert (await client.post("/v1/events", content=body, headers=officer)).status_code == 403
    resp = await client.post("/v1/events", content=body, headers=service)
    assert resp.status_code == 422
    assert _errors(resp) == [
        {
            "loc": ["body", "events"],
            "msg": "List should have at least 1 item after validation, not 0",
            "type": "too_short",
        },
        {
            "loc": ["body", "extra"],
            "msg": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        },
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "error"),
    [
        (None, _body(), {"loc": ["body"], "type": "model_attributes_type"}),
        ("text/plain", _body(), {"loc": ["body"], "type": "model_attributes_type"}),
        ("application/json", b"", {"loc": ["body"], "type": "missing"}),
        ("application/json", b"[]", {"loc": ["body"], "type": "model_attributes_type"}),
        ("application/json", b'{"events": "x"}', {"loc": ["body", "events"], "type": "list_type"}),
    ],
)
async def test_an_event_body_that_is_not_a_batch_is_refused_as_before(
    client, tokens, content_type, body, error
):
    headers = tokens.headers(Role.SERVICE)
    if content_type:
        headers["Content-Type"] = content_type
    resp = await client.post("/v1/events", content=body, headers=headers)
    assert resp.status_code == 422
    [got] = _errors(resp)
    assert {k: got[k] for k in error} == error


@pytest.mark.parametrize(
    "body",
    [
        _body(latency=float("nan")),  # NaN, as the standard library writes and reads it
        _body().replace(b'"data": {', b'"data": {"x": "\\ud800", '),
        b"\xef\xbb\xbf" + _body(),  # a UTF-8 byte order mark
        _body().decode().encode("utf-16"),
        _body(nested=json.loads("[" * 300 + "]" * 300)),  # deeper than pydantic-core goes
    ],
    ids=["nan", "lone-surrogate", "bom", "utf-16", "deep"],
)
async def test_json_the_standard_library_reads_is_still_accepted(client, service, body):
    resp = await client.post("/v1/events", content=body, headers=service)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"accepted": 1, "duplicates": 0, "rejected": 0}


@pytest.mark.parametrize(
    "body",
    [
        _body().replace(b'"gateway"', b'"gate\xffway"'),  # not UTF-8
        _body().replace(b'"data": {', b'"data": {"n": ' + b"9" * 5000 + b", "),  # over int digits
        _body().replace(b'"data": {', b'"data": {"n": ' + b"[" * 5000 + b"]" * 5000 + b", "),
    ],
    ids=["not-utf8", "huge-integer", "too-deep"],
)
async def test_an_undecodable_event_body_answers_400(client, service, body):
    resp = await client.post("/v1/events", content=body, headers=service)
    assert resp.status_code == 400
    assert resp.json()["type"] == problem_type("BadRequest")
    assert resp.json()["detail"] == "There was an error parsing the body"


async def test_event_intake_documents_its_body_as_an_event_batch(app):
    schema = app.openapi()
    operation = schema["paths"]["/v1/events"]["post"]
    assert operation["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventBatch"}}},
        "required": True,
    }
    assert "400" in operation["responses"]
    _, defs = models_json_schema(
        [(EventBatch, "validation")], ref_template="#/components/schemas/{model}"
    )
    components = schema["components"]["schemas"]
    assert components["EventBatch"] == defs["$defs"]["EventBatch"]
    # As FastAPI renders a body model: null defaults left out.
    event = {**defs["$defs"]["Event"]}
    event["properties"] = {
        name: {k: v for k, v in prop.items() if not (k == "default" and v is None)}
        for name, prop in event["properties"].items()
    }
    assert components["Event"] == event


def test_columnar_event_bodies_read_back_as_records():
    from alpr_common.events import from_columns

    records = [{"id": "a", "n": 1, "tags": ["x"]}, {"id": "b", "n": None, "tags": []}]
    columns = {field: [r[field] for r in records] for field in records[0]}
    assert from_columns(columns) == records
    assert from_columns({"id": [], "n": []}) == []
    assert from_columns(columns, rows=[1]) == records[1:]
    assert from_columns(columns, rows=[]) == []
    assert from_columns({"id": ["a", "b"], "n": [1]}, rows=[0]) is None
    for bad in (None, [], {}, {"id": "a"}, {"id": ["a", "b"], "n": [1]}, [["a"]]):
        assert from_columns(bad) is None, bad
