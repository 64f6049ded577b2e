"""The live chat case of ``python -m bench``: many visitor sockets on one web process, and the
time from an agent's reply (REST API call) to the frame on the visitor's socket.

The server runs as in production (uvicorn, Redis channel layer, a real Celery worker beside it).
The chat adapter delivers inline: the web process pushes a reply to the visitor's group right
after commit (the worker only retries failures), so the measured path is the product's:
API -> outbox row -> channel layer -> visitor socket.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp

from bench import helpers as h
from config import queues

ROOT = Path(__file__).resolve().parent.parent
CHAT_TARGET_P99_MS = 50.0
TIMEOUT = aiohttp.ClientTimeout(total=60)


def _endpoint():
    from hub.models import Channel, Endpoint, Team

    team, _ = Team.objects.get_or_create(slug="bench-chat", defaults={"name": "Bench chat"})
    endpoint, _ = Endpoint.objects.update_or_create(
        channel=Channel.CHAT,
        address="bench-chat",
        defaults={"name": "Bench chat", "team": team, "settings": {"email_continuity": False}},
    )
    return endpoint


class Visitor:
    def __init__(self) -> None:
        self.ws = None
        self.conversation_id = 0
        self.frames: asyncio.Queue = asyncio.Queue()
        self.reader = None

    async def read(self) -> None:
        async for frame in self.ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                await self.frames.put(frame.json())

    async def expect(self, predicate, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            frame = await asyncio.wait_for(self.frames.get(), deadline - time.monotonic())
            if predicate(frame):
                return frame


async def _open(session, base: str, key: str, index: int) -> Visitor:
    visitor = Visitor()
    async with session.post(f"{base}/chat/api/session/", json={"endpoint": key}) as response:
        response.raise_for_status()
        token = (await response.json())["token"]
    ws_url = base.replace("http://", "ws://") + f"/ws/chat/{key}/"
    visitor.ws = await session.ws_connect(ws_url, heartbeat=None)
    visitor.reader = asyncio.create_task(visitor.read())
    await visitor.ws.send_json({"type": "hello", "token": token})
    await visitor.expect(lambda f: f.get("type") == "ready")
    await visitor.ws.send_json(
        {"type": "message", "text": f"Hi, visitor {index} here", "client_id": f"b{index}"}
    )
    ack = await visitor.expect(lambda f: f.get("type") == "ack")
    visitor.conversation_id = ack["message"]["conversation_id"]
    return visitor


async def _run(base: str, key: str, token: str, sockets: int, replies: int, log) -> dict:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        started = time.perf_counter()
        gate = asyncio.Semaphore(50)

        async def open_one(i: int) -> Visitor:
            async with gate:
                return await _open(session, base, key, i)

        visitors = await asyncio.gather(*(open_one(i) for i in range(sockets)))
        log(f"  {sockets} visitor sockets open in {time.perf_counter() - started:.1f}s")
        headers = {"Authorization": f"Token {token}"}
        rng = random.Random(11)
        latencies, api_ms, errors = [], [], 0
        for n in range(replies):
            visitor = rng.choice(visitors)
            text = f"reply {n} {uuid.uuid4().hex[:6]}"
            t0 = time.perf_counter()
            async with session.post(
                f"{base}/api/v1/conversations/{visitor.conversation_id}/reply/",
                json={"text": text},
                headers=headers,
            ) as response:
                status = response.status
            api_ms.append((time.perf_counter() - t0) * 1000)
            if status != 201:
                errors += 1
                continue
            try:
                await visitor.expect(
                    lambda f, text=text: (
                        f.get("type") == "message" and f["message"].get("text") == text
                    )
                )
            except TimeoutError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
        still_open = sum(not v.ws.closed for v in visitors)
        for visitor in visitors:
            await visitor.ws.close()
            visitor.reader.cancel()
    lat = h.LatencySummary.of(latencies) if latencies else None
    api = h.LatencySummary.of(api_ms)
    return {
        "sockets": sockets,
        "still_open": still_open,
        "replies": replies,
        "errors": errors,
        "p50_ms": round(lat.p50, 2) if lat else None,
        "p99_ms": round(lat.p99, 2) if lat else None,
        "api_p50_ms": round(api.p50, 2),
        "ok": bool(lat) and lat.p99 < CHAT_TARGET_P99_MS and not errors,
    }


def run_chat(args, server, env: dict, token: str, log) -> dict:
    endpoint = _endpoint()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            ",".join(queues.names(env["HUB_CELERY_QUEUE"])),
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # the worker connects to the broker
        result = asyncio.run(
            _run(
                server.base_url,
                endpoint.public_key,
                token,
                args.chat_sockets,
                args.chat_replies,
                log,
            )
        )
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    log(
        f"  reply -> visitor socket: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms "
        f"({result['errors']} errors, {result['still_open']}/{result['sockets']} sockets open)"
    )
    return result


def report(summary: dict, log) -> None:
    chat = summary.get("chat")
    if not chat:
        return
    log("Live chat (one web process, worker running; agent reply via API -> visitor socket):")
    log(
        h.format_table(
            ["sockets", "still open", "replies", "p50 ms", "p99 ms", "API p50 ms", "target"],
            [
                [
                    chat["sockets"],
                    chat["still_open"],
                    chat["replies"],
                    chat["p50_ms"],
                    chat["p99_ms"],
                    chat["api_p50_ms"],
                    f"{h.verdict(chat['ok'])} (p99 < {CHAT_TARGET_P99_MS:.0f} ms)",
                ]
            ],
        )
    )
    log("")
