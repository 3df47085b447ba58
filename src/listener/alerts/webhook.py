"""A generic JSON webhook, signed with HMAC-SHA256 when the sink has a secret.

Receivers verify ``X-Listener-Signature: sha256=HEX`` as HMAC(secret, timestamp + "." + body)
with the ``X-Listener-Timestamp`` header, and drop repeats by ``X-Listener-Delivery``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence

from listener.alerts.sink import HttpSink, post, required_secret
from listener.store.routing import Pending


def body(alert: Pending) -> dict:
    m = alert.mention
    return {
        "delivery_id": alert.delivery_id,
        "kind": alert.kind,
        "department": alert.department,
        "priority": alert.priority,
        "rule": alert.rule,
        "mention": {
            "id": m["id"], "url": m["url"], "title": m["title"], "text": m["text"], "author": m["author"],
            "source": m["source"], "platform": m["platform"], "lang": m["lang"], "label": m["label"],
            "published_at": m["published_at"].isoformat().replace("+00:00", "Z") if m["published_at"] else None,
        },
        "answered_url": alert.answered_url,
        **({"escalation": alert.notice} if alert.kind == "escalation" else {}),
    }


def sign(secret_value: str, timestamp: str, content: bytes) -> str:
    digest = hmac.new(secret_value.encode(), timestamp.encode() + b"." + content, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSink(HttpSink):
    async def send(self, alerts: Sequence[Pending]) -> None:
        url = self.url()
        key = required_secret(self.config.secret_env, f"sink {self.name}") if self.config.secret_env else None
        for alert in alerts:
            content = json.dumps(body(alert), ensure_ascii=False).encode()
            timestamp = str(int(time.time()))
            headers = {"X-Listener-Delivery": alert.delivery_id, "X-Listener-Timestamp": timestamp}
            if key:
                headers["X-Listener-Signature"] = sign(key, timestamp, content)
            await post(self.http, url, content, headers, f"sink {self.name}", self.config.timeout.total_seconds())
