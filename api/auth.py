"""API keys for /v1 and the OpenAPI schema: `Authorization: Bearer KEY` or `X-API-Key: KEY`.

Provider webhooks do not use this: SendGrid and Twilio cannot send our key, so they
prove themselves by signature (api/signatures.py)."""

import hmac

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

# auto_error off: a missing or malformed header must become our 401 (with
# WWW-Authenticate), not FastAPI's 403. Declared as security schemes so the OpenAPI
# schema tells clients how to authenticate.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key itself")

MISSING = "missing API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
INVALID = "invalid API key"


def key_problem(presented: str | None, accepted: list[str]) -> str | None:
    """Why `presented` is refused, or None when it is one of the accepted keys."""
    if not presented:
        return MISSING
    if not accepted:
        # Says nothing about any key; tells the operator what to set.
        return f"{INVALID}: the server has no API keys configured (DRIPSTONE_API_KEYS)"
    given = presented.encode()
    # Every key is compared, each in constant time, so neither the timing of a match
    # nor which key matched tells a caller anything about the keys.
    matched = False
    for key in accepted:
        matched |= hmac.compare_digest(given, key.encode())
    return None if matched else INVALID


def presented_key(request: Request) -> str | None:
    """The key in the request's headers, as the dependency reads it (also used by the
    validation error handler, which runs before dependencies for unparseable bodies)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-key") or None


def unauthorized(problem: str) -> HTTPException:
    return HTTPException(401, detail=problem, headers={"WWW-Authenticate": "Bearer"})


async def require_api_key(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    header_key: str | None = Depends(_header),
) -> None:
    """The dependency every /v1 route carries. With no keys configured every request is
    refused: an API open to anyone by default would be a trap."""
    presented = bearer.credentials if bearer else header_key
    problem = key_problem(presented, request.app.state.settings.api_keys)
    if problem is not None:
        raise unauthorized(problem)
