"""A hypothesis state machine (its ``url`` class attribute names the server) run against the test Redis.

check_against_model(QueueMachine, redis_url, max_examples=100, stateful_step_count=40, derandomize=True)
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test


def check_against_model(machine: type[RuleBasedStateMachine], redis_url: str, **options: Any) -> None:
    """Run ``machine`` on ``redis_url`` with hypothesis ``settings(**options)``, no deadline, slow runs allowed."""
    machine.url = redis_url  # type: ignore[attr-defined]
    run_state_machine_as_test(
        machine, settings=settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], **options)
    )
