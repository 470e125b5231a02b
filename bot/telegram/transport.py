"""PTB's HTTP transport on aiohttp instead of httpx.

PTB lets a bot plug in its own `BaseRequest`. The bot already depends on aiohttp (webhooks, web
chat), whose C-accelerated HTTP parser costs far less CPU per Bot API call than httpx: the
sends and answers are most of what the process does under load (bench/README.md).
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool; timeouts as PTB passes them."""

    __slots__ = ("_pool_size", "_timeouts", "_media_write_timeout", "_session")

    def __init__(
        self, *, connection_pool_size: int, connect_timeout: float, read_timeout: float,
        write_timeout: float, pool_timeout: float, media_write_timeout: float | None = None,
    ) -> None:
        self._pool_size = connection_pool_size
        self._timeouts = {"connect": connect_timeout, "read": read_timeout, "write": write_timeout,
                          "pool": pool_timeout}
        self._media_write_timeout = media_write_timeout if media_write_timeout is not None else write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        """PTB adds the long-poll time of getUpdates to this."""
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
        write_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
        connect_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
        pool_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        has_files = bool(request_data and request_data.contains_files)
        read = self._given(read_timeout, "read")
        connect = self._given(connect_timeout, "connect")
        pool = self._given(pool_timeout, "pool")
        write = self._given(write_timeout, "write") if not has_files or write_timeout is not BaseRequest.DEFAULT_NONE \
            else self._media_write_timeout
        # aiohttp has no write timeout: the total bounds a stalled upload instead.
        timeout = aiohttp.ClientTimeout(
            total=_sum(read, write, connect, pool), connect=_sum(pool, connect),
            sock_connect=connect, sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout,
                headers={"User-Agent": self.USER_AGENT},
            ) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as error:
            raise TimedOut(f"aiohttp: {type(error).__name__}") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error

    def _given(self, value: object, name: str) -> float | None:
        return self._timeouts[name] if value is BaseRequest.DEFAULT_NONE else value  # type: ignore[return-value]


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """Form-encoded parameters, or multipart when files are uploaded (as PTB's httpx does)."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return request_data.json_parameters
    # quote_fields=False: file names go as UTF-8, as httpx sends them; aiohttp's default would
    # percent-encode them and Telegram would show "B%C3%A1o%20c%C3%A1o.xlsx".
    form = aiohttp.FormData(request_data.json_parameters, quote_fields=False)
    for name, (filename, content, mime_type) in (request_data.multipart_data or {}).items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form


def _sum(*parts: float | None) -> float | None:
    """None (no limit) if any part is unlimited."""
    return None if any(part is None for part in parts) else sum(parts)  # type: ignore[arg-type]
