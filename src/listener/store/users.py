"""People and API tokens: who may see and act on which department's mentions.

Passwords are hashed with Argon2 (argon2-cffi's defaults, RFC 9106's second recommendation);
API tokens are long random strings, so a SHA-256 of them is enough to store and compare.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, select, update

from listener.store.tables import api_tokens, user_departments, users

ROLES = ("admin", "member", "analyst")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anyone has")


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever is asking: a signed-in person or an API token."""

    name: str
    role: str
    departments: frozenset[str]
    user_id: int | None = None

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "analyst")

    def may_read(self, mention_departments: set[str]) -> bool:
        return self.sees_all or bool(self.departments & mention_departments)

    def may_act(self, mention_departments: set[str]) -> bool:
        if self.role == "admin":
            return True
        return self.role == "member" and bool(self.departments & mention_departments)


class UserError(ValueError):
    """A request about users that cannot be carried out; the message says why, in one line."""


def add(conn: Connection, name: str, role: str, departments: list[str], password: str | None, now: datetime) -> int:
    if role not in ROLES:
        raise UserError(f'unknown role "{role}"; use admin, member or analyst')
    if role == "member" and not departments:
        raise UserError("a member needs at least one --department")
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise UserError(f'a user named "{name}" exists already; use `listener users passwd` to change the password')
    user_id = conn.execute(users.insert().values(
        name=name, role=role, created_at=now, password_hash=_hasher.hash(password) if password else None,
    )).inserted_primary_key[0]
    if departments:
        conn.execute(user_departments.insert(), [{"user_id": user_id, "department": d} for d in dict.fromkeys(departments)])
    return user_id


def set_password(conn: Connection, name: str, password: str) -> None:
    if not conn.execute(update(users).where(users.c.name == name).values(password_hash=_hasher.hash(password))).rowcount:
        raise UserError(f'no user named "{name}"')


def remove(conn: Connection, name: str) -> None:
    if not conn.execute(delete(users).where(users.c.name == name)).rowcount:
        raise UserError(f'no user named "{name}"')


def listing(conn: Connection) -> list[dict]:
    departments: dict[int, list[str]] = {}
    for row in conn.execute(select(user_departments).order_by(user_departments.c.department)):
        departments.setdefault(row.user_id, []).append(row.department)
    return [
        {"name": r.name, "role": r.role, "departments": ", ".join(departments.get(r.id, [])),
         "password": "set" if r.password_hash else "none (single sign-on only)", "created_at": r.created_at}
        for r in conn.execute(select(users).order_by(users.c.name))
    ]


def principal(conn: Connection, name: str) -> Principal | None:
    row = conn.execute(select(users.c.id, users.c.role).where(users.c.name == name)).first()
    if row is None:
        return None
    departments = conn.execute(select(user_departments.c.department).where(user_departments.c.user_id == row.id)).scalars()
    return Principal(name, row.role, frozenset(departments), row.id)


def authenticate(conn: Connection, name: str, password: str) -> Principal | None:
    """The user if the password is theirs. An unknown name costs the same hashing time as a wrong
    password, so response times do not tell which names exist."""
    row = conn.execute(select(users.c.password_hash).where(users.c.name == name)).first()
    stored = row.password_hash if row and row.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return principal(conn, name) if row and row.password_hash else None


def names(conn: Connection) -> list[str]:
    return list(conn.execute(select(users.c.name).order_by(users.c.name)).scalars())


def user_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(users.c.id).where(users.c.name == name)).scalar()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(conn: Connection, name: str, role: str, departments: list[str], now: datetime) -> str:
    """Makes a token and returns it; only its hash is stored, so this is the one time it is seen."""
    if role not in ROLES:
        raise UserError(f'unknown role "{role}"; use admin, member or analyst')
    if role == "member" and not departments:
        raise UserError("a member token needs at least one --department")
    if conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == name)).first():
        raise UserError(f'a token named "{name}" exists already; remove it first')
    token = "lst_" + secrets.token_urlsafe(32)
    conn.execute(api_tokens.insert().values(name=name, token_hash=_token_hash(token), role=role,
                                            departments=list(dict.fromkeys(departments)), created_at=now))
    return token


def remove_token(conn: Connection, name: str) -> None:
    if not conn.execute(delete(api_tokens).where(api_tokens.c.name == name)).rowcount:
        raise UserError(f'no token named "{name}"')


def tokens(conn: Connection) -> list[dict]:
    return [{"name": r.name, "role": r.role, "departments": ", ".join(r.departments), "created_at": r.created_at,
             "last_used_at": r.last_used_at}
            for r in conn.execute(select(api_tokens).order_by(api_tokens.c.name))]


def token_principal(conn: Connection, token: str, now: datetime) -> Principal | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == _token_hash(token))).first()
    if row is None:
        return None
    conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    return Principal("token:" + row.name, row.role, frozenset(row.departments))
