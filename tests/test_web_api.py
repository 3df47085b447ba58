"""The dashboard and the JSON API: the same figures as `listener report`, bearer tokens, rights."""

from __future__ import annotations

import json
import re
import sqlite3

from click.testing import CliRunner
from starlette.testclient import TestClient
from test_web_inbox import post

from listener.cli import cli
from listener.reports import human

PERIOD = "2026-11-01..2026-11-30"


def run(site, *args) -> str:
    result = CliRunner().invoke(cli, ["-c", str(site.config_path), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cli_report(site) -> dict:
    rows = json.loads(run(site, "report", "--period", PERIOD, "--by", "department", "--format", "json"))["rows"]
    return {row["group"]: row for row in rows}


def section(html: str, department: str) -> str:
    start = html.index(f">{department}</h2>")
    return html[start:html.index("</section>", start)]


def figure(html: str, label: str) -> str:
    return re.search(rf'<div class="name">{label}</div>\s*<div class="value">([^<]*)</div>', html).group(1)


def test_dashboard_shows_the_reports_figures_and_moves_when_answered(site):
    client = site.client("cs")
    before = cli_report(site)["customer-service"]
    html = section(client.get(f"/dashboard?period={PERIOD}").text, "customer-service")
    assert figure(html, "Mentions") == human.value("mentions", before["mentions"]) == "2"
    assert figure(html, "Answered share") == human.value("answered_share", before["answered_share"])
    assert post(client, f"/mentions/{site.ids['c1']}/answered").status_code == 303
    after = cli_report(site)["customer-service"]
    html = section(client.get(f"/dashboard?period={PERIOD}").text, "customer-service")
    assert after["answered"] == 1 and after["first_response_median_s"] == 3 * 3600
    assert figure(html, "Answered share") == human.value("answered_share", after["answered_share"])
    assert figure(html, "First response, median") == human.value("first_response_median_s", 3 * 3600)


def test_dashboard_per_role(site):
    member = site.client("mk").get(f"/dashboard?period={PERIOD}").text
    assert ">marketing</h2>" in member and ">customer-service</h2>" not in member and "<img" not in member
    analyst = site.client("analyst").get(f"/dashboard?period={PERIOD}").text
    assert ">marketing</h2>" in analyst and ">customer-service</h2>" in analyst
    assert 'src="data:image/png;base64,' in analyst
    assert site.client("cs").get("/dashboard?period=soon").status_code == 400
    assert site.client().get("/dashboard").status_code == 303


def token(site, name: str, role: str, *departments: str) -> str:
    flags = [f"--department={d}" for d in departments]
    return run(site, "tokens", "add", name, "--role", role, *flags).strip().splitlines()[0]


def api(site, secret: str | None = None) -> TestClient:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return TestClient(site.app, headers=headers)


def test_api_needs_a_valid_token(site):
    for path in ("/api/v1/mentions", "/api/v1/report"):
        assert api(site).get(path).status_code == 401
        assert api(site, "lst_forged").get(path).status_code == 401
    assert api(site).post(f"/api/v1/mentions/{site.ids['c1']}/responses", json={}).status_code == 401
    secret = token(site, "bot", "analyst")
    assert secret.startswith("lst_") and secret not in run(site, "tokens", "list")
    with sqlite3.connect(site.config.database_url.removeprefix("sqlite:///")) as db:
        assert secret not in repr(db.execute("select * from api_tokens").fetchall())
    run(site, "tokens", "remove", "bot")
    assert api(site, secret).get("/api/v1/mentions").status_code == 401


def test_api_mentions_fields_filters_paging_and_rights(site):
    everything = api(site, token(site, "all", "analyst"))
    body = everything.get("/api/v1/mentions", params={"limit": 2}).json()
    assert len(body["mentions"]) == 2 and body["next_cursor"] == body["mentions"][-1]["id"]
    rest = everything.get("/api/v1/mentions", params={"limit": 2, "cursor": body["next_cursor"]}).json()
    assert {m["id"] for m in body["mentions"] + rest["mentions"]} == set(site.ids.values())
    first = body["mentions"][0]
    for key in ("id", "source", "platform", "url", "author", "text", "lang", "label", "published_at", "departments"):
        assert key in first
    assert everything.get("/api/v1/mentions", params={"label": "criticism"}).json()["mentions"][0]["label"] == "criticism"
    member = api(site, token(site, "cs-bot", "member", "customer-service"))
    ids = {m["id"] for m in member.get("/api/v1/mentions").json()["mentions"]}
    assert ids == {site.ids["c1"], site.ids["c2"]}
    assert member.get("/api/v1/mentions", params={"department": "marketing"}).json()["mentions"] == []


def test_api_records_a_response(site):
    member = api(site, token(site, "cs-bot", "member", "customer-service"))
    response = member.post(f"/api/v1/mentions/{site.ids['c2']}/responses",
                           json={"url": "https://blog.example.org/r", "note": "done", "by": "helpdesk"})
    assert response.status_code == 201 and response.json()["via"] == "web"
    assert member.post(f"/api/v1/mentions/{site.ids['p1']}/responses", json={}).status_code == 403
    assert member.post("/api/v1/mentions/999999/responses", json={}).status_code == 404
    assert member.post(f"/api/v1/mentions/{site.ids['c2']}/responses", content=b"not json").status_code == 400
    reader = api(site, token(site, "reader", "analyst"))
    assert reader.post(f"/api/v1/mentions/{site.ids['c2']}/responses", json={}).status_code == 403
    assert cli_report(site)["customer-service"]["answered"] == 1


def test_api_report_is_the_commands_json(site):
    analyst = api(site, token(site, "reader", "analyst"))
    expected = json.loads(run(site, "report", "--period", PERIOD, "--by", "department", "--format", "json"))
    got = analyst.get("/api/v1/report", params={"period": PERIOD, "by": "department"}).json()
    assert got["rows"] == expected["rows"] and got["period"] == expected["period"]
    member = api(site, token(site, "mk-bot", "member", "marketing"))
    assert [r["group"] for r in member.get("/api/v1/report", params={"period": PERIOD}).json()["rows"]] == ["marketing"]
    assert member.get("/api/v1/report", params={"by": "source"}).status_code == 403
    assert analyst.get("/api/v1/report", params={"period": "whenever"}).status_code == 400


def test_dashboard_counts_pruned_days_and_says_so(site):
    from datetime import date

    from listener.reports.figures import PRUNED_NOTE
    from listener.store import retention

    client = site.client("cs")
    assert PRUNED_NOTE not in client.get(f"/dashboard?period={PERIOD}").text
    before = cli_report(site)["customer-service"]
    key = (date(2026, 11, 2), "blog", "rss", "sv", "criticism", "customer-service")
    with site.engine.begin() as conn:
        retention.add_figures(conn, {key: retention.Figures(mentions=3, answered=3, distinct_mentions=3,
                                                            distinct_answered=3)})
    page = client.get(f"/dashboard?period={PERIOD}").text
    assert PRUNED_NOTE in page
    assert figure(section(page, "customer-service"), "Mentions") == str(before["mentions"] + 3)
