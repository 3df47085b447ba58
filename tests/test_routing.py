"""Routing rules on plain data: no database, no network."""

from dataclasses import replace
from datetime import UTC, datetime

from conftest import write_config

from listener.config import load_config
from listener.domain import Author, Label, Mention, Priority, Route
from listener.routing import Router, mention_text

RULES = """
[routing]
default_department = "communications"

[[departments]]
name = "customer-service"

[[departments]]
name = "press"

[[departments]]
name = "campaign-team"
digest = "0 8 * * *"

[[routes]]
name = "journalists"
match = { author = ["@svd_kalle", "Anna Journalist"], question = true }
department = "press"
priority = "high"
continue = true

[[routes]]
name = "complaints"
match = { label = ["criticism"], lang = ["sv", "nb"], query = "leverans* OR levering*" }
department = "customer-service"
priority = "high"

[[routes]]
name = "jul"
match = { campaign = "jul", label = "praise" }
department = ["campaign-team", "press"]
priority = "low"

[[campaigns]]
name = "jul"
query = "jul* OR christmas"
start = 2026-12-01
end = 2026-12-31
"""


def router(tmp_path) -> Router:
    return Router.from_config(load_config(write_config(tmp_path, RULES)))


def mention(text, label=Label.NEUTRAL, lang="sv", author=Author("Åsa", "@asa"), question=False,
            published=datetime(2026, 11, 23, tzinfo=UTC)) -> Mention:
    return Mention(source="blogg", external_id="1", platform="wordpress", url="", author=author, title="",
                   text=text, published_at=published, first_seen_at=published, content_hash="x", lang=lang,
                   label=label, question=question)


def routed(r: Router, m: Mention) -> list[tuple[str, str, str]]:
    text = mention_text(m)
    queries, campaigns = r.tag(m, text)
    m = replace(m, campaigns=campaigns, queries=queries)
    return [(x.department, x.priority.value, x.rule) for x in r.route(m, text)]


def test_first_matching_rule_wins(tmp_path):
    r = router(tmp_path)
    assert routed(r, mention("Leveransen är sen", Label.CRITICISM)) == [("customer-service", "high", "complaints")]


def test_nothing_matched_goes_to_the_default_department(tmp_path):
    r = router(tmp_path)
    assert routed(r, mention("Fint väder")) == [("communications", "normal", "default")]
    assert routed(r, mention("Leveransen är sen", Label.CRITICISM, lang="da")) == [("communications", "normal", "default")]


def test_nb_in_a_rule_means_norwegian(tmp_path):
    assert routed(router(tmp_path), mention("Leveringen er sen", Label.CRITICISM, lang="no"))[0][2] == "complaints"


def test_continue_lets_later_rules_add_departments(tmp_path):
    m = mention("Hur går leveranserna?", Label.CRITICISM, author=Author("Kalle", "@SVD_Kalle"), question=True)
    assert routed(router(tmp_path), m) == [("press", "high", "journalists"), ("customer-service", "high", "complaints")]


def test_campaigns_tag_only_inside_their_dates(tmp_path):
    r = router(tmp_path)
    december = mention("Bästa julkalendern!", Label.PRAISE, published=datetime(2026, 12, 5, tzinfo=UTC))
    november = mention("Bästa julkalendern!", Label.PRAISE, published=datetime(2026, 11, 5, tzinfo=UTC))
    assert routed(r, december) == [("campaign-team", "low", "jul"), ("press", "low", "jul")]
    assert routed(r, november) == [("communications", "normal", "default")]


def test_priorities_and_digests_decide_the_deliveries(tmp_path):
    config = load_config(write_config(tmp_path, RULES.replace('name = "customer-service"', 'name = "customer-service"\nsinks = ["a"]')
                                      .replace('digest = "0 8 * * *"', 'digest = "0 8 * * *"\nsinks = ["a"]')
                                      + '\n[[sinks]]\nname = "a"\ntype = "console"\n'))
    r = Router.from_config(config)
    assert r.deliveries(Route("customer-service", Priority.HIGH, "x")) == [("a", False)]
    assert r.deliveries(Route("customer-service", Priority.NORMAL, "x")) == [("a", False)]
    assert r.deliveries(Route("customer-service", Priority.LOW, "x")) == []
    assert r.deliveries(Route("campaign-team", Priority.HIGH, "x")) == [("a", False)]
    assert r.deliveries(Route("campaign-team", Priority.NORMAL, "x")) == [("a", True)]
    assert r.deliveries(Route("campaign-team", Priority.LOW, "x")) == [("a", True)]


def test_explain_names_each_condition(tmp_path):
    r = router(tmp_path)
    m = mention("Leveransen är sen", Label.NEUTRAL)
    lines = r.explain(m, mention_text(m))
    assert "rule 'complaints': no match → customer-service (high)" in lines
    assert "    ✓ query 'leverans* OR levering*'" in lines
    assert "    ✗ label in ['criticism'] (is 'neutral')" in lines
    assert lines[-1] == "routed to: communications (normal, rule 'default')"
