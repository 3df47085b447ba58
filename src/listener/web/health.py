"""/healthz, /readyz and /metrics: what systemd's watchdog, a load balancer and Prometheus ask.

/healthz answers as long as the process serves HTTP. /readyz is 200 only while the store answers
and the scheduler ticks, with a summary per source, and 503 otherwise (also while stopping).
/metrics is Prometheus' text format from the registry in listener.metrics.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from listener import metrics


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


async def readyz(request: Request) -> Response:
    daemon = getattr(request.app.state, "daemon", None)
    if daemon is None:
        return JSONResponse({"ready": False, "scheduler": "not running"}, status_code=503)
    state = await daemon.readiness()
    body = {
        "ready": state.ready,
        "store": "ok" if state.store_error is None else f"unreachable: {state.store_error}",
        "scheduler": {
            "ticking": state.ticking,
            "last_tick_s_ago": state.seconds_since_tick,
            "stopping": state.stopping,
        },
        "last_poll_at": _iso(state.last_poll_at),
        "sources": [
            {"name": s.name, "state": s.state, "failures": s.failures,
             "last_success_at": _iso(s.last_success_at), "next_poll_at": _iso(s.next_poll_at)}
            for s in state.sources
        ],
    }
    return JSONResponse(body, status_code=200 if state.ready else 503)


async def metrics_page(request: Request) -> Response:
    """Read in a thread: the database gauges are queried at each scrape."""
    web = request.app.state.web
    page = await asyncio.to_thread(metrics.exposition, web.engine, web.clock)
    return Response(page, media_type=metrics.CONTENT_TYPE)


def _iso(when) -> str | None:
    return when.isoformat() if when else None
