"""Who is asking, and may they: sessions, single sign-on behind a proxy, API tokens, CSRF, login limits.

Sessions are Starlette's signed cookies (itsdangerous, HMAC with the `[web] secret_env` secret)
that expire after `[web] session`; the user is looked up on every request, so a removed user is
out at once. A form carries the session's CSRF token; a POST without it is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.requests import Request

from listener.config import WebConfig
from listener.store import users as user_store
from listener.store.users import Principal

SECURITY_HEADERS = [
    (b"content-security-policy",
     (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware: every response, error pages included, gets the CSP and its companions
    (unless its handler set a policy of its own, as the answered-link pages do)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    message["headers"] = [*headers, *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class LoginRequired(Exception):
    """A page wants a signed-in user; the app answers with a redirect to /login."""


class Gate:
    """Resolves the principal of a request from the trusted proxy header, the session or a bearer token."""

    def __init__(self, config: WebConfig, engine: Engine, clock: Callable[[], datetime]):
        self.config = config
        self.engine = engine
        self.clock = clock
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in config.trusted_proxies]

    def from_proxy(self, request: Request) -> str | None:
        """The proxy's user name, only when the request really comes from a trusted proxy."""
        header = self.config.trusted_user_header
        if not header or request.client is None:
            return None
        try:
            address = ipaddress.ip_address(request.client.host)
        except ValueError:
            return None
        if not any(address in network for network in self.proxies):
            return None
        return request.headers.get(header) or None

    def person(self, request: Request) -> Principal | None:
        name = self.from_proxy(request) or request.session.get("user")
        if not name:
            return None
        with self.engine.connect() as conn:
            return user_store.principal(conn, name)

    def require_person(self, request: Request) -> Principal:
        who = self.person(request)
        if who is None:
            raise LoginRequired()
        return who

    def token(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "send Authorization: Bearer TOKEN (make one with `listener tokens add`)")
        with self.engine.begin() as conn:
            who = user_store.token_principal(conn, token.strip(), self.clock())
        if who is None:
            raise HTTPException(401, "unknown or revoked token")
        return who


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request):
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    sent = form.get("csrf", "")
    expected = request.session.get("csrf", "")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "this form has expired or did not come from this site; reload the page and try again")
    return form


class LoginLimiter:
    """Failed sign-ins per user name and per client address in a sliding window; past the limit,
    sign-in is refused without checking the password until old failures age out."""

    def __init__(self, clock: Callable[[], datetime], window: timedelta = timedelta(minutes=15),
                 per_name: int = 5, per_address: int = 20):
        self.clock, self.window, self.per_name, self.per_address = clock, window, per_name, per_address
        self.failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str) -> deque[datetime]:
        times = self.failures.setdefault(key, deque())
        cutoff = self.clock() - self.window
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def blocked(self, name: str, address: str) -> bool:
        return (len(self._recent("n:" + name.casefold())) >= self.per_name
                or len(self._recent("a:" + address)) >= self.per_address)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        self._recent("n:" + name.casefold()).append(now)
        self._recent("a:" + address).append(now)
        if len(self.failures) > 10_000:
            self.failures = {k: v for k, v in self.failures.items() if v}
