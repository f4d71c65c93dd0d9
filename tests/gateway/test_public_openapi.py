"""The gateway's public API document (`/openapi.json`): the services' documents merged under the
public paths, lint-clean, and `/docs` and `/redoc` from vendored assets (issue 18)."""

from __future__ import annotations

import copy
import re

import httpx
import pytest

from alpr_common.apidocs import ASSETS_URL
from alpr_common.errors import Unavailable
from alpr_gateway.openapi import PublicDocument, merge
from alpr_gateway.routes import SERVICES
from tests.helpers.openapi import lint, service_documents


@pytest.fixture(scope="module")
def documents():
    return service_documents()


@pytest.fixture(scope="module")
def merged(documents):
    return merge(documents)


def test_merged_document_of_the_real_services_lints_clean(merged):
    assert lint(merged) == []


def test_every_public_route_is_in_the_document_and_no_internal_one(documents, merged):
    for service, doc in documents.items():
        for path, item in doc["paths"].items():
            public = f"/v1/{service}/{path.removeprefix('/v1/')}"
            if path.startswith("/.well-known/"):
                public = f"/v1/{service}{path}"
            for method, op in item.items():
                roles = {s for req in op.get("security", []) for v in req.values() for s in v}
                if roles == {"service"}:
                    assert method not in merged["paths"].get(public, {}), public
                else:
                    assert merged["paths"][public][method]["operationId"] == (
                        f"{service}_{op['operationId']}"
                    )
    assert "ingest_search_reads" in _ids(merged) and "/v1/hotlist/events" not in merged["paths"]


def test_operation_shows_roles_purpose_and_all_ways_in(merged):
    search = merged["paths"]["/v1/ingest/reads"]["get"]
    assert search["x-alpr-roles"] == ["investigator", "rtcc_operator", "supervisor"]
    assert search["x-alpr-purpose"] is True
    assert "X-ALPR-Purpose" in search["description"]
    post = merged["paths"]["/v1/ingest/reads"]["post"]
    assert {k for req in post["security"] for k in req} == {
        "clientCredentials",
        "bearerToken",
        "ingestKey",
        "ingestKeyBasic",
    }
    schemes = merged["components"]["securitySchemes"]
    assert schemes["password"]["flows"]["password"]["tokenUrl"] == "/v1/access/token"
    assert "totp" in schemes["password"]["description"]
    assert "clientCredentials" in schemes["clientCredentials"]["flows"]
    assert schemes["ingestKey"] == {
        **schemes["ingestKey"],
        "in": "header",
        "name": "X-ALPR-Ingest-Key",
    }
    assert schemes["ingestKeyBasic"]["scheme"] == "basic"
    token = merged["paths"]["/v1/access/token"]["post"]
    assert token["security"] == [] and "totp" in str(
        merged["components"]["schemas"]["TokenRequest"]
    )


def test_components_that_differ_are_prefixed_and_equal_ones_shared():
    def doc(service_schema, shared):
        return {
            "paths": {
                "/v1/things": {
                    "get": {
                        "operationId": "list_things",
                        "description": "Things.",
                        "tags": ["things"],
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/Thing"}
                                    }
                                },
                            }
                        },
                    }
                }
            },
            "components": {
                "schemas": {
                    "Thing": {
                        "title": "Thing",
                        "type": "object",
                        "properties": {
                            "part": {"$ref": "#/components/schemas/Part"},
                            "error": {"$ref": "#/components/schemas/Shared"},
                        },
                    },
                    "Part": service_schema,
                    "Shared": shared,
                    "Unused": {"type": "string"},
                }
            },
        }

    shared = {"title": "Shared", "type": "string"}
    out = merge(
        {
            "ingest": doc({"title": "Part", "type": "integer"}, shared),
            "audit": doc({"title": "Part", "type": "string"}, shared),
        }
    )
    schemas = out["components"]["schemas"]
    # Part differs, so both Parts and both Things (which refer to them) take the prefix.
    assert set(schemas) == {"IngestPart", "AuditPart", "IngestThing", "AuditThing", "Shared"}
    assert schemas["IngestThing"]["properties"]["part"] == {
        "$ref": "#/components/schemas/IngestPart"
    }
    assert schemas["AuditPart"]["title"] == "AuditPart"
    ref = out["paths"]["/v1/audit/things"]["get"]["responses"]["200"]["content"]
    assert ref["application/json"]["schema"] == {"$ref": "#/components/schemas/AuditThing"}


def test_lint_finds_what_is_wrong(merged):
    broken = copy.deepcopy(merged)
    search = broken["paths"]["/v1/ingest/reads"]["get"]
    search["operationId"] = "search_reads_v1_reads_get"
    search["security"] = [{"password": ["investigator"]}]
    post = broken["paths"]["/v1/ingest/reads"]["post"]
    post["requestBody"]["content"]["application/json"]["examples"]["two reads"]["value"] = {
        "reads": []
    }
    problems = "\n".join(lint(broken))
    assert "operationId 'search_reads_v1_reads_get'" in problems
    assert "differ from roles" in problems
    assert "body example 'two reads'" in problems
    assert "main operation ingest_search_reads missing" in problems


def test_document_waits_for_every_service_and_follows_their_changes(documents):
    public = PublicDocument(SERVICES, public_url="https://alpr.example.org")
    for name in list(SERVICES)[:-1]:
        public.load(name, documents[name])
    with pytest.raises(Unavailable):
        public.document()
    last = list(SERVICES)[-1]
    public.load(last, documents[last])
    first = public.document()
    assert first["servers"] == [
        {"url": "https://alpr.example.org", "description": "the ALPR gateway"}
    ]
    assert public.document() is first  # cached until a document changes
    changed = copy.deepcopy(documents["ingest"])
    changed["paths"]["/v1/reads"]["get"]["description"] = "Search, refreshed."
    public.load("ingest", changed)
    assert public.document()["paths"]["/v1/ingest/reads"]["get"]["description"].startswith(
        "Search, refreshed."
    )


async def test_gateway_serves_the_merged_document(client):
    r = await client.get("/openapi.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    # The stand-in services of tests/gateway: their search and post, under public paths.
    assert {"get", "post"} <= set(doc["paths"]["/v1/ingest/reads"])
    assert doc["paths"]["/v1/ingest/reads"]["get"]["x-alpr-purpose"] is True
    assert "/v1/ingest/events" not in doc["paths"]
    assert "ingestKey" in doc["components"]["securitySchemes"]


_ASSET = re.compile(r"""(?:src|href)=["']?([^"' >]+)""")


async def _pages_load_nothing_from_outside(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200, page
        urls = _ASSET.findall(r.text)
        assert urls and not re.search(r"https?://|//", r.text.replace("http://www.w3.org", "")), (
            page,
            urls,
        )
        for url in urls:
            assert url.startswith(ASSETS_URL), url
            asset = await client.get(url)
            assert asset.status_code == 200 and len(asset.content) > 1000, url


async def test_gateway_docs_load_nothing_from_a_cdn(client):
    await _pages_load_nothing_from_outside(client)


@pytest.mark.parametrize("service", ["access", "ingest", "hotlist", "sharing", "audit"])
async def test_service_docs_load_nothing_from_a_cdn(service, tmp_path):
    import importlib

    spec = importlib.import_module(f"alpr_{service}.main").SPEC
    extra = (
        {"image_dir": tmp_path / "i", "export_dir": tmp_path / "e"} if service == "ingest" else {}
    )
    app = spec.app_factory(
        spec.settings_cls(
            environment="test",
            run_relay=False,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            **extra,
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await _pages_load_nothing_from_outside(c)


def _ids(doc):
    return {
        op["operationId"]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
