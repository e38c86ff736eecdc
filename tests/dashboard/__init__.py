"""Tests of the operations dashboard: test client and a real browser."""
