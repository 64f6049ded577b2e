"""``python -m understanding.bench``: CPU time of ``analyse`` per message, p50/p99.

Texts: every text of the labelled sets (eval/data, both splits: chat, SMS, WhatsApp and email
sized), or built-in samples when the sets are absent. Each text is analysed ``--repeat`` times;
the CPU time of each call (``time.thread_time_ns``) is one sample. The one-off load of the models
(py3langid's, VADER's lexicon) is reported apart: it happens once per process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from understanding import analyse
from understanding.evaluate import DATA, load

TARGET_P50_MS = 1.0
TARGET_P99_MS = 5.0
SAMPLES = [
    "ok grazie",
    "STOP",
    "Buongiorno, vorrei sapere quando arriva il mio ordine 4411. Grazie, Maria",
    "Hi! Where is my parcel?? It's been 2 weeks. This is ridiculous!!!",
    "ciao xké nn è ancora arrivato? mi serve x domani",
    "Good morning,\n\nI ordered a sofa last month and the delivery was scheduled for Monday. "
    "Nobody came. Could you tell me the reason for the delay and when the new slot will be? "
    "Also, which office deals with damaged deliveries?\n\nKind regards,\nJohn",
]


def texts(data: Path = DATA) -> list[str]:
    out: list[str] = []
    for name in ("questions", "temperature", "language"):
        for split in ("train", "test"):
            out += [r["text"] for r in load(data / name / f"{split}.jsonl")]
    return out or list(SAMPLES)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(sample: list[str], repeat: int = 3) -> dict:
    started = time.perf_counter()
    analyse("warm up: load the models once")
    load_s = time.perf_counter() - started
    cpu_ms: list[float] = []
    for _ in range(repeat):
        for text in sample:
            t0 = time.thread_time_ns()
            analyse(text)
            cpu_ms.append((time.thread_time_ns() - t0) / 1e6)
    p50, p99 = percentile(cpu_ms, 50), percentile(cpu_ms, 99)
    return {
        "texts": len(sample),
        "calls": len(cpu_ms),
        "mean_chars": round(sum(map(len, sample)) / len(sample), 1),
        "load_s": round(load_s, 3),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(max(cpu_ms), 3),
        "p50_ok": p50 <= TARGET_P50_MS,
        "p99_ok": p99 <= TARGET_P99_MS,
    }


def format_result(r: dict) -> str:
    return (
        f"understanding: {r['calls']} analyse() calls over {r['texts']} texts "
        f"(mean {r['mean_chars']} chars), CPU per message p50 {r['p50_ms']:.3f} ms "
        f"(target <= {TARGET_P50_MS:g}: {'OK' if r['p50_ok'] else 'MISSED'}), "
        f"p99 {r['p99_ms']:.3f} ms (target <= {TARGET_P99_MS:g}: "
        f"{'OK' if r['p99_ok'] else 'MISSED'}), max {r['max_ms']:.3f} ms; "
        f"one-off model load {r['load_s']:.2f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m understanding.bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(texts(), max(1, args.repeat))
    print(json.dumps(result) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
