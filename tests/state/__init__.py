"""Tests of the core StateManager: saves, updates, versions, events, prefixes, keys, limits."""
