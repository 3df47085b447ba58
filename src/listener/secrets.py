"""Secrets by name: from the environment, else from systemd credentials ($CREDENTIALS_DIRECTORY/NAME).

Never from config.toml (which names only the variable), and never logged: callers put the
variable's name in errors, not its value.
"""

from __future__ import annotations

import os
from pathlib import Path


def secret(variable: str | None) -> str | None:
    if not variable:
        return None
    value = os.environ.get(variable)
    if value:
        return value
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if folder and (Path(folder) / variable).is_file():
        return (Path(folder) / variable).read_text().strip() or None
    return None
