"""The bot's one aiohttp application: health check, the web chat and any adapter's routes.

The runtime builds the routes (web chat, Telegram webhook) and hands them in, so this module
knows no platform and creates nothing at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

# Web chat uploads travel as base64 inside a WebSocket frame, which `client_max_size` does not
# cover; this bounds plain HTTP bodies (webhook updates, future form posts) with room for a
# 10 MB upload sent as multipart.
DEFAULT_CLIENT_MAX_SIZE = 16 * 1024 * 1024

AppHook = Callable[[web.Application], Awaitable[None]]


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

    `on_shutdown` runs before the server waits for open requests: close WebSockets there
    (`WebChatHub.close_all`), or shutdown waits for them until its timeout.
    """
    app = web.Application(client_max_size=client_max_size)
    app.add_routes([web.get("/health", health), web.get("/", root)])
    app.add_routes(list(routes))
    if on_shutdown is not None:
        app.on_shutdown.append(on_shutdown)
    if on_cleanup is not None:
        app.on_cleanup.append(on_cleanup)
    return app
