"""Who is calling: a verified JWT becomes a `Principal`; routes declare the roles they allow.

Routes use `Security(get_principal, scopes=[...roles])` through per-service `Annotated` aliases;
the scopes appear in each service's OpenAPI, which is where the gateway reads its route table.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes

from alpr_common.errors import Forbidden, Unauthorized
from alpr_common.jwt import TokenVerifier
from alpr_common.roles import Role

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/v1/access/token",
    scopes={r.value: f"role {r.value}" for r in Role},
    auto_error=False,
)


@dataclass(frozen=True)
class Principal:
    subject: str  # "user:<id>" or "client:<id>"
    kind: str  # "person" or "machine"
    name: str
    roles: frozenset[str]
    token_id: str = ""
    expires_at: datetime | None = None
    training_valid_until: datetime | None = None
    cameras: tuple[str, ...] = ()  # camera clients: the cameras they may post for
    agency_id: str | None = None  # agency clients: the agency they speak for
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        trn = claims.get("trn")
        return cls(
            subject=str(claims["sub"]),
            kind=str(claims.get("knd", "person")),
            name=str(claims.get("name", claims["sub"])),
            roles=frozenset(claims.get("roles", [])),
            token_id=str(claims.get("jti", "")),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            training_valid_until=datetime.fromtimestamp(int(trn), UTC) if trn else None,
            cameras=tuple(claims.get("cams", [])),
            agency_id=claims.get("agency"),
            claims=claims,
        )

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def user_id(self) -> str:
        return self.subject.split(":", 1)[1]


class LiveStatusCheck(Protocol):
    """`alpr_common.status.PrincipalStatusCheck`, as `get_principal` sees it."""

    async def admit(self, principal: Principal) -> Principal: ...


async def get_principal(
    security_scopes: SecurityScopes,
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    return await _admit(request, token, security_scopes.scopes)


async def authenticate(request: Request, roles: Collection[str]) -> Principal:
    """`get_principal` called without the framework (`alpr_common.direct`): the same checks."""
    return await _admit(request, await oauth2_scheme(request), roles)


async def _admit(request: Request, token: str | None, roles: Collection[str]) -> Principal:
    if not token:
        raise Unauthorized(
            "missing bearer token: send `Authorization: Bearer <token>`", credentials_sent=False
        )
    verifier: TokenVerifier = request.app.state.verifier
    principal = Principal.from_claims(await verifier.verify(token))
    # Defence in depth: the service checks the holder's live status itself, as the gateway
    # does (deactivation, removed roles, lapsed training, revoked tokens), with the same check.
    check: LiveStatusCheck | None = getattr(request.app.state, "principal_status", None)
    if check is not None:
        principal = await check.admit(principal)
    if roles and not principal.roles.intersection(roles):
        raise Forbidden(
            f"this route is for roles {', '.join(sorted(roles))}; "
            f"you hold {', '.join(sorted(principal.roles)) or 'none'}"
        )
    request.state.principal = principal
    return principal


def require(*roles: Role) -> Any:
    """`Annotated[Principal, require(Role.X, Role.Y)]`: any of the roles may call."""
    return Security(get_principal, scopes=[r.value for r in roles])


AnyPrincipal = Annotated[Principal, Security(get_principal)]
ServiceCaller = Annotated[Principal, require(Role.SERVICE)]


def principal_claims(
    *,
    subject: str,
    kind: str,
    name: str,
    roles: list[str] | frozenset[str],
    training_valid_until: datetime | None = None,
    cameras: list[str] | tuple[str, ...] = (),
    agency_id: str | None = None,
) -> dict[str, Any]:
    """The claims access puts in a token (and the test plugin mints): read by `from_claims`."""
    claims: dict[str, Any] = {"sub": subject, "knd": kind, "name": name, "roles": sorted(roles)}
    if training_valid_until is not None:
        claims["trn"] = int(training_valid_until.timestamp())
    if cameras:
        claims["cams"] = list(cameras)
    if agency_id is not None:
        claims["agency"] = agency_id
    return claims
