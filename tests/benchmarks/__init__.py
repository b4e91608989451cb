"""Benchmarks against raw baselines, run apart from the test suite: ``python -m tests.benchmarks``."""
