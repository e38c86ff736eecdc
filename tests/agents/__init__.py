"""Tests of the agents manager: snapshots, checkpoints, tracking, leases, replay, restore."""
