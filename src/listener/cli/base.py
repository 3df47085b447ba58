"""The `listener` group and the context every command shares (config, engine)."""

from __future__ import annotations

import sys

import click

from listener import __version__
from listener.config import Config, ConfigError, load_config, resolve_path
from listener.text import describe


class Context:
    def __init__(self, config_path: str | None, log_level: str | None):
        self.path = resolve_path(config_path)
        self.log_level = log_level
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.path)
            except ConfigError as exc:
                for line in exc.problems:
                    click.echo(line, err=True)
                sys.exit(2)
            from listener import logs

            logs.configure(self.log_level or self._config.logging.level, self._config.logging.format)
            for line in self._config.skipped:
                click.echo(f"warning: {line}", err=True)
        return self._config

    def engine(self):
        from listener.store.engine import make_engine, upgrade

        engine = make_engine(self.config.database_url)
        try:
            upgrade(engine)
        except Exception as exc:
            raise click.ClickException(f"cannot open the store at [store] url: {describe(exc)}") from None
        return engine


pass_ctx = click.make_pass_decorator(Context)

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config_path", metavar="PATH",
              help="Config file. Default: $LISTENER_CONFIG, else ./config.toml.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              help="Override [logging] level.")
@click.version_option(__version__, prog_name="listener")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_level: str | None) -> None:
    """Watch feeds and platforms for mentions of your organisation and store them in SQL.

    Start with `listener check-config`, then `listener poll` to try every source once,
    then `listener run` to keep polling.
    """
    ctx.obj = Context(config_path, log_level)


@cli.command("check-config")
@pass_ctx
def check_config(ctx: Context) -> None:
    """Validate the config file: prints ok, or one line per problem (exit 2)."""
    ctx.config  # noqa: B018 - loading it is the check; problems exit with status 2
    click.echo("ok")
