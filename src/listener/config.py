"""The typed schema of config.toml.

Every problem is reported as one line naming the file, the key path and the fix, and all problems
are reported at once, so an admin fixes a config in one round instead of one error per restart.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from listener.durations import Duration, parse_duration
from listener.http import HttpConfig
from listener.registry import OptionSchema, broken, option_schemas

DEFAULT_PATH = "config.toml"
ENV_VAR = "LISTENER_CONFIG"



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    url: str = "sqlite:///listener.db"
    keep: Duration | None = None
    """Mentions published longer ago are deleted daily (their figures stay in daily_figures)."""

    @field_validator("keep")
    @classmethod
    def _at_least_a_day(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(days=1):
            raise ValueError('keep mentions at least a day, e.g. "400d"; leave it out to keep them forever')
        return value

    @field_validator("url")
    @classmethod
    def _is_sqlalchemy_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                f'"{value}" is not a database URL; use "sqlite:///listener.db" '
                'or "postgresql+psycopg://user@host/dbname"'
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f'unsupported database "{url.get_backend_name()}"; use sqlite or postgresql')
        return value


class SchedulerConfig(_Strict):
    tick: Duration = timedelta(seconds=5)
    concurrency: int = Field(default=8, gt=0)
    workers: int | None = Field(default=None, ge=0)
    """Processes that parse and classify; one per core by default, 0 to do it on the event loop."""
    max_backoff: Duration = timedelta(hours=6)
    jitter: float = Field(default=0.1, ge=0, lt=1)
    stream_checkpoint: Duration = timedelta(seconds=5)
    stream_idle: Duration = timedelta(seconds=3)
    stream_max_read: Duration = timedelta(seconds=30)


class ClassifierConfig(_Strict):
    learned: bool = True
    """Use the model learned from the team's labels (false: the lexicon alone)."""
    retrain_after: int = Field(default=20, gt=0)
    """`listener run` trains a new model once this many labels have arrived since the last one."""
    retrain_check: Duration = timedelta(minutes=10)


class LoggingConfig(_Strict):
    level: str = "info"
    format: str = "auto"

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in ("debug", "info", "warning", "error"):
            raise ValueError(f'unknown level "{value}"; use debug, info, warning or error')
        return value.lower()

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("auto", "json", "console"):
            raise ValueError(f'unknown format "{value}"; use auto, json or console')
        return value


def _zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone "{value}"; use a name such as "Europe/Stockholm"') from None
    return value


class AlertsConfig(_Strict):
    max_attempts: int = Field(default=10, gt=0)
    backoff: Duration = timedelta(seconds=30)
    max_backoff: Duration = timedelta(hours=1)
    lease: Duration = timedelta(minutes=2)
    concurrency: int = Field(default=4, gt=0)
    tick: Duration = timedelta(seconds=1)
    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"


class RoutingConfig(_Strict):
    default_department: str = "communications"


class OrganizationConfig(_Strict):
    """The organisation itself: its own accounts are how its replies are recognised."""

    name: str = ""
    accounts: list[str] = []

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        for account in value:
            parse_account(account)
        return value


_ACCOUNT = re.compile(r"^([a-z][\w.-]*):(.*)$", re.IGNORECASE)


def parse_account(text: str) -> tuple[str | None, str]:
    """``handle`` or ``platform:handle`` as (platform or None, handle): case-folded, a leading @
    dropped, so "mastodon:@Dramaten@mastodon.social" and "dramaten@mastodon.social" agree."""
    match = _ACCOUNT.match(text.strip())
    platform, handle = (match.group(1).casefold(), match.group(2)) if match else (None, text)
    handle = handle.strip().removeprefix("@").casefold()
    if not handle:
        raise ValueError(f'"{text}" is not an account; write "handle" or "platform:handle"')
    return platform, handle


def _proxy(value: str) -> str:
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f'"{value}" is not an IP address or network; write "127.0.0.1" or "10.0.0.0/8"') from None
    return value


class WebConfig(_Strict):
    listen: str = "127.0.0.1:8750"
    public_url: str = ""
    secret_env: str | None = "LISTENER_SECRET"
    trusted_user_header: str = ""
    trusted_proxies: list[Annotated[str, AfterValidator(_proxy)]] = []
    session: Duration = timedelta(hours=12)

    @model_validator(mode="after")
    def _header_needs_proxies(self) -> WebConfig:
        if self.trusted_user_header and not self.trusted_proxies:
            raise ValueError("trusted_user_header needs trusted_proxies: the addresses of the proxy that sets it")
        return self

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f'"{value}" is not HOST:PORT; write e.g. "127.0.0.1:8750"')
        return value

    @field_validator("public_url")
    @classmethod
    def _base(cls, value: str) -> str:
        if value and not re.match(r"(?i)^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError(f'"{value}" is not an http(s) URL; write e.g. "https://listener.example.org"')
        return value.rstrip("/")

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def base_url(self) -> str:
        """Where links in alerts point: ``public_url``, else the listening address itself."""
        return self.public_url or f"http://{self.listen}"


def _cron(value: str | None) -> str | None:
    if value is None:
        return None
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f'"{value}" is not a cron expression ("minute hour day month weekday", e.g. "0 8,13 * * mon-fri"): {exc}') from None
    return value


def _hours(value: str | None) -> str | None:
    from listener.hours import parse_hours

    if value is not None:
        parse_hours(value)
    return value


def _zone(value: str) -> str:
    from listener.hours import zone

    zone(value)
    return value


def _holidays(value: str | None) -> str | None:
    from listener.hours import holiday_calendar

    if value is not None:
        holiday_calendar(value)
    return value


def _escalate_after(value: Any) -> str | timedelta | None:
    """ "75%" (a share of the SLA) or a duration."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1])
        except ValueError:
            share = -1
        if not 0 < share <= 100:
            raise ValueError(f'"{value}" is not a share of the SLA; write e.g. "75%" or a duration such as "3h"')
        return value.strip()
    return parse_duration(value)


class DepartmentConfig(_Strict):
    name: str = Field(min_length=1)
    sinks: list[str] = []
    digest: Annotated[str | None, BeforeValidator(_cron)] = None
    sla: Duration | None = None
    hours: Annotated[str | None, AfterValidator(_hours)] = None
    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"
    holidays: Annotated[str | None, AfterValidator(_holidays)] = None
    escalate_after: Annotated[str | timedelta | None, BeforeValidator(_escalate_after)] = None
    escalation_sinks: list[str] = []

    @model_validator(mode="after")
    def _escalation_needs(self) -> DepartmentConfig:
        if isinstance(self.escalate_after, str) and self.sla is None:
            raise ValueError(f'escalate_after = "{self.escalate_after}" is a share of the SLA; set sla too, or give a duration')
        if self.escalate_after is not None and not self.escalation_sinks:
            raise ValueError("escalate_after needs escalation_sinks: the sinks that receive escalations")
        return self

    @property
    def escalation_delay(self) -> timedelta | None:
        """How much open time may pass unanswered before the escalation alert."""
        if isinstance(self.escalate_after, str):
            return self.sla * float(self.escalate_after[:-1]) / 100
        return self.escalate_after


class ReportSettings(_Strict):
    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"


class BaselineConfig(_Strict):
    """A named "before" span that reports compare against, e.g. the quarter before social media."""

    name: str = Field(min_length=1)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> BaselineConfig:
        if self.end < self.start:
            raise ValueError("end comes before start")
        return self


def _period(value: str) -> str:
    from listener.reports.periods import parse_period

    parse_period(value, date(2026, 1, 1))
    return value


class ReportConfig(_Strict):
    """A report e-mailed on a schedule; ``baseline`` names a [[baselines]] table or is a period."""

    name: str = Field(min_length=1)
    cron: Annotated[str, BeforeValidator(_cron)]
    period: Annotated[str, AfterValidator(_period)] = "last-week"
    baseline: str | None = None
    by: Literal["department", "source", "platform", "lang", "campaign", "label", "week"] | None = "department"
    sinks: Annotated[list[str], Field(min_length=1)]


SinkType = Literal["email", "slack", "teams", "mattermost", "webhook", "console"]


class SinkConfig(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    type: SinkType
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    smtp: str | None = None
    password_env: str | None = None
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    from_: str | None = Field(default=None, alias="from")
    to: list[str] = []
    timeout: Duration = timedelta(seconds=20)

    @model_validator(mode="after")
    def _complete(self) -> SinkConfig:
        if self.type == "email":
            missing = [k for k, v in (("smtp", self.smtp), ("from", self.from_), ("to", self.to)) if not v]
            if missing:
                raise ValueError(f"an email sink needs {', '.join(missing)}")
            if not self.smtp.startswith(("smtp://", "smtps://")):
                raise ValueError('smtp must look like "smtp://user@mail.example.org:587"')
        elif self.type != "console" and not (self.url or self.url_env):
            raise ValueError(f"a {self.type} sink needs url, or url_env naming the environment variable that holds it")
        return self


StrList = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


def _valid_query(value: str) -> str:
    from listener.matching import Query

    Query.parse(value)
    return value


QueryText = Annotated[str, AfterValidator(_valid_query)]


class MatchConfig(_Strict):
    query: QueryText | None = None
    label: StrList | None = None
    lang: StrList | None = None
    source: StrList | None = None
    platform: StrList | None = None
    author: StrList | None = None
    campaign: StrList | None = None
    question: bool | None = None

    @field_validator("label")
    @classmethod
    def _labels(cls, value: list[str] | None) -> list[str] | None:
        for label in value or []:
            if label not in ("praise", "criticism", "neutral"):
                raise ValueError(f'unknown label "{label}"; use praise, criticism or neutral')
        return value


class RouteConfig(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    match: MatchConfig = MatchConfig()
    department: StrList
    priority: Literal["high", "normal", "low"] = "normal"
    continue_: bool = Field(default=False, alias="continue")


class QueryConfig(_Strict):
    name: str = Field(min_length=1)
    query: QueryText


class CampaignConfig(_Strict):
    name: str = Field(min_length=1)
    query: QueryText
    start: datetime | date | None = None
    end: datetime | date | None = None


class SourceConfig(BaseModel):
    """A [[sources]] table; keys other than these are the connector's own options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1)
    connector: str
    url: str = ""
    interval: Duration = timedelta(minutes=15)
    enabled: bool = True
    lang: str | None = None
    require_match: bool = False

    @field_validator("lang")
    @classmethod
    def _known_lang(cls, value: str | None) -> str | None:
        from listener.classify.language import SUPPORTED, normalise

        if value is not None and normalise(value) not in SUPPORTED:
            raise ValueError(f'unknown language "{value}"; use one of {", ".join(SUPPORTED)} (nb and nn count as no)')
        return normalise(value)

    @field_validator("interval")
    @classmethod
    def _at_least_a_minute(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=30):
            raise ValueError("polling more often than every 30s is unkind to the site; use at least \"30s\"")
        return value


class _FileSchema(_Strict):
    store: StoreConfig = StoreConfig()
    http: HttpConfig = HttpConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    logging: LoggingConfig = LoggingConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    alerts: AlertsConfig = AlertsConfig()
    routing: RoutingConfig = RoutingConfig()
    organization: OrganizationConfig = OrganizationConfig()
    web: WebConfig = WebConfig()
    sources: list[SourceConfig] = []
    departments: list[DepartmentConfig] = []
    sinks: list[SinkConfig] = []
    routes: list[RouteConfig] = []
    queries: list[QueryConfig] = []
    campaigns: list[CampaignConfig] = []
    report: ReportSettings = ReportSettings()
    baselines: list[BaselineConfig] = []
    reports: list[ReportConfig] = []

    def references(self) -> list[tuple[str, str]]:
        """(key path, problem) for names that point at nothing, and names used twice."""
        problems = []
        for kind in ("departments", "sinks", "routes", "queries", "campaigns", "baselines", "reports"):
            seen: set[str] = set()
            for i, item in enumerate(getattr(self, kind)):
                if item.name in seen:
                    problems.append((f"{kind}[{i}].name", f'"{item.name}" is used twice; give each its own name'))
                seen.add(item.name)
        sinks = {s.name for s in self.sinks}
        departments = {d.name for d in self.departments} | {self.routing.default_department}
        campaigns = {c.name for c in self.campaigns}
        for i, department in enumerate(self.departments):
            for key in ("sinks", "escalation_sinks"):
                for j, sink in enumerate(getattr(department, key)):
                    if sink not in sinks:
                        problems.append((f"departments[{i}].{key}[{j}]", f'no sink named "{sink}"; known: {_known(sinks)}'))
        for i, route in enumerate(self.routes):
            for name in route.department:
                if name not in departments:
                    problems.append((f"routes[{i}].department", f'no department named "{name}"; known: {_known(departments)}'))
            for name in route.match.campaign or []:
                if name not in campaigns:
                    problems.append((f"routes[{i}].match.campaign", f'no campaign named "{name}"; known: {_known(campaigns)}'))
        problems += self._report_references()
        return problems

    def _report_references(self) -> list[tuple[str, str]]:
        from listener.reports.periods import parse_period

        problems = []
        email_sinks = {s.name for s in self.sinks if s.type == "email"}
        baselines = {b.name for b in self.baselines}
        for i, report in enumerate(self.reports):
            for j, sink in enumerate(report.sinks):
                if sink not in email_sinks:
                    fix = f'"{sink}" is not an email sink; reports go by e-mail (email sinks: {_known(email_sinks)})'
                    problems.append((f"reports[{i}].sinks[{j}]", fix))
            if report.baseline is not None and report.baseline not in baselines:
                try:
                    parse_period(report.baseline, date(2026, 1, 1))
                except ValueError:
                    fix = f'no baseline named "{report.baseline}", and not a period; known: {_known(baselines)}'
                    problems.append((f"reports[{i}].baseline", fix))
        return problems


@dataclass(frozen=True, slots=True)
class Source:
    """A configured source with its connector options validated by the connector's own schema."""

    name: str
    connector: str
    url: str
    interval: timedelta
    enabled: bool
    options: BaseModel
    lang: str | None = None
    require_match: bool = False


def _known(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    store: StoreConfig
    http: HttpConfig
    scheduler: SchedulerConfig
    logging: LoggingConfig
    sources: tuple[Source, ...]
    alerts: AlertsConfig = AlertsConfig()
    routing: RoutingConfig = RoutingConfig()
    departments: tuple[DepartmentConfig, ...] = ()
    sinks: tuple[SinkConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    queries: tuple[QueryConfig, ...] = ()
    campaigns: tuple[CampaignConfig, ...] = ()
    classifier: ClassifierConfig = ClassifierConfig()
    skipped: tuple[str, ...] = ()
    """Sources left out because their connector is installed but broken, one line each."""
    organization: OrganizationConfig = OrganizationConfig()
    web: WebConfig = WebConfig()
    report: ReportSettings = ReportSettings()
    baselines: tuple[BaselineConfig, ...] = ()
    reports: tuple[ReportConfig, ...] = ()

    @property
    def database_url(self) -> str:
        """The store URL, with a relative SQLite path taken from the config file's folder."""
        url = make_url(self.store.url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            path = Path(url.database).expanduser()
            if not path.is_absolute():
                path = self.path.parent / path
            url = url.set(database=str(path.resolve()))
        return url.render_as_string(hide_password=False)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError([f'{self.path.name}: no source named "{name}"; known: {known}'])


class ConfigError(Exception):
    """Every problem found in one config file, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path:
    """-c PATH wins, then $LISTENER_CONFIG, then ./config.toml."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    name = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file; pass -c PATH, set ${ENV_VAR}, or copy the example config.toml"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{name}: not valid TOML: {exc}"]) from None

    problems: list[str] = []
    try:
        schema = _FileSchema.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_describe(name, (), exc))
        schema = None

    raw_sources = raw.get("sources", []) if isinstance(raw.get("sources", []), list) else []
    skipped: list[str] = []
    sources = _validate_sources(name, raw_sources, option_schemas(), problems, skipped)
    if schema is not None:
        problems.extend(f"{name}: {key}: {problem}" for key, problem in schema.references())
    if problems or schema is None:
        raise ConfigError(problems)
    return Config(
        path=path.resolve(),
        store=schema.store,
        http=schema.http,
        scheduler=schema.scheduler,
        logging=schema.logging,
        sources=tuple(sources),
        alerts=schema.alerts,
        routing=schema.routing,
        departments=tuple(schema.departments),
        sinks=tuple(schema.sinks),
        routes=tuple(schema.routes),
        queries=tuple(schema.queries),
        campaigns=tuple(schema.campaigns),
        classifier=schema.classifier,
        skipped=tuple(skipped),
        organization=schema.organization,
        web=schema.web,
        report=schema.report,
        baselines=tuple(schema.baselines),
        reports=tuple(schema.reports),
    )


def _validate_sources(name: str, raw_sources: list[Any], connectors: dict[str, OptionSchema],
                      problems: list[str], skipped: list[str]) -> list[Source]:
    """Each source's connector options, checked by that connector's own schema.

    The common keys were checked by the file schema already; options are checked even when a
    common key is wrong, so one run reports every problem. A source whose connector is installed
    but broken is left out (``skipped``) rather than refused: one bad plugin must not stop the
    daemon from serving every other source.
    """
    unusable = broken()
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        if not isinstance(raw, dict):
            continue
        prefix = f"{name}: sources[{index}]"
        kind = raw.get("connector")
        connector = connectors.get(kind) if isinstance(kind, str) else None
        if isinstance(kind, str) and kind in unusable and connector is None:
            skipped.append(f'{prefix}.connector: "{kind}" is installed but broken ({unusable[kind]}); '
                           "this source is skipped until the connector is fixed or uninstalled")
            continue
        if isinstance(kind, str) and connector is None:
            known = ", ".join(sorted(connectors)) or "none installed"
            problems.append(f'{prefix}.connector: unknown connector "{kind}"; known: {known}')
        if isinstance(raw.get("name"), str) and raw["name"] in seen:
            problems.append(f'{prefix}.name: "{raw["name"]}" is used twice; give each source its own name')
        seen.add(raw.get("name"))
        options = None
        if connector is not None:
            if connector.needs_url and not connector.default_url and not raw.get("url"):
                problems.append(f"{prefix}.url: missing; the {kind} connector needs the address to poll")
            extra = {k: v for k, v in raw.items() if k not in SourceConfig.model_fields}
            try:
                options = connector.options.model_validate(extra)
            except ValidationError as exc:
                problems.extend(_describe(name, ("sources", index), exc))
        try:
            spec = SourceConfig.model_validate(raw)
        except ValidationError:
            continue  # reported by the file schema
        if options is not None:
            url = spec.url or connector.default_url
            sources.append(Source(spec.name, spec.connector, url, spec.interval, spec.enabled, options,
                                  spec.lang, spec.require_match))
    return sources


def _describe(name: str, prefix: tuple, exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = prefix + tuple(error["loc"])
        key = _key_path(loc)
        if error["type"] == "extra_forbidden":
            fix = "unknown key; remove it or check its spelling"
            if prefix:
                fix += " (`listener connectors` lists each connector's options)"
        elif error["type"] == "missing":
            fix = "missing; this key is required"
        else:
            fix = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {key}: {fix}")
    return lines


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
