"""``make eval``'s evaluator and ``make bench``'s understanding case run on a tiny fixture."""

from pathlib import Path

from understanding import bench as ubench
from understanding import evaluate

FIXTURE = Path(__file__).parent / "understanding_fixture"


def test_evaluator_prints_every_block_and_verdict(capsys):
    assert evaluate.main(["--data", str(FIXTURE), "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "4 question messages, 3 temperature texts, 3 language texts" in out
    assert "== Question kind" in out
    assert "true \\ pred     who   what    why   when  where    how  which" in out
    assert "detection: 4 found / 4 labelled question sentences" in out
    assert "calm<->angry confusions:" in out
    assert "abstention (unknown) rate" in out
    assert "question kind overall >= 0.90:" in out
    assert out.count("MET") + out.count("MISSED") >= 5


def test_evaluator_counts_errors_and_calm_angry_confusions():
    pairs = [("calm", "angry"), ("angry", "calm"), ("calm", "calm"), ("urgent", "annoyed")]
    block = evaluate._temperature_block(pairs)
    assert block["calm_angry"] == 2
    assert block["accuracy"] == 0.25
    assert block["confusion"]["calm"]["angry"] == 1


def test_language_wrong_is_counted_apart_from_unknown(tmp_path):
    (tmp_path / "language").mkdir()
    rows = [
        '{"text": "ok", "lang": "it", "channel": "sms", "ambiguous": true}',
        '{"text": "ok", "lang": "it", "channel": "sms", "ambiguous": false}',
        '{"text": "Thank you very much for the quick answer", "lang": "it", "channel": "sms",'
        ' "ambiguous": false}',
    ]
    (tmp_path / "language" / "test.jsonl").write_text("\n".join(rows) + "\n")
    result = evaluate.eval_language(evaluate.load(tmp_path / "language" / "test.jsonl"))
    assert result["wrong"] == 1  # the English text labelled it
    assert result["short_accuracy"] == 0.5  # unknown is right only when labelled ambiguous
    assert result["abstention_rate"] == 2 / 3


def test_question_matching_is_loose_on_greetings_and_punctuation():
    assert evaluate.same_question("Buongiorno, quando arriva?", "quando arriva?")
    assert not evaluate.same_question("Where is it?", "How much is it to ship to Malta?")


def test_bench_measures_cpu_per_message():
    result = ubench.measure(ubench.SAMPLES, repeat=1)
    assert result["calls"] == len(ubench.SAMPLES)
    assert result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert "CPU per message p50" in ubench.format_result(result)
