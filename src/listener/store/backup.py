"""An online copy of a SQLite store through SQLite's backup API.

Copying the file with cp while the daemon writes can catch a half-written page or miss what sits
in the WAL; the backup API copies a consistent snapshot, page by page, and restarts if a write
lands in between. PostgreSQL has pg_dump for this.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine

PAGES_PER_STEP = 1024


class BackupError(Exception):
    pass


def backup(engine: Engine, path: str | Path) -> tuple[int, Path]:
    """Write the snapshot to ``path`` (which must not exist); returns (pages, path)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        raise BackupError("db backup copies a SQLite file; for PostgreSQL use pg_dump (see the README)")
    target = Path(path).expanduser().resolve()
    source_path = Path(engine.url.database).resolve()
    if target == source_path:
        raise BackupError("the backup must go to another file than the store itself")
    if target.exists():
        raise BackupError(f"{target} exists; give a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(source_path, timeout=30)
    try:
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest, pages=PAGES_PER_STEP)
            pages = dest.execute("PRAGMA page_count").fetchone()[0]
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    finally:
        source.close()
    partial.rename(target)
    return pages, target
