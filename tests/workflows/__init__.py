"""Tests of the workflow manager: the state machine, steps, checkpoints, leases."""
