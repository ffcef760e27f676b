"""Benchmark harness: `python -m bench.run` (see docs/benchmark.md)."""
