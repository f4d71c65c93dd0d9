"""OAuth2 tokens (`POST /v1/token`) and the public keys that verify them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel

from alpr_access import principals, tokens
from alpr_access.auth import Anyone
from alpr_access.deps import KeysDep, PasswordsDep, SettingsDep, SourceAddressDep
from alpr_access.errors import InvalidCredentials, MalformedBody
from alpr_access.schemas import TokenRequest, TokenResponse
from alpr_common.db import SessionDep
from alpr_common.errors import Unprocessable, responses

router = APIRouter(prefix="/v1")
jwks_router = APIRouter(tags=["tokens"])


class JWKSet(BaseModel):
    keys: list[dict[str, Any]]


@router.post(
    "/token",
    response_model=TokenResponse,
    tags=["tokens"],
    responses=responses(MalformedBody, InvalidCredentials),
)
async def issue_token(
    form: Annotated[TokenRequest, Form()],
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    keys: KeysDep,
    source_address: SourceAddressDep,
    response: Response,
) -> TokenResponse:
    """OAuth2 token: `password` (username, password, totp) for people, `client_credentials`."""
    response.headers["Cache-Control"] = "no-store"
    if form.grant_type == "password":
        if form.username is None or form.password is None:
            raise Unprocessable("grant_type=password needs username, password and totp")
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
    if form.client_id is None or form.client_secret is None:
        raise Unprocessable("grant_type=client_credentials needs client_id and client_secret")
    return await tokens.login_client(
        session,
        settings=settings,
        passwords=passwords,
        keys=keys,
        client_id=form.client_id,
        client_secret=form.client_secret,
        source_address=source_address,
    )


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
