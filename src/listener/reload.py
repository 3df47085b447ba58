"""What a new config.toml changes compared with the one the daemon runs on.

The daemon applies sources, routing, departments, sinks, queries, campaigns, [organization], [web]
public_url and secret, and the [scheduler] and [alerts] settings live; the store, the HTTP client's
settings, logging and the address the web server listens on are fixed for the life of the process,
so a change there is reported as needing a restart instead of half-applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from listener.config import Config

LIVE = ("scheduler", "alerts", "routing", "departments", "sinks", "routes", "queries", "campaigns",
        "organization", "web")
NEEDS_RESTART = ("store", "http", "logging", "web.listen")


@dataclass(frozen=True, slots=True)
class Changes:
    sources_added: tuple[str, ...] = ()
    sources_removed: tuple[str, ...] = ()
    sources_changed: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    """Live sections that differ: scheduler, alerts, routing, departments, sinks, routes, …"""
    needs_restart: tuple[str, ...] = ()

    def as_log(self) -> dict[str, list[str]]:
        fields = {
            "sources_added": self.sources_added,
            "sources_removed": self.sources_removed,
            "sources_changed": self.sources_changed,
            "changed": self.sections,
        }
        return {key: list(value) for key, value in fields.items() if value}


def changes(old: Config, new: Config) -> Changes:
    before = {s.name: s for s in old.sources}
    after = {s.name: s for s in new.sources}
    restart = [key for key in NEEDS_RESTART if _section(old, key) != _section(new, key)]
    return Changes(
        sources_added=tuple(n for n in after if n not in before),
        sources_removed=tuple(n for n in before if n not in after),
        sources_changed=tuple(n for n in after if n in before and after[n] != before[n]),
        sections=tuple(key for key in LIVE if _live(old, key) != _live(new, key)),
        needs_restart=tuple(restart),
    )


def kept_for_restart(old: Config, new: Config) -> Config:
    """``new`` with the settings that need a restart left as the running process has them."""
    return replace(new, store=old.store, http=old.http, logging=old.logging,
                   web=new.web.model_copy(update={"listen": old.web.listen}))


def _section(config: Config, key: str):
    if key == "store":
        return config.database_url
    if key == "web.listen":
        return config.web.listen
    return getattr(config, key)


def _live(config: Config, key: str):
    return config.web.model_copy(update={"listen": ""}) if key == "web" else getattr(config, key)
