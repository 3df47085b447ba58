"""`listener run` and `listener poll`: the daemon and a one-off poll."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.config import ConfigError
from listener.text import strip_controls


@cli.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Poll every enabled source on its schedule until stopped (SIGTERM or Ctrl-C).

    SIGHUP reloads the config file; under systemd it reports readiness, status and liveness.
    Also serves [web] listen: /healthz, /readyz, /metrics and the "answered" links.
    """
    from listener.config import load_config
    from listener.notify import Notifier
    from listener.scheduler import Daemon
    from listener.web.app import build_app, reconfigure
    from listener.web.server import WebError, WebServer

    engine = ctx.engine()
    app = build_app(ctx.config, engine)
    try:
        web = WebServer(app, ctx.config.web)
    except WebError as exc:
        raise click.ClickException(str(exc)) from None

    async def main() -> None:
        async with _workers(ctx, engine, daemon=True) as (poller, deliverer):
            daemon = Daemon(poller, deliverer, web, load=lambda: load_config(ctx.path), notifier=Notifier(),
                            on_reload=lambda config: reconfigure(app, config))
            app.state.daemon = daemon  # for /readyz
            await daemon.run()

    asyncio.run(main())


@cli.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Poll only this source (repeatable).")
@pass_ctx
def poll(ctx: Context, names: tuple[str, ...]) -> None:
    """Poll sources once now and exit: one line per source; exit 1 if any failed."""
    ctx.log_level = ctx.log_level or "warning"  # the summary lines are the output
    config = ctx.config
    try:
        named = [config.source(n) for n in names]
    except ConfigError as exc:
        raise click.UsageError(exc.problems[0]) from None
    for source in named:
        if not source.enabled:
            raise click.UsageError(f'source "{source.name}" has enabled = false in {config.path.name}')
    wanted = [s.name for s in named] or [s.name for s in config.sources if s.enabled]
    if not wanted:
        raise click.ClickException("no enabled sources in the config; add a [[sources]] table")
    engine = ctx.engine()

    async def main():
        async with _workers(ctx, engine) as (poller, deliverer):
            states = poller.claim(names=wanted)
            busy = sorted(set(wanted) - {s.name for s in states})
            outcomes = await asyncio.gather(*(poller.poll(s) for s in states))
            return busy, outcomes, await deliverer.deliver_due()

    busy, outcomes, sent = asyncio.run(main())
    for outcome in outcomes:
        click.echo(strip_controls(outcome.summary()))
    for name in busy:
        click.echo(f"{name}: skipped: another listener is polling it right now")
    if sent or ctx.config.sinks:
        click.echo(f"alerts: {sent} sent{_alert_backlog(engine)}")
    if any(not o.ok for o in outcomes):
        sys.exit(1)


def _alert_backlog(engine) -> str:
    from listener.store import routing as routing_store

    with engine.connect() as conn:
        counts = routing_store.counts(conn)
    parts = [f"{counts[k]} {k}" for k in ("pending", "dead") if counts.get(k)]
    return "; " + ", ".join(parts) + " (see `listener alerts`)" if parts else ""


class _workers:
    """A Poller over the shared HTTP client and an alert Deliverer, with sources and departments
    synced. The daemon parses and classifies in worker processes and holds its leases under its
    instance id; a one-off poll works inline and its leases, should it die, simply run out."""

    def __init__(self, ctx: Context, engine, daemon: bool = False):
        self.ctx, self.engine, self.daemon = ctx, engine, daemon

    async def __aenter__(self):
        from listener.alerts.worker import Deliverer
        from listener.cpu import INLINE, CpuPool
        from listener.http import HttpClient
        from listener.scheduler import Poller
        from listener.store import leases
        from listener.store import routing as routing_store
        from listener.store import sources as source_store
        from listener.store.leases import instance_id

        config = self.ctx.config
        owner = instance_id(self.ctx.path) if self.daemon else None
        self.cpu = CpuPool(config.scheduler.workers) if self.daemon else INLINE
        self.http = HttpClient(config.http)
        poller = Poller(config, self.engine, self.http, cpu=self.cpu, owner=owner)
        self.deliverer = Deliverer(config, self.engine, owner=owner)
        with self.engine.begin() as conn:
            leases.exclusive(conn)
            source_store.sync(conn, self.ctx.config.sources, datetime.now(UTC))
            routing_store.sync_departments(conn, poller.router)
        return poller, self.deliverer

    async def __aexit__(self, *exc):
        await self.http.aclose()
        await self.deliverer.aclose()
        self.cpu.close()
