"""The public shapes of the team task queue (pydantic v2, validated at the facade).

    >>> TeamState(team_id="research_team", agents={
    ...     "researcher": AgentCoordinationState(agent_id="researcher", capabilities=["research"])})
    >>> Task(id="task_002", type="analysis", priority="high", data={"topic": "AI trends"}).priority
    100

A task's required capability is its ``capability`` field when given (``None``
= any agent), otherwise its ``type``. Priorities are integers from -1000 to
1000 (higher first) or the names ``low`` (0), ``normal`` (50), ``high`` (100).
Times are seconds since the epoch by the Redis server's clock.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..keys import validate_id
from ..model import Model
from ..validate import MAX_SECONDS

PRIORITIES = {"low": 0, "normal": 50, "high": 100}
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
TaskStatus = Literal["pending", "waiting", "delayed", "in_progress", "retry", "completed", "dead", "cancelled"]
OnDependencyFailure = Literal["fail", "ignore"]
#: The fields of an enqueued task dict that are Task fields; its other top-level keys go to ``extra``.
TASK_INPUT = ("id", "type", "capability", "priority", "data", "max_attempts", "depends_on", "on_dependency_failure")


def check_name(value: str, what: str) -> str:
    """Capabilities and statuses travel to Lua newline-joined: no newlines, not empty."""
    if not value or "\n" in value or len(value) > 256:
        raise ValueError(f"{what} must be 1-256 characters without newlines, got {value!r}")
    return value


def parse_priority(value: Any) -> int:
    if isinstance(value, str):
        if value not in PRIORITIES:
            raise ValueError(f"priority must be one of {sorted(PRIORITIES)} or an integer, got {value!r}")
        return PRIORITIES[value]
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ValueError(f"priority must be an integer from {MIN_PRIORITY} to {MAX_PRIORITY}, got {value!r}")
    return value


class Backoff(Model):
    """Delay before the n-th retry: ``delay`` (fixed) or ``delay * 2**(n-1)`` (exponential),
    capped at ``max_delay``, shortened by a random share of up to ``jitter``; seconds."""

    kind: Literal["fixed", "exponential"] = "exponential"
    delay: float = Field(1.0, ge=0, le=MAX_SECONDS)
    max_delay: float = Field(300.0, ge=0, le=MAX_SECONDS)
    jitter: float = Field(0.2, ge=0, le=1)


class Task(Model):
    """A task as enqueued (``id``, ``type``, ``capability``, ``priority``, ``data``,
    ``max_attempts``, ``depends_on``, ``on_dependency_failure``; other top-level keys of an
    enqueued dict are kept in ``extra``) and its queue state. ``status`` ``waiting`` = some
    dependency has not finished; ``dependency_results`` (dependency id -> result) is filled on
    the replies of claims, completions and reads of a task with dependencies."""

    id: str = Field(min_length=1, max_length=1024)
    type: str | None = None
    capability: str | None = None
    priority: int = 50
    data: Any = None
    extra: dict[str, Any] = Field(default_factory=dict)
    max_attempts: int = Field(3, ge=1, le=1000)
    status: TaskStatus = "pending"
    attempts: int = 0
    failures: int = 0
    stalls: int = 0
    agent_id: str | None = None
    token: int | None = None
    result: Any = None
    errors: list[str] = Field(default_factory=list)
    last_error: str | None = None
    completed_by: str | None = None
    enqueued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    lease_until: float | None = None
    next_run_at: float | None = None
    cancel_reason: str | None = None
    progress: Any = None
    logs: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    on_dependency_failure: OnDependencyFailure = "fail"
    dependency_results: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _fold_extra(cls, data: Any) -> Any:
        if isinstance(data, dict) and not set(data) <= set(cls.model_fields):
            data = dict(data)
            extra = dict(data.pop("extra", None) or {})
            for key in [k for k in data if k not in cls.model_fields]:
                extra[key] = data.pop(key)
            data["extra"] = extra
        return data

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> int:
        return parse_priority(value)

    @field_validator("capability", "type")
    @classmethod
    def _capability(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value, "capability/type")

    @field_validator("depends_on", mode="before")
    @classmethod
    def _depends_on(cls, value: Any) -> list[str]:
        """Task ids, each once, in the order given (a string alone is one id)."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"must be a list of task ids, got {type(value).__name__}")
        seen: dict[str, None] = {}
        for dep in value:
            seen[validate_id("task", dep, what="depends_on entry")] = None
        return list(seen)

    @model_validator(mode="after")
    def _not_self(self) -> Task:
        if self.id in self.depends_on:
            raise ValueError(f"task {self.id!r} depends on itself")
        return self

    @property
    def required_capability(self) -> str | None:
        """What an agent must be able to do to claim this task (None = any agent)."""
        return self.capability if "capability" in self.model_fields_set else self.type


class ClaimedTask(Task):
    """A task now held by an agent: pass ``token`` to complete_task/fail_task."""

    token: int


class AgentCoordinationState(Model):
    """One agent of a team. ``status`` is ``"offline"`` (and ``online`` False) when the
    agent has sent heartbeats and then stopped for the manager's ``offline_after``."""

    agent_id: str = Field(min_length=1, max_length=1024)
    status: str = "idle"
    capabilities: list[str] = Field(default_factory=list)
    current_task: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    online: bool = True
    last_heartbeat: float | None = None
    updated_at: float | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return check_name(value, "status")

    @field_validator("capabilities")
    @classmethod
    def _caps(cls, value: list[str]) -> list[str]:
        return [check_name(c, "capability") for c in value]


class TaskQueueState(Model):
    """Counts and first pages of each queue of a team (``scheduled`` = waiting to retry,
    ``delayed`` = enqueued with ``delay``/``run_at``, not yet due, ``waiting`` = waiting for dependencies);
    ``paused`` while pause_team holds."""

    pending: list[Task] = Field(default_factory=list)
    in_progress: list[Task] = Field(default_factory=list)
    completed: list[Task] = Field(default_factory=list)
    scheduled: list[Task] = Field(default_factory=list)
    dead: list[Task] = Field(default_factory=list)
    delayed: list[Task] = Field(default_factory=list)
    cancelled: list[Task] = Field(default_factory=list)
    waiting: list[Task] = Field(default_factory=list)
    paused: bool = False
    pending_count: int = 0
    in_progress_count: int = 0
    scheduled_count: int = 0
    completed_count: int = 0
    completed_total: int = 0
    dead_count: int = 0
    delayed_count: int = 0
    cancelled_count: int = 0
    cancelled_total: int = 0
    waiting_count: int = 0


class TeamState(Model):
    """A team: its agents (by id) and its task queue."""

    team_id: str = Field(min_length=1, max_length=1024)
    agents: dict[str, AgentCoordinationState] = Field(default_factory=dict)
    task_queue: TaskQueueState = Field(default_factory=TaskQueueState)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: float | None = None
    version: int = 0

    @model_validator(mode="after")
    def _agent_keys(self) -> TeamState:
        for key, agent in self.agents.items():
            if key != agent.agent_id:
                raise ValueError(f"agents[{key!r}] has agent_id {agent.agent_id!r}; they must match")
        return self
