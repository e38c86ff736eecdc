"""Tests of the `agentstate` command."""
