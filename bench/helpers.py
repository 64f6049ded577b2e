"""Pure helpers of the benchmark: statistics, payloads, report formatting.

Nothing here imports Django, opens a socket or starts a process, so tests can import it.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

INGEST_TARGET_RATIO = 0.50  # ours >= 50% of the bare Django rate
READ_TARGET_P95_MS = 25.0
UI_TARGET_P95_MS = 100.0  # agent UI pages (issue 8)

_WORDS = (
    "order",
    "invoice",
    "delivery",
    "refund",
    "parcel",
    "account",
    "password",
    "login",
    "payment",
    "card",
    "shipping",
    "tracking",
    "address",
    "return",
    "exchange",
    "size",
    "colour",
    "warranty",
    "support",
    "help",
    "question",
    "when",
    "where",
    "why",
    "how",
    "which",
    "what",
    "who",
    "today",
    "tomorrow",
    "please",
    "thanks",
    "urgent",
    "again",
    "still",
    "waiting",
    "reply",
    "ordine",
    "fattura",
    "consegna",
    "rimborso",
    "pacco",
    "pagamento",
    "grazie",
    "quando",
    "dove",
    "perché",
    "come",
    "quale",
)


def percentile(values: Iterable[float], pct: float) -> float:
    """The ``pct``-th percentile (0..100) with linear interpolation (NumPy's default method).

    Raises ``ValueError`` for an empty input or a percentage outside 0..100.
    """
    data = sorted(values)
    if not data:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    rank = (len(data) - 1) * pct / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(data[low])
    return data[low] + (data[high] - data[low]) * (rank - low)


def median(values: Iterable[float]) -> float:
    return percentile(values, 50)


@dataclass
class LatencySummary:
    count: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, values_ms: Sequence[float]) -> LatencySummary:
        return cls(
            count=len(values_ms),
            p50=percentile(values_ms, 50),
            p95=percentile(values_ms, 95),
            p99=percentile(values_ms, 99),
            max=max(values_ms),
            mean=sum(values_ms) / len(values_ms),
        )


@dataclass
class LoadRun:
    """One timed burst of POSTs to one side (``bare`` or ``hub``)."""

    side: str
    requests: int
    seconds: float
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    db_sessions: int | None = None  # PostgreSQL sessions opened during the run

    @property
    def rate(self) -> float:
        ok = self.requests - self.errors
        return ok / self.seconds if self.seconds > 0 else 0.0


def side_summary(runs: Sequence[LoadRun]) -> dict:
    """Median rate and pooled latency figures of one side's rounds."""
    latencies = [ms for run in runs for ms in run.latencies_ms]
    lat = LatencySummary.of(latencies) if latencies else None
    sessions = [r.db_sessions for r in runs if r.db_sessions is not None]
    requests = sum(r.requests for r in runs)
    return {
        "rounds": len(runs),
        "rates": [round(r.rate, 1) for r in runs],
        "median_rate": round(median([r.rate for r in runs]), 1),
        "errors": sum(r.errors for r in runs),
        "p50_ms": round(lat.p50, 2) if lat else None,
        "p95_ms": round(lat.p95, 2) if lat else None,
        "db_sessions_per_request": (
            round(sum(sessions) / requests, 2) if sessions and requests else None
        ),
    }


def ratio(ours: float, bare: float) -> float:
    return ours / bare if bare > 0 else 0.0


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$", re.MULTILINE)


def top_errors(log_text: str, limit: int = 3) -> list[tuple[int, str]]:
    """The most frequent exception lines (``pkg.SomeError: message``) of a server log."""
    counts = Counter(
        f"{m.group(1)}: {m.group(2).strip()}"[:200] for m in _EXCEPTION_LINE.finditer(log_text)
    )
    return [(n, line) for line, n in counts.most_common(limit)]


def sender_addresses(prefix: str, count: int) -> list[str]:
    return [f"bench-{prefix}-s{i:04d}" for i in range(count)]


def make_payloads(
    n: int, *, endpoint_id: int, senders: int, prefix: str, seed: int = 0
) -> list[dict]:
    """``n`` inbound bodies for ``POST /api/v1/inbound/`` from ``senders`` distinct senders.

    Deterministic for a given ``seed``; provider message ids are unique within ``prefix``. Every
    sender writes at least once when ``n >= senders``, the rest are drawn at random.
    """
    if n < 0 or senders < 1:
        raise ValueError("need n >= 0 and at least one sender")
    rng = random.Random(f"{seed}:{prefix}")
    addresses = sender_addresses(prefix, senders)
    order = list(range(senders))
    rng.shuffle(order)
    picks = [order[i] if i < senders else rng.randrange(senders) for i in range(n)]
    bodies = []
    for i, who in enumerate(picks):
        words = rng.choices(_WORDS, k=rng.randint(6, 40))
        bodies.append(
            {
                "endpoint": endpoint_id,
                "sender": {
                    "kind": "api",
                    "address": addresses[who],
                    "name": f"Bench sender {who}",
                },
                "text": " ".join(words).capitalize() + "?",
                "provider_message_id": f"bench-{prefix}-{i:07d}",
            }
        )
    return bodies


def encode_bodies(bodies: Sequence[dict]) -> list[bytes]:
    return [json.dumps(body, separators=(",", ":")).encode() for body in bodies]


def alternate(rounds: int, first: str = "bare", second: str = "hub") -> list[tuple[int, str]]:
    """The order of the ingest runs: ``[(0, bare), (0, hub), (1, bare), (1, hub), ...]``."""
    return [(r, side) for r in range(rounds) for side in (first, second)]


def with_database(url: str, name: str) -> str:
    """``url`` with its database (path) replaced by ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain fixed-width text table (first column left-aligned, the others right-aligned)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        out = [row[0].ljust(widths[0])]
        out += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
