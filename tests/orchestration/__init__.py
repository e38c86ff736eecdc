"""Tests of the orchestration manager: teams and their task queue."""
