"""``python -m understanding.compare_language``: the language identifiers compared on TRAIN.

The measurement behind the choice of py3langid (understanding/README.md). Candidates, each alone
(no lexicon, no prior) and then our detector (py3langid + script + lexicon + abstention):
py3langid over all 97 languages, py3langid restricted to the plausible ones, and, when installed
(``pip install lingua-language-detector``; not a dependency), lingua in high and low accuracy mode.
Reported on the language set's train split: accuracy on texts of 20+ characters, on shorter ones
(unknown counts as right only for a text labelled ambiguous), wrong answers, microseconds per call
and the one-off load time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from understanding import language
from understanding.evaluate import DATA, LONG, load


def _py3langid(restricted: bool) -> Callable[[str], str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if restricted:
        ident.set_languages(language.PLAUSIBLE)
    return lambda text: ident.classify(text)[0]


def _lingua(low_accuracy: bool) -> Callable[[str], str] | None:
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        return None
    builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return "" if found is None else found.iso_code_639_1.name.lower()

    return detect


def score(predict: Callable[[str], str], rows: list[dict]) -> dict:
    long_ok = short_ok = long_n = short_n = wrong = 0
    started = time.perf_counter()
    for row in rows:
        pred = predict(row["text"])
        ok = pred == row["lang"] or (pred == "" and row.get("ambiguous", False))
        if len(row["text"].strip()) >= LONG:
            long_n += 1
            long_ok += ok
        else:
            short_n += 1
            short_ok += ok
        wrong += bool(pred) and pred != row["lang"]
    per_call = (time.perf_counter() - started) / max(1, len(rows)) * 1e6
    return {
        "long": long_ok / max(1, long_n),
        "short": short_ok / max(1, short_n),
        "wrong": wrong,
        "us": per_call,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m understanding.compare_language")
    parser.add_argument("--split", default="train", choices=["train", "test"])
    args = parser.parse_args(argv)
    rows = load(DATA / "language" / f"{args.split}.jsonl")
    candidates: list[tuple[str, Callable[[], Callable[[str], str] | None]]] = [
        ("py3langid, 97 languages", lambda: _py3langid(False)),
        ("py3langid, plausible languages", lambda: _py3langid(True)),
        ("lingua, high accuracy", lambda: _lingua(False)),
        ("lingua, low accuracy", lambda: _lingua(True)),
        ("understanding.language.detect", lambda: lambda t: language.detect(t)[0]),
    ]
    print(f"{len(rows)} texts of the language set's {args.split} split")
    header = f"{'candidate':<34} {'20+ chars':>9} {'short':>7} {'wrong':>6} {'us/call':>8}"
    print(f"{header} {'load s':>7}")
    for name, make in candidates:
        started = time.perf_counter()
        predict = make()
        load_s = time.perf_counter() - started
        if predict is None:
            print(f"{name:<34} (not installed)")
            continue
        predict("warm up: the first call may load a model, it is not timed")
        s = score(predict, rows)
        print(
            f"{name:<34} {100 * s['long']:8.1f}% {100 * s['short']:6.1f}% {s['wrong']:>6} "
            f"{s['us']:>8.0f} {load_s:>7.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
