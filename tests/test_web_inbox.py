"""The web inbox through Starlette's TestClient: every route, the role × department matrix,
sessions, CSRF, the login limit and hostile text."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from website import NOW, PASSWORD, Site, csrf_of, login

from listener.store.tables import (
    human_labels,
    mention_routes,
    mentions,
    notes,
    responses,
)
from listener.web.app import build_app


def post(client: TestClient, path: str, **data):
    page = client.get(path.rsplit("/", 1)[0]) if path.startswith("/mentions/") else client.get("/")
    return client.post(path, data={"csrf": csrf_of(page.text), **data})


@pytest.mark.postgres
def test_inbox_and_actions_on_postgresql(tmp_path, pg_url):
    s = Site(tmp_path, pg_url)
    try:
        client = s.client("cs")
        html = client.get("/").text
        assert html.index(f'/mentions/{s.ids["c1"]}"') < html.index(f'/mentions/{s.ids["c2"]}"')
        assert post(client, f"/mentions/{s.ids['c1']}/answered").status_code == 303
        assert post(client, f"/mentions/{s.ids['c1']}/label", label="neutral").status_code == 303
        html = client.get("/?q=worst").text
        assert f'/mentions/{s.ids["c2"]}"' in html and f'/mentions/{s.ids["c1"]}"' not in html
        assert s.client("mk").get(f"/mentions/{s.ids['c1']}").status_code == 403
        with s.engine.connect() as conn:
            assert conn.execute(select(responses.c.via)).scalar_one() == "web"
            assert {r.label for r in conn.execute(select(mention_routes.c.label)
                                                  .where(mention_routes.c.mention_id == s.ids["c1"]))} == {"neutral"}
    finally:
        s.engine.dispose()


def test_pages_need_a_sign_in(site):
    client = site.client()
    for path in ("/", f"/mentions/{site.ids['c1']}", "/inbox/rows", "/out?url=x"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path


def test_login_sets_a_hardened_session_and_lands_in_the_inbox(site):
    client = site.client()
    response = login(client, "cs", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=43200" in cookie
    assert "secure" not in cookie  # public_url is not https here
    inbox = client.get("/")
    assert inbox.status_code == 200 and "Inbox: customer-service" in inbox.text


def test_secure_cookie_when_the_public_url_is_https(site):
    from dataclasses import replace

    web = site.config.web.model_copy(update={"public_url": "https://listener.example.org"})
    app = build_app(replace(site.config, web=web), site.engine)
    client = TestClient(app, follow_redirects=False, base_url="https://testserver")
    response = login(client, "cs", PASSWORD)
    assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_and_unknown_user_look_the_same(site):
    client = site.client()
    a, b = login(client, "cs", "wrong password!"), login(client, "nobody", "wrong password!")
    assert a.status_code == b.status_code == 401
    assert "Wrong user name or password." in a.text and "Wrong user name or password." in b.text


def test_login_attempts_are_limited(site):
    client = site.client()
    for _ in range(5):
        assert login(client, "cs", "guess guess guess").status_code == 401
    blocked = login(client, "cs", PASSWORD)
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    site.now = NOW.replace(hour=13)
    assert login(client, "cs", PASSWORD).status_code == 303


def test_forms_without_the_csrf_token_are_refused(site):
    client = site.client("cs")
    mention = site.ids["c1"]
    assert client.post(f"/mentions/{mention}/answered", data={}).status_code == 403
    assert client.post(f"/mentions/{mention}/answered", data={"csrf": "forged"}).status_code == 403
    assert client.post("/login", data={"username": "cs", "password": PASSWORD}).status_code == 403
    with site.engine.connect() as conn:
        assert conn.execute(select(responses)).first() is None


def test_security_headers_on_every_response(site):
    client = site.client("cs")
    for response in (client.get("/login"), client.get("/"), client.get("/mentions/999999"),
                     client.get("/static/listener.css")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_no_inline_script_or_style_in_any_page(site):
    client = site.client("admin")
    for path in ("/login", "/", f"/mentions/{site.ids['h1']}", "/out?url=javascript:alert(1)"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html and " on" + "click" not in html, path


def test_inbox_orders_by_time_left_overdue_in_red_then_the_rest(site):
    html = site.client("cs").get("/").text
    c1, c2 = (html.index(f'href="/mentions/{site.ids[k]}"') for k in ("c1", "c2"))
    assert c1 < c2
    first = html[html.index('<li class="item'):c1]
    assert "overdue" in first and "overdue 1h 0m" in html and "1h 0m left" in html


def test_answered_mentions_go_below_the_unanswered(site):
    client = site.client("cs")
    assert post(client, f"/mentions/{site.ids['c1']}/answered").status_code == 303
    html = client.get("/").text
    assert html.index(f'/mentions/{site.ids["c2"]}"') < html.index(f'/mentions/{site.ids["c1"]}"')
    assert "answered" in html


def test_inbox_filters_and_search(site):
    client = site.client("admin")
    html = client.get("/?department=customer-service&q=worst").text
    assert f'/mentions/{site.ids["c2"]}"' in html and f'/mentions/{site.ids["c1"]}"' not in html
    html = client.get("/?department=customer-service&label=praise").text
    assert "Nothing here with these filters" in html
    html = client.get("/?department=marketing&query=&source=blog&platform=web&since=2026-11-01&until=2026-11-23").text
    assert f'/mentions/{site.ids["p1"]}"' in html
    assert client.get("/?department=customer-service&since=yesterday").status_code == 400
    assert client.get("/?department=customer-service&cursor=bogus").status_code == 400


@pytest.mark.parametrize("answer_first", [False, True])
def test_inbox_pages_by_keyset(site, answer_first):
    client = site.client("admin")
    from listener.web import pages

    if answer_first:
        assert post(client, f"/mentions/{site.ids['c1']}/answered").status_code == 303

    seen = []
    url = "/?department=customer-service"
    original = pages.inbox_filter
    pages.inbox_filter = lambda params, department_id, limit=50: original(params, department_id, limit=1)
    try:
        while url:
            html = client.get(url).text
            seen += re.findall(r'<a class="open" href="/mentions/(\d+)"', html)
            more = re.search(r'<a class="more" href="([^"]+)"', html)
            url = more.group(1).replace("&amp;", "&") if more else None
    finally:
        pages.inbox_filter = original
    expected = ["c2", "c1"] if answer_first else ["c1", "c2"]
    assert seen == [str(site.ids[key]) for key in expected]


def test_assignee_filter_and_assignment(site):
    client = site.client("cs")
    assert post(client, f"/mentions/{site.ids['c2']}/assign", user="cs").status_code == 303
    html = client.get("/?assignee=cs").text
    assert f'/mentions/{site.ids["c2"]}"' in html and f'/mentions/{site.ids["c1"]}"' not in html
    html = client.get("/?assignee=nobody").text
    assert f'/mentions/{site.ids["c1"]}"' in html and f'/mentions/{site.ids["c2"]}"' not in html
    assert post(client, f"/mentions/{site.ids['c2']}/assign", user="ghost").status_code == 400


def test_mark_answered_records_a_web_response(site):
    client = site.client("cs")
    mention = site.ids["c1"]
    page = client.get(f"/mentions/{mention}").text
    assert "Mark answered" in page
    response = client.post(f"/mentions/{mention}/answered",
                           data={"csrf": csrf_of(page), "url": "https://blog.example.org/reply", "note": "called her"})
    assert response.status_code == 303
    assert "Marked answered." in client.get(f"/mentions/{mention}").text
    with site.engine.connect() as conn:
        row = conn.execute(select(responses)).one()
        route = conn.execute(select(mention_routes).where(mention_routes.c.mention_id == mention)).one()
    assert (row.via, row.by, row.url, row.note) == ("web", "cs", "https://blog.example.org/reply", "called her")
    assert route.first_response_at == NOW and route.response_s == 3 * 3600


def test_reply_url_must_be_http(site):
    client = site.client("cs")
    response = post(client, f"/mentions/{site.ids['c1']}/answered", url="javascript:alert(1)")
    assert response.status_code == 400


def test_relabel_note_and_reopen(site):
    client = site.client("cs")
    mention = site.ids["c2"]
    assert post(client, f"/mentions/{mention}/label", label="neutral").status_code == 303
    assert post(client, f"/mentions/{mention}/note", text="asked logistics").status_code == 303
    assert post(client, f"/mentions/{mention}/answered").status_code == 303
    assert post(client, f"/mentions/{mention}/reopen").status_code == 303
    assert post(client, f"/mentions/{mention}/label", label="furious").status_code == 400
    assert post(client, f"/mentions/{mention}/note", text="  ").status_code == 400
    with site.engine.connect() as conn:
        m = conn.execute(select(mentions).where(mentions.c.id == mention)).one()
        assert (m.label, m.model_label, m.label_by) == ("neutral", "criticism", "cs")
        assert conn.execute(select(human_labels.c.via)).scalar_one() == "web"
        assert [n.text for n in conn.execute(select(notes).order_by(notes.c.id))] == ["asked logistics", "reopened"]
        assert conn.execute(select(mention_routes.c.first_response_at)
                            .where(mention_routes.c.mention_id == mention)).scalar() is None
        assert {r.label for r in conn.execute(select(mention_routes.c.label)  # the report by department follows
                                              .where(mention_routes.c.mention_id == mention))} == {"neutral"}
    page = client.get(f"/mentions/{mention}").text
    assert "set by cs" in page and "the classifier said criticism" in page


def test_mention_page_shows_author_link_routing_and_alerts(site):
    page = site.client("cs").get(f"/mentions/{site.ids['c1']}").text
    assert "Anna" in page and 'href="https://blog.example.org/c1"' in page
    assert "rule &#39;complaints&#39;: MATCHED" in page
    assert "customer-service" in page and "None yet." in page
    assert "decided by the lexicon" in page and "Terrible: -2.10" in page and "Awful: -2.00" in page


def test_hostile_text_is_shown_as_text(site):
    page = site.client("admin").get(f"/mentions/{site.ids['h1']}").text
    body = page[page.index('id="mention-text"'):]
    body = body[:body.index("</div>")]
    assert "<script>" not in body and "<img" not in body and "&lt;script&gt;" in body
    assert "&lt;!channel&gt;" in body and "&lt;b&gt;Mallory&lt;/b&gt;" in page
    assert 'href="javascript:' not in page
    assert 'href="/out?url=javascript%3Adocument.title%3D' in body
    assert '<a href="https://example.org/ok" rel="noopener noreferrer nofollow"' in body
    warning = site.client("admin").get("/out?url=javascript%3Aalert(1)")
    assert "javascript:alert(1)" in warning.text and 'href="javascript' not in warning.text


# who, mention, may read, may act
MATRIX = [
    ("admin", "c1", True, True), ("admin", "p1", True, True),
    ("cs", "c1", True, True), ("cs", "p1", False, False), ("cs", "h1", False, False),
    ("mk", "c1", False, False), ("mk", "p1", True, True),
    ("analyst", "c1", True, False), ("analyst", "p1", True, False),
]


@pytest.mark.parametrize("who, key, may_read, may_act", MATRIX)
def test_authorisation_matrix(site, who, key, may_read, may_act):
    client = site.client(who)
    mention = site.ids[key]
    page = client.get(f"/mentions/{mention}")
    assert page.status_code == (200 if may_read else 403)
    assert ("Mark answered" in page.text) == may_act
    csrf = csrf_of(client.get("/?department=customer-service" if who != "mk" else "/").text)
    for action, data in (("answered", {}), ("label", {"label": "praise"}), ("assign", {"user": who}),
                         ("note", {"text": "x"}), ("reopen", {})):
        response = client.post(f"/mentions/{mention}/{action}", data={"csrf": csrf, **data})
        assert response.status_code == (303 if may_act else 403), (action, response.text)


@pytest.mark.parametrize("who, visible, hidden", [
    ("cs", ["customer-service"], ["marketing", "communications"]),
    ("mk", ["marketing"], ["customer-service", "communications"]),
    ("analyst", ["customer-service", "marketing", "communications"], []),
    ("admin", ["customer-service", "marketing", "communications"], []),
])
def test_department_inboxes_by_role(site, who, visible, hidden):
    client = site.client(who)
    for name in visible:
        assert client.get(f"/?department={name}").status_code == 200
        assert client.get(f"/inbox/rows?department={name}").status_code == 200
    for name in hidden:
        assert client.get(f"/?department={name}").status_code == 403
        assert client.get(f"/inbox/rows?department={name}").status_code == 403


def test_rows_fragment_is_the_queue_alone(site):
    html = site.client("cs").get("/inbox/rows").text
    assert html.lstrip().startswith('<ol class="queue" id="queue" data-newest=') and "<html" not in html


def test_removed_user_is_signed_out_at_once(site):
    from listener.store import users as user_store

    client = site.client("cs")
    with site.engine.begin() as conn:
        user_store.remove(conn, "cs")
    assert client.get("/").status_code == 303


def test_logout(site):
    client = site.client("cs")
    assert post(client, "/logout").status_code == 303
    assert client.get("/").status_code == 303


def test_trusted_header_only_from_trusted_proxies(site):
    from dataclasses import replace

    web = site.config.web.model_copy(update={"trusted_user_header": "X-Forwarded-User",
                                             "trusted_proxies": ["10.0.0.0/8"]})
    app = build_app(replace(site.config, web=web), site.engine)
    from_proxy = TestClient(app, follow_redirects=False, client=("10.1.2.3", 5000))
    assert from_proxy.get("/", headers={"X-Forwarded-User": "cs"}).status_code == 200
    assert from_proxy.get("/", headers={"X-Forwarded-User": "ghost"}).status_code == 303
    elsewhere = TestClient(app, follow_redirects=False, client=("192.168.1.9", 5000))
    assert elsewhere.get("/", headers={"X-Forwarded-User": "admin"}).status_code == 303


def test_login_redirects_only_within_the_site(site):
    client = site.client()
    csrf = csrf_of(client.get("/login").text)
    for target, expected in (("/mentions/1", "/mentions/1"), ("//evil.example/", "/"), ("https://evil.example", "/")):
        client.cookies.clear()
        csrf = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"username": "cs", "password": PASSWORD, "csrf": csrf, "next": target})
        assert response.headers["location"] == expected


def test_new_mentions_reach_the_rows_the_page_polls(site):
    from website import item

    from listener import pipeline
    from listener.routing import Router

    client = site.client("cs")
    page = client.get("/").text
    rows_url = re.search(r'data-rows-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    before = re.search(r'data-newest="(\d+)"', client.get(rows_url).text).group(1)
    fresh = item("n1", "Awful, the app crashed and deleted my order. Terrible.", "Dag", NOW)
    new = pipeline.process(site.engine, pipeline.SourceRef(1, "blog"), [fresh], NOW, Router.from_config(site.config))
    rows = client.get(rows_url).text
    assert re.search(r'data-newest="(\d+)"', rows).group(1) == str(new.new_ids[0]) != before
    assert f'href="/mentions/{new.new_ids[0]}"' in rows
    script = client.get("/static/listener.js").text
    assert "rowsUrl" in script and "setInterval" in script
