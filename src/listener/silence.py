"""When a working source has gone quiet for longer than it usually does: polled and streamed alike.

A source's history (how often something new arrived, and when last) lives on its row; these pure
functions judge it, so the poller and the stream supervisor say `source.silent` on the same terms.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from listener.store.sources import SourceState

MIN_SILENCE = timedelta(days=1)


def usual_gap(state: SourceState) -> timedelta | None:
    """Average time between polls (or stream checkpoints) that brought something new, once there
    is a history to judge by."""
    if state.polls_with_new < 3 or state.first_new_at is None or state.last_new_at is None:
        return None
    return (state.last_new_at - state.first_new_at) / (state.polls_with_new - 1)


def is_silent(state: SourceState, now: datetime) -> bool:
    """Quiet for four of its usual gaps (and at least a day): worth one look from an admin."""
    gap = usual_gap(state)
    if gap is None or state.last_new_at is None:
        return False
    return now - state.last_new_at > max(4 * gap, 10 * state.interval, MIN_SILENCE)


def with_new(state: SourceState, now: datetime, new: int) -> SourceState:
    """The state as it will be stored after this poll, for judging silence on fresh facts."""
    if not new:
        return state
    return replace(
        state, last_new_at=now, first_new_at=state.first_new_at or now, polls_with_new=state.polls_with_new + 1
    )


def announce(log, before: SourceState, after: SourceState, silent: bool, new: int) -> None:
    """Say once that a source fell silent, and once that it came back."""
    if silent and not before.silent:
        log.warning("source.silent", last_new_at=after.last_new_at.isoformat(),
                    usual_gap_s=int(usual_gap(after).total_seconds()))
    elif before.silent and not silent:
        log.info("source.active", new=new)
