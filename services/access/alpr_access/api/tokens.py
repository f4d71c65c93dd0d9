"""OAuth2 tokens (`POST /v1/token`) and the public keys that verify them.

The token endpoint answers errors as RFC 6749 section 5.2 asks (`invalid_request`,
`invalid_grant`, `invalid_client`, `unsupported_grant_type` in `error`, inside the problem
document every route answers with), and takes client credentials in the form or as HTTP basic
(RFC 6749 section 2.3.1)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from alpr_access import principals, tokens
from alpr_access.auth import Anyone
from alpr_access.deps import KeysDep, PasswordsDep, SettingsDep, SourceAddressDep
from alpr_access.errors import ClientRefused, GrantRefused
from alpr_access.schemas import TokenRequest, TokenResponse
from alpr_common.app import validation_problem
from alpr_common.db import SessionDep
from alpr_common.errors import (
    OAuthInvalidRequest,
    OAuthUnsupportedGrantType,
    responses,
)


class TokenRoute(APIRoute):
    """RFC 6749 5.2: a token request FastAPI cannot validate is `invalid_request` (or
    `unsupported_grant_type`) with status 400, not the 422 of every other route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = exc.errors()
                if any(
                    list(e.get("loc", ())) == ["body", "grant_type"]
                    and e.get("type") == "literal_error"
                    for e in errors
                ):
                    raise OAuthUnsupportedGrantType(
                        "grant_type must be `password` or `client_credentials`"
                    ) from None
                problem = validation_problem(errors)
                raise OAuthInvalidRequest(
                    problem["detail"], extra={"errors": problem["errors"]}
                ) from None
            except StarletteHTTPException as exc:
                if exc.status_code != 400:
                    raise
                raise OAuthInvalidRequest(
                    "the form cannot be decoded: send application/x-www-form-urlencoded UTF-8"
                ) from None

        return route


router = APIRouter(prefix="/v1")
token_router = APIRouter(route_class=TokenRoute)
jwks_router = APIRouter(tags=["tokens"])


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """The client id and secret of HTTP basic (RFC 6749 2.3.1: each form-urlencoded first)."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthInvalidRequest("the token endpoint takes HTTP basic client authentication only")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthInvalidRequest("malformed HTTP basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthInvalidRequest("HTTP basic credentials need `client_id:client_secret`")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


class JWKSet(BaseModel):
    keys: list[dict[str, Any]]


@token_router.post(
    "/token",
    response_model=TokenResponse,
    tags=["tokens"],
    responses=responses(
        OAuthInvalidRequest, OAuthUnsupportedGrantType, GrantRefused, ClientRefused
    ),
)
async def issue_token(
    form: Annotated[TokenRequest, Form()],
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    keys: KeysDep,
    source_address: SourceAddressDep,
    response: Response,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenResponse:
    """OAuth2 token: `password` (username, password, totp) for people, `client_credentials`
    (in the form, or as HTTP basic) for machines."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if form.grant_type == "password":
        if form.username is None or form.password is None:
            raise OAuthInvalidRequest("grant_type=password needs username, password and totp")
        return await tokens.login_person(
            session,
            settings=settings,
            passwords=passwords,
            keys=keys,
            username=form.username,
            password=form.password,
            totp=form.totp,
            source_address=source_address,
        )
    basic = _basic_credentials(authorization)
    if basic is not None and form.client_secret is not None:
        raise OAuthInvalidRequest("send the client secret once: in the form or as HTTP basic")
    if basic is not None:
        if form.client_id is not None and form.client_id != basic[0]:
            raise OAuthInvalidRequest("client_id differs from the HTTP basic user")
        client_id, client_secret = basic
    elif form.client_id is None or form.client_secret is None:
        raise OAuthInvalidRequest(
            "grant_type=client_credentials needs client_id and client_secret (or HTTP basic)"
        )
    else:
        client_id, client_secret = form.client_id, form.client_secret
    return await tokens.login_client(
        session,
        settings=settings,
        passwords=passwords,
        keys=keys,
        client_id=client_id,
        client_secret=client_secret,
        source_address=source_address,
    )


router.include_router(token_router)


@router.post("/sign-out", status_code=204, tags=["tokens"])
async def sign_out(principal: Anyone, session: SessionDep) -> None:
    """Revoke the token this request carries: the gateway and every service refuse it within
    seconds. Any principal may sign out its own token."""
    await principals.sign_out(session, principal=principal)


@jwks_router.get("/.well-known/jwks.json", response_model=JWKSet)
async def jwks(keys: KeysDep, response: Response) -> JWKSet:
    """The public keys that verify access tokens, old ones included until their tokens expire."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return JWKSet(keys=keys.jwks()["keys"])
