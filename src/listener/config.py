"""The typed schema of config.toml.

Every problem is reported as one line naming the file, the key path and the fix, and all problems
are reported at once, so an admin fixes a config in one round instead of one error per restart.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_PATH = "config.toml"
ENV_VAR = "LISTENER_CONFIG"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """Read "90s", "15m", "1h", "1h30m" or "7d"; a bare number counts as seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError('expected a duration such as "90s", "15m" or "1h"')
    text = value.strip().lower()
    pos, seconds = 0, 0.0
    for match in _DURATION.finditer(text):
        if text[pos : match.start()].strip():
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f'"{value}" is not a duration; write it as "90s", "15m", "1h" or "7d"')
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    url: str = "sqlite:///listener.db"

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


class HttpConfig(_Strict):
    user_agent: str = "listener/{version} (+https://example.org/contact)"
    timeout: Duration = timedelta(seconds=20)
    max_bytes: int = Field(default=10_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    per_host: int = Field(default=2, gt=0)


class SchedulerConfig(_Strict):
    tick: Duration = timedelta(seconds=5)
    concurrency: int = Field(default=8, gt=0)
    max_backoff: Duration = timedelta(hours=6)
    jitter: float = Field(default=0.1, ge=0, lt=1)


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


class SourceConfig(BaseModel):
    """A [[sources]] table; keys other than these are the connector's own options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1)
    connector: str
    url: str = ""
    interval: Duration = timedelta(minutes=15)
    enabled: bool = True
    lang: str | None = None

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
    sources: list[SourceConfig] = []


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


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    store: StoreConfig
    http: HttpConfig
    scheduler: SchedulerConfig
    logging: LoggingConfig
    sources: tuple[Source, ...]

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
    from listener.connector import registry

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
    sources = _validate_sources(name, raw_sources, registry(), problems)
    if problems or schema is None:
        raise ConfigError(problems)
    return Config(
        path=path.resolve(),
        store=schema.store,
        http=schema.http,
        scheduler=schema.scheduler,
        logging=schema.logging,
        sources=tuple(sources),
    )


def _validate_sources(name: str, raw_sources: list[Any], connectors: dict, problems: list[str]) -> list[Source]:
    """Each source's connector options, checked by that connector's own schema.

    The common keys were checked by the file schema already; options are checked even when a
    common key is wrong, so one run reports every problem.
    """
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        if not isinstance(raw, dict):
            continue
        prefix = f"{name}: sources[{index}]"
        kind = raw.get("connector")
        connector = connectors.get(kind) if isinstance(kind, str) else None
        if isinstance(kind, str) and connector is None:
            known = ", ".join(sorted(connectors)) or "none installed"
            problems.append(f'{prefix}.connector: unknown connector "{kind}"; known: {known}')
        if isinstance(raw.get("name"), str) and raw["name"] in seen:
            problems.append(f'{prefix}.name: "{raw["name"]}" is used twice; give each source its own name')
        seen.add(raw.get("name"))
        options = None
        if connector is not None:
            if connector.needs_url and not raw.get("url"):
                problems.append(f"{prefix}.url: missing; the {kind} connector needs the address to poll")
            extra = {k: v for k, v in raw.items() if k not in SourceConfig.model_fields}
            try:
                options = connector.Options.model_validate(extra)
            except ValidationError as exc:
                problems.extend(_describe(name, ("sources", index), exc))
        try:
            spec = SourceConfig.model_validate(raw)
        except ValidationError:
            continue  # reported by the file schema
        if options is not None:
            sources.append(Source(spec.name, spec.connector, spec.url, spec.interval, spec.enabled, options, spec.lang))
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
