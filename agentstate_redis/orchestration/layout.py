"""The task-control and flow sub-keys and team-hash fields of a team, declared once for Python.

    >>> CONTROL_SUBKEYS["delayed"]          # the team's key base + ":delayed"
    'delayed'

These mirror ``CTL`` and ``CTL_FIELDS`` in ``lua/lib/orchestration.lua`` (the scripts derive
every key from the team's base, under its hash tag); tests/orchestration/test_orchestration_control.py
checks that both sides name the same ones.
"""

from __future__ import annotations

#: name -> suffix of ``<prefix>{team:<id>}:<suffix>``
CONTROL_SUBKEYS: dict[str, str] = {
    "delayed": "delayed",  # zset: tasks not claimable before run_at (ms)
    "cancelled": "cancelled",  # zset: cancelled history, capped at completed_retention
    "wake_resume": "wake-resume",  # list: markers claimers block on while the team is paused
    "logs": "logs:",  # + task id: list of a task's log lines, capped at max_task_log_lines
    "limits": "limits",  # hash: 'in_progress:<cap>', 'per_second:<cap>' ('' cap = whole team)
    "rate": "rate:",  # + cap: zset of the last second's claims (token -> server ms)
    "inflight": "inflight:",  # + cap: zset of in-progress tasks needing a concurrency-limited cap
    "waiting": "waiting",  # zset: tasks waiting for their dependencies (scored like pending)
    "wait": "wait:",  # + task id: set of its dependencies not yet finished
    "dependents": "dependents:",  # + task id: set of the tasks that depend on it
    "inputs": "inputs:",  # + task id: hash of its completed dependencies' results
}

#: name -> field of the team hash
CONTROL_FIELDS: dict[str, str] = {
    "paused": "paused",  # '1' while paused
    "has_delayed": "has_delayed",  # '1' while :delayed may hold tasks (the claim path looks then)
    "has_limits": "has_limits",  # '1' while :limits holds a limit (the claim path reads it then)
    "due_at": "due_at",  # server ms before which no lease expires and no retry is due (claims reap from then)
}
