"""Benchmarks of agentstate-redis, side by side with raw redis-py, redis-benchmark and peer libraries.

Run ``python -m bench`` (see bench/README.md).
"""
