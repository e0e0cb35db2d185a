"""Benchmarks of the guaranteed queue and the voice webhooks; `bench/run` runs them all."""
