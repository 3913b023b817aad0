"""Benchmarks: ingest throughput and condition latency (see bench/README.md)."""
