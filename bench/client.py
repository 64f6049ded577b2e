"""HTTP load from this process (aiohttp, keep-alive connections over loopback)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass
class Burst:
    seconds: float
    errors: int
    latencies_ms: list[float] = field(repr=False)
    first_error: str = ""


def describe(status: int, payload: bytes) -> str:
    """A short description of an unexpected answer (Django's HTML error page is not shown)."""
    text = payload.decode(errors="replace").strip()
    if text.startswith("<"):
        return f"HTTP {status} (HTML error page; see the server log)"
    return f"HTTP {status}: {text[:200]}"


async def _post_burst(
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str] | Sequence[dict[str, str]],
    concurrency: int,
    expect: int,
    content_type: str = "application/json",
) -> Burst:
    # One header set for all bodies, or one per body (e.g. a signature per request).
    per_body = not isinstance(headers, dict)
    shared = {} if per_body else {**headers, "Content-Type": content_type}
    latencies: list[float] = []
    errors = 0
    first_error = ""
    next_index = iter(range(len(bodies)))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:

        async def worker() -> None:
            nonlocal errors, first_error
            for i in next_index:
                started = time.perf_counter()
                try:
                    sent = {**headers[i], "Content-Type": content_type} if per_body else shared
                    async with session.post(url, data=bodies[i], headers=sent) as response:
                        payload = await response.read()
                        status = response.status
                except aiohttp.ClientError as exc:
                    status, payload = 0, repr(exc).encode()
                latencies.append((time.perf_counter() - started) * 1000)
                if status != expect:
                    errors += 1
                    first_error = first_error or describe(status, payload)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Burst(seconds, errors, latencies, first_error)


def post_burst(
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str] | Sequence[dict[str, str]],
    concurrency: int,
    expect: int = 201,
    content_type: str = "application/json",
) -> Burst:
    """POST every body to ``url`` over ``concurrency`` keep-alive connections; time the lot."""
    return asyncio.run(_post_burst(url, bodies, headers, concurrency, expect, content_type))


@dataclass
class Probe:
    """One kind of GET measured in the read phase."""

    name: str
    urls: list[str]  # cycled through
    headers: dict[str, str]
    check: object = None  # callable(json) -> str | None (an error message)
    baseline: bool = False  # a reference point, not a product endpoint
    target_ms: float = 25.0  # p95 target
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    errors: int = 0
    first_error: str = ""


async def _measure(probes: Sequence[Probe], requests: int, warmup: int) -> None:
    # One connection, sequential requests: server latency plus loopback, no queueing.
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        for i in range(warmup + requests):
            # Interleaved, so noise of the shared machine spreads over every probe alike.
            for probe in probes:
                url = probe.urls[i % len(probe.urls)]
                started = time.perf_counter()
                async with session.get(url, headers=probe.headers) as response:
                    body = await response.read()
                    status = response.status
                elapsed = (time.perf_counter() - started) * 1000
                if i < warmup:
                    continue
                probe.latencies_ms.append(elapsed)
                problem = describe(status, body) if status != 200 else None
                if problem is None and probe.check is not None:
                    problem = probe.check(body)
                if problem:
                    probe.errors += 1
                    probe.first_error = probe.first_error or problem


def measure(probes: Sequence[Probe], requests: int, warmup: int = 20) -> None:
    asyncio.run(_measure(probes, requests, warmup))


async def _get_json(url: str, headers: dict[str, str]) -> dict:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.get(url, headers=headers) as response,
    ):
        response.raise_for_status()
        return await response.json()


def get_json(url: str, headers: dict[str, str]) -> dict:
    return asyncio.run(_get_json(url, headers))


async def _get_text(url: str, headers: dict[str, str]) -> str:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.get(url, headers=headers) as response,
    ):
        response.raise_for_status()
        return await response.text()


def get_text(url: str, headers: dict[str, str]) -> str:
    return asyncio.run(_get_text(url, headers))
