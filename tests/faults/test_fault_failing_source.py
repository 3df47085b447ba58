"""Fault (c): a source that answers 500 for days, with the clock injected. Its backoff grows to
the cap and stays there, it is never abandoned, and admins are told once, and once on recovery."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from test_scheduler import events, make_poller, poll_once, state  # noqa: F401 - events is a fixture

DAYS = 4
CAP = timedelta(hours=6)


def test_a_source_failing_for_days_backs_off_to_the_cap_and_comes_back(tmp_path, server, clock, events):  # noqa: F811
    url = server.add("/feed", status=500)
    config, engine = make_poller(tmp_path, None, clock, {"blog": url})
    started = clock()
    delays = []
    while clock() - started < timedelta(days=DAYS):
        outcome = poll_once(config, engine, clock)["blog"]
        assert not outcome.ok and outcome.error.startswith("HTTP 500 from")
        delays.append(outcome.next_poll_at - clock())
        clock.now = outcome.next_poll_at
    growing = delays[: delays.index(max(delays)) + 1]
    assert all(b >= a * 0.85 for a, b in pairwise(growing)), "the backoff shrank"
    capped = [d for d in delays if d > CAP * 0.85]
    assert len(capped) >= DAYS * 3, "the delay did not stay at the cap"
    assert max(delays) <= CAP * 1.1 + timedelta(seconds=1)
    s = state(engine, "blog")
    assert s.enabled and s.in_config and s.failures == len(delays)
    assert s.next_poll_at - clock() <= CAP * 1.1, "the source is still scheduled"

    server.add_fixture("/feed", "atom/bearblog_herman.atom.xml")
    assert poll_once(config, engine, clock)["blog"].ok
    clock.advance(minutes=20)
    assert poll_once(config, engine, clock)["blog"].ok
    names = [e["event"] for e in events()]
    assert names.count("source.failing") == 1
    assert names.count("source.recovered") == 1
    assert names.count("poll.failed") == len(delays)
    print(f"\nfault (c): {len(delays)} failed polls over {DAYS} days; first retry after "
          f"{delays[0].total_seconds():.0f} s, cap {max(delays).total_seconds() / 3600:.1f} h reached after "
          f"{len(growing)} polls; told once, recovered once")
