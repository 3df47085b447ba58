"""`listener users` and `listener tokens`: who may use the web inbox and the JSON API."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import emit, iso

ROLE = click.Choice(["admin", "member", "analyst"])
MIN_PASSWORD = 10


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the password is too short; use at least {MIN_PASSWORD} characters")
    return password


def _user_errors(action):
    from listener.store.users import UserError

    try:
        return action()
    except UserError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def users() -> None:
    """People who sign in to the web inbox: admin, member (own departments) or analyst (read-only)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=ROLE, required=True, help="admin: everything; member: its departments; analyst: read-only.")
@click.option("--department", "departments", multiple=True, metavar="D", help="A department the user works for (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--no-password", is_flag=True, help="Sign-in only through [web] trusted_user_header (single sign-on).")
@pass_ctx
def users_add(ctx: Context, name, role, departments, password_stdin, no_password) -> None:
    """Add a user; prompts for the password unless --password-stdin or --no-password."""
    from listener.store import users as user_store

    password = None if no_password else _password(password_stdin)
    with ctx.engine().begin() as conn:
        _user_errors(lambda: user_store.add(conn, name, role, list(departments), password, datetime.now(UTC)))
    click.echo(f"added {name} ({role})")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@pass_ctx
def users_passwd(ctx: Context, name, password_stdin) -> None:
    """Set a user's password."""
    from listener.store import users as user_store

    password = _password(password_stdin)
    with ctx.engine().begin() as conn:
        _user_errors(lambda: user_store.set_password(conn, name, password))
    click.echo(f"password of {name} changed")


@users.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@pass_ctx
def users_list(ctx: Context, fmt) -> None:
    """Every user with role and departments (never a password)."""
    from listener.store import users as user_store

    with ctx.engine().connect() as conn:
        rows = user_store.listing(conn)
    for row in rows:
        row["created_at"] = iso(row["created_at"])
    emit(rows, fmt, ["name", "role", "departments", "password", "created_at"])


@users.command("remove")
@click.argument("name")
@pass_ctx
def users_remove(ctx: Context, name) -> None:
    """Remove a user; their sessions stop working at the next request."""
    from listener.store import users as user_store

    with ctx.engine().begin() as conn:
        _user_errors(lambda: user_store.remove(conn, name))
    click.echo(f"removed {name}")


@cli.group(invoke_without_command=True)
@click.pass_context
def tokens(click_ctx: click.Context) -> None:
    """Bearer tokens for the JSON API (/api/v1/…): add, list, remove."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(tokens_list)


@tokens.command("add")
@click.argument("name")
@click.option("--role", type=ROLE, required=True, help="What the token may do, as for users.")
@click.option("--department", "departments", multiple=True, metavar="D", help="For a member token: its department (repeatable).")
@pass_ctx
def tokens_add(ctx: Context, name, role, departments) -> None:
    """Make a token and print it once; only its hash is stored."""
    from listener.store import users as user_store

    with ctx.engine().begin() as conn:
        token = _user_errors(lambda: user_store.add_token(conn, name, role, list(departments), datetime.now(UTC)))
    click.echo(token)
    click.echo("(shown once; send it as `Authorization: Bearer TOKEN`)", err=True)


@tokens.command("list")
@pass_ctx
def tokens_list(ctx: Context) -> None:
    """Every token's name, role and last use (never the token)."""
    from listener.store import users as user_store

    with ctx.engine().connect() as conn:
        rows = user_store.tokens(conn)
    for row in rows:
        row["created_at"], row["last_used_at"] = iso(row["created_at"]), iso(row["last_used_at"])
    emit(rows, "table", ["name", "role", "departments", "created_at", "last_used_at"])


@tokens.command("remove")
@click.argument("name")
@pass_ctx
def tokens_remove(ctx: Context, name) -> None:
    """Revoke a token at once."""
    from listener.store import users as user_store

    with ctx.engine().begin() as conn:
        _user_errors(lambda: user_store.remove_token(conn, name))
    click.echo(f"removed token {name}")
