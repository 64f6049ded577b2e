"""``make bench``: ingest rate against a bare Django baseline, and read latency on a big seed.

Run ``python -m bench --help``. Benchmark-only code (the bare app, its settings and URLs) lives
here so the product does not carry it.
"""
