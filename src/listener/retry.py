"""The retry arithmetic that polling and alert delivery share: exponential backoff to a cap,
jitter so that many retries do not fall due at the same instant, and a server's Retry-After."""

from __future__ import annotations

import random
from datetime import timedelta


def exponential(base: timedelta, attempt: int, cap: timedelta) -> timedelta:
    """``base`` doubled for each attempt after the first, never more than ``cap``."""
    return min(base * 2 ** min(max(attempt, 1) - 1, 30), cap)


def jittered(delay: timedelta, jitter: float, rng: random.Random) -> timedelta:
    return delay * (1 + rng.uniform(-jitter, jitter))


def honour_retry_after(delay: timedelta, retry_after: timedelta | None, longest: timedelta) -> timedelta:
    """Not before the server asked, unless it asked for more than ``longest``."""
    return delay if retry_after is None else max(delay, min(retry_after, longest))
