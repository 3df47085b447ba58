"""Microsoft Teams: an Adaptive Card posted to a Workflows (Power Automate) webhook."""

from __future__ import annotations

from collections.abc import Sequence

from listener.alerts.render import card, markdown_escape, unlink
from listener.alerts.sink import HttpSink
from listener.store.routing import Pending


def teams_payload(alerts: Sequence[Pending]) -> dict:
    """TextBlocks render a Markdown subset, so mention text is Markdown-escaped and its links
    and @ defused; the original is offered only as an Action.OpenUrl button."""
    body: list[dict] = []
    actions: list[dict] = []
    if len(alerts) > 1:
        body.append({"type": "TextBlock", "text": f"Digest: {len(alerts)} mentions", "size": "Large", "weight": "Bolder"})
    for alert in alerts:
        c = card(alert)
        body.append({"type": "TextBlock", "text": markdown_escape(unlink(c.headline)), "weight": "Bolder", "wrap": True,
                     "separator": True})
        body.append({"type": "FactSet", "facts": [{"title": k, "value": markdown_escape(unlink(v))} for k, v in c.facts]})
        if c.text:
            body.append({"type": "TextBlock", "text": markdown_escape(unlink(c.text)), "wrap": True})
        links = [{"type": "Action.OpenUrl", "title": title, "url": url}
                 for title, url in (("Open the original", c.url), ("Mark as answered", c.answered_url)) if url]
        if links:
            if len(alerts) == 1:
                actions += links
            else:
                body.append({"type": "ActionSet", "actions": links})
    content = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
               "version": "1.4", "body": body, **({"actions": actions} if actions else {})}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
    ]}


class TeamsSink(HttpSink):
    async def send(self, alerts: Sequence[Pending]) -> None:
        await self.post_json(teams_payload(alerts))
