"""API-key dependencies: who is calling, whether the key holds the route's scope, and its rate budget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.serving.access import AccessControl, Caller
from service.serving.ratelimit import RateLimiter
from service.store.keys import Scope

# auto_error off: the access check words the 401 itself (and open mode needs no header at all).
bearer = HTTPBearer(auto_error=False, description="An API key from `goal-rewriter keys create`.")


async def identify(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """The caller behind the request's key; 401 without a valid one (unless no key exists yet)."""
    access: AccessControl = request.app.state.access
    return await access.caller(
        authorization=request.headers.get("authorization"),
        client_host=request.client.host if request.client else None,
    )


async def spend(request: Request, caller: Caller, units: int) -> None:
    """Take `units` from a keyed caller's rate budget (429 when spent); open mode has no budget."""
    limiter: RateLimiter = request.app.state.limiter
    if caller.keyed:
        await limiter.take(caller.name, units)


def scoped(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency that admits callers holding `scope` and charges one request to their budget."""

    async def dependency(request: Request, caller: Annotated[Caller, Depends(identify)]) -> Caller:
        caller.require(scope)
        await spend(request, caller, 1)
        return caller

    return dependency


CallerDep = Annotated[Caller, Depends(identify)]
ClassifyCaller = Annotated[Caller, Depends(scoped(Scope.CLASSIFY))]
RewriteCaller = Annotated[Caller, Depends(scoped(Scope.REWRITE))]
FeedbackCaller = Annotated[Caller, Depends(scoped(Scope.FEEDBACK))]
AdminCaller = Annotated[Caller, Depends(scoped(Scope.ADMIN))]
