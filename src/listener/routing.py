"""Rules → departments: which department should act on a mention, and how urgently.

Rules are tried in config order; the first that matches wins unless it says ``continue = true``;
a mention no rule takes goes to the default department. Every decision names its rule, and
``explain`` says for each rule which condition held and which did not, so a user can ask why.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from listener.classify.language import normalise
from listener.config import (
    CampaignConfig,
    Config,
    DepartmentConfig,
    MatchConfig,
    QueryConfig,
    RouteConfig,
)
from listener.domain import Mention, Priority, Route
from listener.hours import BusinessHours
from listener.matching import Campaign, Query, Text

DEFAULT_RULE = "default"


@dataclass(frozen=True)
class _QueryHolds:
    query: Query

    def holds(self, mention: Mention, text: Text | None) -> bool:
        return text is not None and self.query.matches(text)

    def describe(self, mention: Mention) -> str:
        return f"query {self.query.source!r}"


@dataclass(frozen=True)
class _FieldIn:
    key: str
    wanted: frozenset[str]

    def value(self, mention: Mention) -> str:
        actual = getattr(mention, self.key)
        return str(actual).casefold() if actual is not None else ""

    def holds(self, mention: Mention, text: Text | None) -> bool:
        return self.value(mention) in self.wanted

    def describe(self, mention: Mention) -> str:
        return f"{self.key} in {sorted(self.wanted)} (is {self.value(mention) or 'unset'!r})"


@dataclass(frozen=True)
class _AuthorIn:
    wanted: frozenset[str]

    def holds(self, mention: Mention, text: Text | None) -> bool:
        return bool({mention.author.name.casefold(), mention.author.handle.casefold()} & self.wanted)

    def describe(self, mention: Mention) -> str:
        return f"author in {sorted(self.wanted)} (is {mention.author.name!r} {mention.author.handle!r})"


@dataclass(frozen=True)
class _CampaignIn:
    wanted: frozenset[str]

    def holds(self, mention: Mention, text: Text | None) -> bool:
        return bool({c.casefold() for c in mention.campaigns} & self.wanted)

    def describe(self, mention: Mention) -> str:
        return f"campaign in {sorted(self.wanted)} (tagged {sorted(mention.campaigns)})"


@dataclass(frozen=True)
class _QuestionIs:
    wanted: bool

    def holds(self, mention: Mention, text: Text | None) -> bool:
        return bool(mention.question) == self.wanted

    def describe(self, mention: Mention) -> str:
        return f"question is {self.wanted} (is {bool(mention.question)})"


@dataclass(frozen=True)
class Match:
    """Every condition a rule's ``match`` sets; all must hold."""

    conditions_: tuple = ()

    @classmethod
    def from_config(cls, m: MatchConfig) -> Match:
        def folded(values: list[str] | None) -> frozenset[str]:
            return frozenset(v.casefold() for v in values or ())

        conditions: list = []
        if m.query:
            conditions.append(_QueryHolds(Query.parse(m.query)))
        if m.lang is not None:
            conditions.append(_FieldIn("lang", frozenset(normalise(v) for v in m.lang)))
        for key in ("label", "source", "platform"):
            if getattr(m, key) is not None:
                conditions.append(_FieldIn(key, folded(getattr(m, key))))
        if m.author is not None:
            conditions.append(_AuthorIn(folded(m.author)))
        if m.campaign is not None:
            conditions.append(_CampaignIn(folded(m.campaign)))
        if m.question is not None:
            conditions.append(_QuestionIs(m.question))
        return cls(tuple(conditions))

    @property
    def reads_text(self) -> bool:
        return any(isinstance(c, _QueryHolds) for c in self.conditions_)

    def matches(self, mention: Mention, text: Text | None) -> bool:
        return all(c.holds(mention, text) for c in self.conditions_)

    def conditions(self, mention: Mention, text: Text | None) -> list[tuple[str, bool]]:
        """Each condition described, with whether the mention meets it (for ``route --explain``)."""
        return [(c.describe(mention), c.holds(mention, text)) for c in self.conditions_]


@dataclass(frozen=True)
class Rule:
    name: str
    match: Match
    departments: tuple[str, ...]
    priority: Priority
    keep_going: bool

    @classmethod
    def from_config(cls, r: RouteConfig) -> Rule:
        return cls(r.name, Match.from_config(r.match), tuple(r.department), Priority(r.priority), r.continue_)


@dataclass(frozen=True)
class Department:
    name: str
    sinks: tuple[str, ...] = ()
    digest: str | None = None
    sla: timedelta | None = None
    hours: BusinessHours = field(default_factory=BusinessHours)
    escalation_delay: timedelta | None = None
    escalation_sinks: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, d: DepartmentConfig) -> Department:
        return cls(d.name, tuple(d.sinks), d.digest, d.sla, BusinessHours.of(d.hours, d.timezone, d.holidays),
                   d.escalation_delay, tuple(d.escalation_sinks))

    def deadlines(self, published_at: datetime) -> tuple[datetime | None, datetime | None]:
        """(due_at, escalate_at) of a mention published then, counted in open time."""
        due = self.hours.add(published_at, self.sla) if self.sla is not None else None
        escalate = self.hours.add(published_at, self.escalation_delay) if self.escalation_delay is not None else None
        return due, escalate


@dataclass(frozen=True)
class Router:
    rules: tuple[Rule, ...] = ()
    default_department: str = "communications"
    departments: dict[str, Department] = field(default_factory=dict)
    queries: tuple[tuple[str, Query], ...] = ()
    campaigns: tuple[Campaign, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> Router:
        departments = {d.name: Department.from_config(d) for d in config.departments}
        departments.setdefault(config.routing.default_department, Department(config.routing.default_department))
        return cls(
            rules=tuple(Rule.from_config(r) for r in config.routes),
            default_department=config.routing.default_department,
            departments=departments,
            queries=tuple(_query(q) for q in config.queries),
            campaigns=tuple(_campaign(c) for c in config.campaigns),
        )

    @functools.cached_property
    def reads_text(self) -> bool:
        """Whether any query, campaign or rule looks at the words; if none does, they are not read."""
        return bool(self.queries or self.campaigns or any(r.match.reads_text for r in self.rules))

    def tag(self, mention: Mention, text: Text | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The tracked queries and the campaigns a mention matches."""
        queries = tuple(name for name, query in self.queries if query.matches(text))
        campaigns = tuple(c.name for c in self.campaigns if c.tags(text, mention.published_at))
        return queries, campaigns

    def route(self, mention: Mention, text: Text | None) -> tuple[Route, ...]:
        routes: list[Route] = []
        for rule in self.rules:
            if rule.match.matches(mention, text):
                routes.extend(Route(d, rule.priority, rule.name) for d in rule.departments
                              if all(r.department != d for r in routes))
                if not rule.keep_going:
                    break
        return tuple(routes) or (Route(self.default_department, Priority.NORMAL, DEFAULT_RULE),)

    def explain(self, mention: Mention, text: Text) -> list[str]:
        lines = []
        stopped = False
        for rule in self.rules:
            conditions = rule.match.conditions(mention, text)
            matched = all(ok for _, ok in conditions)
            if stopped:
                lines.append(f"rule {rule.name!r}: not tried, an earlier rule matched without continue")
                continue
            verdict = "MATCHED" if matched else "no match"
            lines.append(f"rule {rule.name!r}: {verdict} → {', '.join(rule.departments)} ({rule.priority.value})")
            for description, ok in conditions or [("no conditions: matches everything", True)]:
                lines.append(f"    {'✓' if ok else '✗'} {description}")
            if matched and not rule.keep_going:
                stopped = True
        routes = self.route(mention, text)
        if routes[0].rule == DEFAULT_RULE:
            lines.append(f"no rule matched → default department {self.default_department!r}")
        lines.append("routed to: " + ", ".join(f"{r.department} ({r.priority.value}, rule {r.rule!r})" for r in routes))
        return lines

    def explain_stored(self, stored) -> list[str]:
        """``listener route --explain``: the stored decision, then today's rules step by step."""
        m = stored.mention
        lines = [f"mention {stored.id}: {m.source} / {m.platform}, lang {m.lang}, label {m.label}, "
                 f"question {bool(m.question)}, campaigns {list(m.campaigns) or 'none'}",
                 "stored routes: " + (", ".join(f"{r.department} ({r.priority.value}, rule {r.rule!r})"
                                               for r in stored.routes) or "none"),
                 "with the current rules:"]
        return lines + ["  " + line for line in self.explain(m, mention_text(m))]

    def department(self, name: str) -> Department:
        """The configured department, or a bare one for a name no longer in the config."""
        return self.departments.get(name) or Department(name)

    def deliveries(self, route: Route) -> list[tuple[str, bool]]:
        """(sink, digest?) for each alert a route makes. Low priority goes only into digests."""
        department = self.department(route.department)
        if route.priority is Priority.HIGH:
            return [(sink, False) for sink in department.sinks]
        if department.digest:
            return [(sink, True) for sink in department.sinks]
        if route.priority is Priority.NORMAL:
            return [(sink, False) for sink in department.sinks]
        return []


def mention_text(mention: Mention) -> Text:
    return Text.of(mention.title, mention.text, mention.author.handle)


def _query(q: QueryConfig) -> tuple[str, Query]:
    return q.name, Query.parse(q.query)


def _campaign(c: CampaignConfig) -> Campaign:
    return Campaign(c.name, Query.parse(c.query), _moment(c.start), _moment(c.end, end=True))


def _moment(value: datetime | date | None, end: bool = False) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)
    return None


def dry_run_report(router: Router, stored: list) -> list[str]:
    """What the current rules would change for stored mentions, one line per changed mention."""
    changed = []
    for item in stored:
        m = item.mention
        queries, campaigns = router.tag(m, mention_text(m))
        m = replace(m, queries=queries, campaigns=campaigns)
        now = router.route(m, mention_text(m))
        before = {(r.department, r.priority, r.rule) for r in item.routes}
        after = {(r.department, r.priority, r.rule) for r in now}
        if before != after:
            def show(routes):
                return ", ".join(f"{d} ({p.value}, {rule!r})" for d, p, rule in sorted(routes)) or "nothing"
            title = (m.title or m.text)[:60]
            changed.append(f"mention {item.id} [{m.label}] {title!r}: {show(before)} → {show(after)}")
    summary = f"{len(changed)} of {len(stored)} mentions would be routed differently"
    return [*changed, summary]
