"""End to end, as an admin runs it: a config.toml with one source per platform, `listener poll`
as a real process against the loopback server, then `listener mentions --format json`."""

import json
import os
import subprocess
import sys

from conftest import write_config
from feedserver import Route

SECRETS = {"MASTODON_TOKEN": "m-t0k3n-e2e-secret", "REDDIT_CLIENT_ID": "r-1d-e2e-secret",
           "REDDIT_CLIENT_SECRET": "r-s3cr3t-e2e-secret", "YOUTUBE_API_KEY": "yt-k3y-e2e-secret"}


def serve_everything(server):
    server.add_json("/blog/wp-json/wp/v2/posts", "wordpress/wp_v2_posts_collection_wpcore.json")
    server.add_json("/blog/wp-json/wp/v2/comments", "wordpress/wp_v2_comments_collection_wpcore.json")
    server.add_json("/masto/api/v2/search", "mastodon/search_v2_mastodon_social_q-halcy.json")
    server.add_json("/masto/api/v1/statuses/116387872475672523", "mastodon/status_mastodon_social_110446183735368325.json")
    token = {"access_token": "r-access-e2e-secret", "token_type": "bearer", "expires_in": 86400, "scope": "*"}
    server.add("/reddit/token", Route(body=json.dumps(token).encode(), content_type="application/json", etag=False))
    server.add_json("/reddit/r/kakapo/new", "reddit/comments_2gmzqe.json")
    server.add_json("/reddit/r/kakapo/comments", "reddit/r_kakapo_comments_limit100.json")
    server.add_json("/hn/search_by_date", "hackernews/algolia_search_restrictSearchableAttributes-url.json")
    server.add_fixture("/yt/feeds/videos.xml", "youtube/youtube_channel_feeddeck.atom.xml")
    server.add_json("/yt/api/commentThreads", "youtube/commentThreads_page1_written.json")
    server.add_fixture("/alert", "atom/google_alerts_slack.atom.xml", content_type="application/atom+xml")


def test_several_platforms_polled_and_listed_with_threads_and_authors(tmp_path, server, db_url):
    serve_everything(server)
    base = server.base
    path = write_config(tmp_path, f"""
[[sources]]
name = "blog"
connector = "wordpress"
url = "{base}/blog"

[[sources]]
name = "mastodon"
connector = "mastodon"
url = "{base}/masto"
query = "halcy"
token_env = "MASTODON_TOKEN"

[[sources]]
name = "reddit"
connector = "reddit"
url = "{base}/reddit"
token_url = "{base}/reddit/token"
subreddits = ["kakapo"]
client_id_env = "REDDIT_CLIENT_ID"
client_secret_env = "REDDIT_CLIENT_SECRET"

[[sources]]
name = "hn"
connector = "hackernews"
url = "{base}/hn"
query = "ssh"

[[sources]]
name = "youtube"
connector = "youtube"
url = "{base}/yt"
api_url = "{base}/yt/api"
channel_id = "UC5NOEUbkLheQcaaRldYW5GA"
api_key_env = "YOUTUBE_API_KEY"

[[sources]]
name = "alert"
connector = "rss"
url = "{base}/alert"
unwrap_redirects = true
""", db_url)
    env = {**os.environ, **SECRETS, "LISTENER_CONFIG": str(path)}

    def listener(*args):
        return subprocess.run([sys.executable, "-m", "listener", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    polled = listener("poll")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    listed = listener("mentions", "--format", "json", "--limit", "1000")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    by_platform = {}
    for row in rows:
        by_platform.setdefault(row["platform"], []).append(row)
    assert {"wordpress", "mastodon", "reddit", "hackernews", "youtube"} <= set(by_platform)

    wp_comment = next(r for r in by_platform["wordpress"] if r["in_reply_to"])
    assert wp_comment["in_reply_to"] == "http://example.org/?p=4" and wp_comment["author"]
    jo = next(r for r in by_platform["mastodon"] if r["author_handle"] == "@Jo@social.sublingual.xyz")
    assert jo["in_reply_to"] == "https://mastodon.social/users/halcy/statuses/110446183735368325"
    reply = next(r for r in by_platform["reddit"] if r["url"].endswith("/dgauydy/"))
    assert reply["in_reply_to"] == "t1_dg7dqfd" and reply["author_handle"] == "butt_woman"
    assert all(r["author"] for r in by_platform["hackernews"])
    yt_reply = next(r for r in by_platform["youtube"] if (r["in_reply_to"] or "").startswith("yt:comment:"))
    assert yt_reply["author_handle"] == "@tagesschau"
    alerts = [r for r in rows if r["source"] == "alert"]
    assert alerts and not any("google.com/url" in r["url"] for r in alerts)

    everything = polled.stdout + polled.stderr + listed.stdout + listed.stderr
    for value in (*SECRETS.values(), "r-access-e2e-secret"):
        assert value not in everything
