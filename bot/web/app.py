"""The bot's one aiohttp application: health check, the web chat and any adapter's routes.

The runtime builds the routes (web chat, Telegram webhook) and hands them in, so this module
knows no platform and creates nothing at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from weakref import WeakSet

from aiohttp import WSCloseCode, web

# Web chat uploads travel as base64 inside a WebSocket frame, which `client_max_size` does not
# cover; this bounds plain HTTP bodies (webhook updates, future form posts) with room for a
# 10 MB upload sent as multipart.
DEFAULT_CLIENT_MAX_SIZE = 16 * 1024 * 1024

AppHook = Callable[[web.Application], Awaitable[None]]
OPEN_SOCKETS = web.AppKey("hoagiai.open_sockets", WeakSet[web.WebSocketResponse])


def track_socket(request: web.Request, ws: web.WebSocketResponse) -> None:
    """Remember an open WebSocket so shutdown can close it: aiohttp otherwise waits for it
    until its shutdown timeout (60 s) before the process can exit."""
    sockets = request.app.get(OPEN_SOCKETS)
    if sockets is not None:
        sockets.add(ws)


async def close_open_sockets(app: web.Application) -> None:
    """`on_shutdown`: browsers reconnect (to this process after a restart, or to another)."""
    sockets = list(app[OPEN_SOCKETS])
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
        return_exceptions=True,
    )


async def health(request: web.Request) -> web.Response:
    """For load balancers and the demo's start-up check: the process serves HTTP."""
    return web.json_response({"status": "ok"})


async def root(request: web.Request) -> web.Response:
    """The site's front page is the web chat."""
    raise web.HTTPFound("/chat")


def create_web_app(
    routes: Sequence[web.AbstractRouteDef],
    *,
    on_cleanup: AppHook | None = None,
    on_shutdown: AppHook | None = None,
    client_max_size: int = DEFAULT_CLIENT_MAX_SIZE,
) -> web.Application:
    """The application with `/health`, `/` → `/chat`, and `routes`.

    WebSockets registered with `track_socket` are closed on shutdown; `on_shutdown` and
    `on_cleanup` are extra hooks for the caller.
    """
    app = web.Application(client_max_size=client_max_size)
    app[OPEN_SOCKETS] = WeakSet()
    app.on_shutdown.append(close_open_sockets)
    app.add_routes([web.get("/health", health), web.get("/", root)])
    app.add_routes(list(routes))
    if on_shutdown is not None:
        app.on_shutdown.append(on_shutdown)
    if on_cleanup is not None:
        app.on_cleanup.append(on_cleanup)
    return app
