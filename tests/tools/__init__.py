"""Tests of the tool manager: stats, cache, retries."""
