"""`listener demo`: sample feeds, departments, rules and a user on a throwaway store, then `listener run`."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import click

from listener.cli.base import Context, cli


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8750, show_default=True, help="Where the inbox is served.")
@click.pass_context
def demo(click_ctx: click.Context, port: int) -> None:
    """Try listener without sources of your own: serves sample feeds on loopback, runs the daemon on a
    temporary store with example departments and rules, and prints the inbox's address and login."""
    from listener import demo as sample
    from listener.cli.daemon import run
    from listener.store import users as user_store
    from listener.store.engine import make_engine, upgrade

    folder = Path(tempfile.mkdtemp(prefix="listener-demo-"))
    feeds = sample.FeedServer(sample.now())
    try:
        path = sample.write_config(folder, port, feeds.url)
        os.environ[sample.SECRET_ENV] = secrets.token_urlsafe(32)
        ctx = Context(str(path), click_ctx.obj.log_level if click_ctx.obj else None)
        engine = make_engine(ctx.config.database_url)
        upgrade(engine)
        password = sample.new_password()
        with engine.begin() as conn:
            user_store.add(conn, "demo", "admin", [], password, sample.now())
        engine.dispose()
        click.echo(f"listener demo: open http://127.0.0.1:{port}/login and sign in as demo / {password}")
        click.echo(f"(config and store in {folder}; Ctrl-C stops the demo and deletes them)")
        click_ctx.obj = ctx
        click_ctx.invoke(run)
    finally:
        feeds.stop()
        shutil.rmtree(folder, ignore_errors=True)
