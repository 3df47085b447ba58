"""Secrets come from the environment or from systemd credentials ($CREDENTIALS_DIRECTORY/NAME),
never from config.toml, and are never logged."""

from __future__ import annotations

import os
from pathlib import Path


def secret(variable: str | None) -> str | None:
    """The value of the environment variable, else of the systemd credential of that name."""
    if not variable:
        return None
    value = os.environ.get(variable)
    if value:
        return value
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if folder and (Path(folder) / variable).is_file():
        return (Path(folder) / variable).read_text().strip() or None
    return None
