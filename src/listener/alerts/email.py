"""E-mail over SMTP: STARTTLS or SSL, a plain-text and an HTML part, a stable Message-ID.

The Message-ID is made from the delivery id, so a resend after a crash is recognisable as the
same message; a digest's id is made from the delivery ids it carries.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from listener.alerts.render import card, header_safe, unlink
from listener.alerts.sink import DeliveryError, required_secret
from listener.config import SinkConfig
from listener.store.routing import Pending


def message(alerts: Sequence[Pending], sender: str, recipients: Sequence[str]) -> EmailMessage:
    cards = [card(a) for a in alerts]
    single = len(alerts) == 1
    msg = EmailMessage()
    msg["Subject"] = header_safe(cards[0].headline if single else f"listener digest for {alerts[0].department}: {len(alerts)} mentions")
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    domain = sender.rpartition("@")[2] or "listener.invalid"
    key = alerts[0].delivery_id if single else hashlib.sha256(",".join(sorted(a.delivery_id for a in alerts)).encode()).hexdigest()[:32]
    msg["Message-ID"] = f"<{key}@{header_safe(domain, 100)}>"
    msg["X-Listener-Delivery"] = key
    msg.set_content("\n\n".join(_plain(c) for c in cards))
    msg.add_alternative(_html(cards), subtype="html")
    return msg


def _plain(c) -> str:
    lines = [c.headline, ""] + [f"{k}: {v}" for k, v in c.facts] + ["", unlink(c.text), ""]
    if c.url:
        lines.append(f"Original: {c.url}")
    if c.answered_url:
        lines.append(f"Mark as answered: {c.answered_url}")
    return "\n".join(lines)


def _html(cards) -> str:
    parts = ["<!doctype html><html><body style=\"font-family:sans-serif\">"]
    for c in cards:
        e = html.escape
        parts.append(f"<h3>{e(c.headline)}</h3><table>")
        parts += [f"<tr><th align=\"left\">{e(k)}</th><td>{e(v)}</td></tr>" for k, v in c.facts]
        parts.append(f"</table><p style=\"white-space:pre-wrap\">{e(unlink(c.text))}</p>")
        if c.url:
            parts.append(f"<p><a href=\"{e(c.url, quote=True)}\">Open the original</a></p>")
        if c.answered_url:
            parts.append(f"<p><a href=\"{e(c.answered_url, quote=True)}\">Mark as answered</a></p>")
        parts.append("<hr>")
    parts.append("</body></html>")
    return "".join(parts)


class EmailSink:
    def __init__(self, config: SinkConfig):
        self.name = config.name
        self.config = config
        url = urlsplit(config.smtp)
        self.host = url.hostname or "localhost"
        self.ssl = config.tls == "ssl" or url.scheme == "smtps"
        self.port = url.port or (465 if self.ssl else 587 if config.tls == "starttls" else 25)
        self.user = unquote(url.username) if url.username else None

    async def send(self, alerts: Sequence[Pending]) -> None:
        await self.send_message(message(alerts, self.config.from_, self.config.to))

    async def send_message(self, msg: EmailMessage) -> None:
        """Any message (an alert, a scheduled report) through this sink's SMTP settings."""
        await asyncio.to_thread(self._send, msg)

    def _send(self, msg: EmailMessage) -> None:
        timeout = self.config.timeout.total_seconds()
        what = f"sink {self.name}: SMTP {self.host}:{self.port}"
        try:
            if self.ssl:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=timeout)
            with client:
                if self.config.tls == "starttls" and not self.ssl:
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, required_secret(self.config.password_env, f"sink {self.name}"))
                client.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"{what}: {exc.smtp_code} {exc.smtp_error.decode(errors='replace')[:200]}",
                                permanent=permanent) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from None
