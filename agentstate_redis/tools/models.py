"""The tool manager's public models (field names follow the seed document).

    >>> ToolExecution(execution_id="exec_001", tool_name="search_web",
    ...               status=ToolExecutionStatus.RUNNING, parameters={"query": "AI news"})
    >>> ToolCacheEntry(tool_name="search_web", parameters={"query": "AI news"}, result={"hits": 3})
    >>> RetryState(execution_id="exec_002", attempts=2, max_attempts=5, last_error="Connection timeout",
    ...            next_retry_at=datetime.now() + timedelta(seconds=30), backoff_factor=2.0)

Every datetime here is aware UTC, like every datetime the API returns: times the server
sets (start, completion, cache creation, retry due times) are read from the Redis server's
clock (``decode.server_time``), and a datetime you give is converted when the model is
made (``model.UtcDatetime``). A naive one means local time, as ``datetime.now()`` gives it
(Python's own reading of a naive datetime, ``datetime.astimezone()``), so the seed's
``next_retry_at=datetime.now() + timedelta(seconds=30)`` is 30 s from now on any host;
compare returned times with ``datetime.now(timezone.utc)``.

    >>> paris = timezone(timedelta(hours=2))
    >>> RetryState(execution_id="e", next_retry_at=datetime(2025, 6, 1, 12, tzinfo=paris)).next_retry_at
    datetime.datetime(2025, 6, 1, 10, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import Field, model_validator

from ..model import Model, UtcDatetime
from .params_hash import hash_parameters


class ToolExecutionStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ToolExecution(Model):
    """One call of a tool. ``started_at=None`` means "now, by the server's clock"."""

    execution_id: str = Field(min_length=1, max_length=512)
    tool_name: str = Field(min_length=1, max_length=512)
    status: ToolExecutionStatus = ToolExecutionStatus.RUNNING
    started_at: UtcDatetime | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    agent_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    error: str | None = None
    completed_at: UtcDatetime | None = None
    duration_ms: float | None = None


class ToolCacheEntry(Model):
    """A cached tool result. Give ``parameters`` (hashed for you) or their ``parameters_hash``.

    ``ttl`` is in seconds; None means the manager's ``cache_ttl``.
    """

    tool_name: str = Field(min_length=1, max_length=512)
    parameters_hash: str = ""
    result: Any = None
    created_at: UtcDatetime | None = None
    ttl: float | None = Field(None, gt=0)
    parameters: dict[str, Any] | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _hash(self) -> ToolCacheEntry:
        if self.parameters is not None:
            computed = hash_parameters(self.parameters)
            if self.parameters_hash and self.parameters_hash != computed:
                raise ValueError(f"parameters_hash {self.parameters_hash!r} is not the hash of parameters")
            object.__setattr__(self, "parameters_hash", computed)
        if not self.parameters_hash:
            raise ValueError("give parameters or parameters_hash")
        return self


class RetryState(Model):
    """The retry schedule of one execution.

    ``next_retry_at=None`` schedules after ``base_delay * backoff_factor ** (attempts - 1)``
    seconds (the manager's ``retry_base_delay``). Returned states carry the server's due time.
    """

    execution_id: str = Field(min_length=1, max_length=512)
    tool_name: str | None = None
    attempts: int = Field(0, ge=0)
    max_attempts: int = Field(3, ge=1)
    last_error: str | None = None
    next_retry_at: UtcDatetime | None = None
    backoff_factor: float = Field(2.0, ge=1.0, allow_inf_nan=False)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def exhausted(self) -> bool:
        """No attempts left: the manager keeps the record but never schedules it."""
        return self.attempts >= self.max_attempts


class ToolStats(Model):
    """Counters of one tool, exact under concurrency (counted inside the scripts).

    Rates are fractions in [0, 1]: success and error rates over finished executions,
    the cache hit rate over cache lookups; 0.0 when there is nothing to divide.
    """

    tool_name: str
    total_executions: int = 0
    successful_executions: int = 0
    failed_executions: int = 0
    running_executions: int = 0
    success_rate: float = 0.0
    error_rate: float = 0.0
    avg_duration_ms: float = 0.0
    total_duration_ms: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_hit_rate: float = 0.0
    last_execution_at: UtcDatetime | None = None
