"""The "answered" link in every alert: a signed, expiring token for one (mention, department).

``GET /answered/{token}`` only shows the mention and a button, because mail scanners fetch every
link in a message; ``POST`` records the response (via ``link``) unless the mention already has
one, so a second click records nothing. The token is the payload and an HMAC-SHA256 of it under
the installation's secret: whoever holds the link may mark that one mention answered, nothing more.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from listener.alerts.render import safe_url
from listener.config import Config
from listener.responses import UnknownMention, record_response
from listener.secrets import secret
from listener.store.routing import load_mentions
from listener.web.templates import page

LIFETIME = timedelta(days=30)
MAX_FORM = 4096
_CONTEXT = b"listener answered link v1\x00"


class BadLink(Exception):
    """The token was not made with this installation's secret, or was altered."""


class ExpiredLink(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Claim:
    mention_id: int
    department: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), _CONTEXT + payload.encode(), hashlib.sha256).digest())


def sign(key: str, mention_id: int, department: str, now: datetime, lifetime: timedelta = LIFETIME) -> str:
    payload = _b64(json.dumps([mention_id, department, int((now + lifetime).timestamp())],
                              separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_mac(key, payload)}"


def verify(key: str, token: str, now: datetime) -> Claim:
    """The claim a token makes, if this installation signed it and it has not expired."""
    payload, _, mac = token.partition(".")
    if not payload or not hmac.compare_digest(mac.encode(), _mac(key, payload).encode()):
        raise BadLink
    try:
        mention_id, department, expires = json.loads(_unb64(payload))
        claim = Claim(int(mention_id), str(department), datetime.fromtimestamp(int(expires), UTC))
    except (ValueError, TypeError, binascii.Error):
        raise BadLink from None
    if claim.expires <= now:
        raise ExpiredLink
    return claim


class Links:
    """Makes the links alerts carry; None from ``of`` when no secret is configured."""

    def __init__(self, key: str, base_url: str):
        self.key = key
        self.base_url = base_url

    @classmethod
    def of(cls, config: Config) -> Links | None:
        key = secret(config.web.secret_env)
        return cls(key, config.web.base_url) if key else None

    def url(self, mention_id: int, department: str, now: datetime) -> str:
        return f"{self.base_url}/answered/{sign(self.key, mention_id, department, now)}"


def _claim(request: Request):
    """(context, claim) or the error page to answer with."""
    web = request.app.state.web
    key = web.secret
    if not key:
        return web, page("answered.html", 503, problem=True, heading="Links are switched off",
                         message="This listener has no secret to check links with ([web] secret_env).")
    try:
        return web, verify(key, request.path_params["token"], web.clock())
    except ExpiredLink:
        return web, page("answered.html", 410, problem=True, heading="This link has expired",
                         message="Answered links work for 30 days. Record the response with "
                                 "`listener respond MENTION_ID` instead.")
    except BadLink:
        return web, page("answered.html", 403, problem=True, heading="This link is not valid",
                         message="It was changed, cut short, or made by another listener. "
                                 "Open the link from the alert again, whole.")


def _shown(conn, claim: Claim) -> dict | None:
    stored = load_mentions(conn, ids=[claim.mention_id])
    if not stored:
        return None
    m = stored[0].mention
    author = " ".join(x for x in (m.author.name, f"({m.author.handle})" if m.author.handle else "") if x)
    return {"source": m.source, "platform": m.platform, "author": author, "title": m.title[:300],
            "text": m.text[:2000], "url": safe_url(m.url), "published": f"{m.published_at:%Y-%m-%d %H:%M} UTC"}


def _answered(first) -> str:
    by = f" by {first.by}" if first.by else ""
    return f"It was answered at {first.responded_at:%Y-%m-%d %H:%M} UTC{by} ({first.via}); nothing was recorded now."


async def confirm(request: Request) -> Response:
    """The confirmation page. It records nothing, whoever or whatever fetches it."""
    from listener.store import responses as response_store

    web, claim = _claim(request)
    if not isinstance(claim, Claim):
        return claim
    with web.engine.connect() as conn:
        shown = _shown(conn, claim)
        first = response_store.first(conn, claim.mention_id) if shown else None
    if shown is None:
        return page("answered.html", 404, problem=True, heading="No such mention",
                    message="It may have been deleted from the database.")
    if first is not None:
        return page("answered.html", heading="Already answered", message=_answered(first), mention=shown,
                    department=claim.department)
    return page("answered.html", heading="Mark this mention as answered?", mention=shown,
                department=claim.department, ask=True)


async def record(request: Request) -> Response:
    web, claim = _claim(request)
    if not isinstance(claim, Claim):
        return claim
    body = (await request.body())[:MAX_FORM].decode("utf-8", "replace")
    by = " ".join(parse_qs(body).get("by", [""])[0].split())[:200]
    now = web.clock()
    try:
        with web.engine.begin() as conn:
            recorded = record_response(conn, web.config, claim.mention_id, at=now, by=by, via="link", once=True,
                                       now=now)
            shown = _shown(conn, claim)
    except UnknownMention:
        return page("answered.html", 404, problem=True, heading="No such mention",
                    message="It may have been deleted from the database.")
    if recorded.response_id is None:
        return page("answered.html", heading="Already answered", message=_answered(recorded.previous),
                    mention=shown, department=claim.department)
    return page("answered.html", heading="Recorded: answered", mention=shown, department=claim.department,
                message=f"Thank you. The response was recorded at {now:%Y-%m-%d %H:%M} UTC.")
