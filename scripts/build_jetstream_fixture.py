"""Build tests/fixtures/bluesky/jetstream_posts.jsonl: Jetstream frames around recorded posts.

No recording of Jetstream itself is among the shared fixtures, but the recorded searchPosts and
getAuthorFeed responses hold real ``app.bsky.feed.post`` records. Jetstream delivers exactly those
records, wrapped in an envelope (did, time_us, kind, commit{operation, collection, rkey, record,
cid}) as documented in the bluesky-social/jetstream README. This script wraps each recorded record,
unchanged, in that envelope, in the order the AppView indexed them (``time_us`` is ``indexedAt`` in
microseconds), and adds what a live stream also carries: an identity event (the recorded author's
handle), an account event, and the deletion of one post. The envelope's ``rev`` is left out: no
recording has it and nothing reads it.

    python scripts/build_jetstream_fixture.py
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "bluesky"


def micros(iso: str) -> int:
    when = datetime.fromisoformat(iso)
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def commit(post: dict) -> dict:
    did, _, rkey = post["uri"].removeprefix("at://").split("/")
    return {
        "did": did,
        "time_us": micros(post["indexedAt"]),
        "kind": "commit",
        "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
                   "record": post["record"], "cid": post["cid"]},
    }


def main() -> None:
    search = json.loads((HERE / "searchPosts_q-redistricting.json").read_text())["posts"]
    feed = [entry["post"] for entry in json.loads((HERE / "getAuthorFeed_chriskenny.json").read_text())["feed"]]
    posts = {post["uri"]: post for post in feed + search}
    events = sorted((commit(p) for p in posts.values()), key=lambda e: e["time_us"])
    author = feed[0]["author"]
    first = events[0]["time_us"]
    events.insert(1, {"did": author["did"], "time_us": first + 1, "kind": "identity",
                      "identity": {"did": author["did"], "handle": author["handle"], "seq": 1}})
    events.insert(2, {"did": author["did"], "time_us": first + 2, "kind": "account",
                      "account": {"active": True, "did": author["did"], "seq": 2}})
    gone = events[5]
    events.append({"did": gone["did"], "time_us": events[-1]["time_us"] + 1, "kind": "commit",
                   "commit": {"operation": "delete", "collection": "app.bsky.feed.post",
                              "rkey": gone["commit"]["rkey"]}})
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events]
    (HERE / "jetstream_posts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} frames")


if __name__ == "__main__":
    main()
