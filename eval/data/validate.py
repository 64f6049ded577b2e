"""Check the hand-written labelled sets: JSON validity, label vocabulary, substrings, counts.

Run: python eval/data/validate.py   (exit status 1 on any error; sets not present are skipped)
"""

import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
KINDS = ("who", "what", "why", "when", "where", "how", "which")
CHANNELS = {"chat", "sms", "whatsapp", "email"}
errors: list[str] = []


def rows(set_name: str, split: str) -> list[dict]:
    path = ROOT / set_name / f"{split}.jsonl"
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{n}: {exc}")
    return out


def check(cond: bool, where: str, msg: str) -> None:
    if not cond:
        errors.append(f"{where}: {msg}")


def main() -> int:
    seen: dict[str, set] = collections.defaultdict(set)
    for split in ("train", "test"):
        for r in rows("questions", split):
            w = f"questions/{split}: {r.get('text', '')[:40]!r}"
            check(r.get("lang") in ("it", "en") and r.get("channel") in CHANNELS, w, "lang/channel")
            for q in r.get("questions", []):
                check(q.get("kind") in KINDS, w, f"kind {q.get('kind')}")
                check(
                    q.get("text", "") in r["text"] and q.get("text"), w, "question not a substring"
                )
            seen["questions"].add(r["text"])
        for r in rows("temperature", split):
            w = f"temperature/{split}: {r.get('text', '')[:40]!r}"
            check(r.get("label") in ("calm", "urgent", "annoyed", "angry"), w, "label")
            check(r.get("lang") in ("it", "en") and r.get("channel") in CHANNELS, w, "lang/channel")
        for r in rows("language", split):
            w = f"language/{split}: {r.get('text', '')[:40]!r}"
            check(isinstance(r.get("lang"), str) and len(r["lang"]) == 2, w, "lang code")
            check(
                isinstance(r.get("ambiguous"), bool) and r.get("channel") in CHANNELS, w, "fields"
            )
        for r in rows("optout", split):
            w = f"optout/{split}: {r.get('text', '')[:40]!r}"
            check(r.get("label") in ("opt_out", "opt_in", "none"), w, "label")
            check(
                r.get("channel") in ("sms", "whatsapp") and r.get("lang") in ("it", "en"),
                w,
                "fields",
            )
            check(isinstance(r.get("unsure_ok"), bool), w, "unsure_ok")
    kb_path = ROOT / "knowledge" / "kb.json"
    if kb_path.exists():
        kb = json.loads(kb_path.read_text(encoding="utf-8"))
        keys = set()
        for a in kb:
            w = f"kb {a.get('key')}"
            check(a.get("key") not in keys, w, "duplicate key")
            keys.add(a.get("key"))
            for f in ("title", "body", "short"):
                check(set(a.get(f, {})) >= {"it", "en"}, w, f"{f} needs it and en")
            for lang, s in a.get("short", {}).items():
                check(
                    s.count(". ") + s.count("? ") + s.count("! ") <= 1,
                    w,
                    f"short {lang} > 2 sentences",
                )
            check(all(k in KINDS for k in a.get("kinds", [])) and a.get("kinds"), w, "kinds")
            check(
                isinstance(a.get("topics"), list) and isinstance(a.get("url"), str), w, "topics/url"
            )
        for split in ("train", "test"):
            for r in rows("knowledge", split):
                w = f"knowledge/{split}: {r.get('text', '')[:40]!r}"
                check(r.get("answer_key") is None or r["answer_key"] in keys, w, "unknown key")
                check(
                    r.get("lang") in ("it", "en") and r.get("channel") in CHANNELS,
                    w,
                    "lang/channel",
                )
    for e in errors:
        print("ERROR", e)
    print("errors:", len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
