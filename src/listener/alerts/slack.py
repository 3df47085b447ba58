"""Slack incoming webhooks (Block Kit) and Mattermost (its Slack-compatible attachments)."""

from __future__ import annotations

from collections.abc import Sequence

from listener.alerts.render import card, markdown_escape, slack_escape, trim, unlink
from listener.alerts.sink import HttpSink
from listener.store.routing import Pending

MAX_BLOCKS = 50


def slack_payload(alerts: Sequence[Pending]) -> dict:
    """Mention text goes in plain_text objects, which Slack never parses for mentions or links;
    the notification fallback (``text``) is mrkdwn, so it is escaped by Slack's rule."""
    blocks: list[dict] = []
    if len(alerts) > 1:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": f"Digest: {len(alerts)} mentions"}})
    for alert in alerts:
        c = card(alert)
        if len(blocks) + 4 > MAX_BLOCKS:
            break
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": trim(c.headline, 150)}})
        blocks.append({"type": "section", "fields": [
            {"type": "plain_text", "text": trim(f"{k}: {v}", 150)} for k, v in c.facts
        ]})
        if c.text:
            blocks.append({"type": "section", "text": {"type": "plain_text", "text": unlink(c.text)}})
        buttons = [(text, url) for text, url in (("Open the original", c.url), ("Mark as answered", c.answered_url)) if url]
        if buttons:
            blocks.append({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": text}, "url": url} for text, url in buttons
            ]})
    fallback = card(alerts[0]).headline if len(alerts) == 1 else f"Digest: {len(alerts)} mentions"
    return {"text": slack_escape(unlink(fallback)), "blocks": blocks}


def mattermost_payload(alerts: Sequence[Pending]) -> dict:
    """Mattermost renders attachment text as Markdown and pings @channel, @here and @names:
    everything from the mention is Markdown-escaped and its @ defused."""
    attachments = []
    for alert in alerts:
        c = card(alert)
        attachments.append({
            "fallback": markdown_escape(unlink(c.headline)),
            "color": {"criticism": "#d0342c", "praise": "#2e8540"}.get(alert.mention["label"] or "", "#8a8a8a"),
            "title": markdown_escape(unlink(c.headline)),
            **({"title_link": c.url} if c.url else {}),
            "text": markdown_escape(unlink(c.text)),
            "fields": [{"short": True, "title": k, "value": markdown_escape(unlink(v))} for k, v in c.facts]
            + ([{"short": False, "title": "Answered?", "value": f"[Mark as answered]({c.answered_url})"}]
               if c.answered_url else []),
        })
    text = f"Digest: {len(alerts)} mentions" if len(alerts) > 1 else ""
    return {"text": text, "attachments": attachments}


class SlackSink(HttpSink):
    payload = staticmethod(slack_payload)

    async def send(self, alerts: Sequence[Pending]) -> None:
        await self.post_json(self.payload(alerts))


class MattermostSink(SlackSink):
    payload = staticmethod(mattermost_payload)
