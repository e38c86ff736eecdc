"""ToolStateManager: tool executions, exact per-tool stats, a result cache and retry schedules.

    >>> tools = ToolStateManager(persistence="redis", cache_results=True, cache_ttl=3600)
    >>> await tools.start_execution(ToolExecution(execution_id="exec_001", tool_name="search_web",
    ...                                           parameters={"query": "AI news"}))
    >>> await tools.complete_execution(execution_id="exec_001", result={"results": [1]}, duration_ms=1500)
    >>> [e.execution_id for e in await tools.get_execution_history(tool_name="search_web", limit=100)]
    ['exec_001']
    >>> (await tools.get_tool_stats("search_web")).success_rate
    1.0

Keys (see ``lua/tools/``): everything about one tool lives under ``{tool:<name>}``
(stats hash, execution history capped at ``history_limit`` per tool, one hash
per execution, cached results ``{tool:<name>}:cache:<hash>`` with their TTLs,
see :mod:`.cache`). ``complete_execution``/``fail_execution`` take only the
execution id, so ``start_execution`` also writes a small link entity
``{toolexec:<execution id>}`` -> tool name (TTL ``execution_ttl``, default 7
days) in its own script call, written *before* the execution itself; pass
``tool_name=`` to skip that lookup. Retry schedules live under the one index
tag ``{idx:tool-retries}`` (see :mod:`.retries`). The three layouts are in
:mod:`.layouts`.
"""

from __future__ import annotations

from typing import Any

import orjson

from .. import validate
from ..backends.base import Backend
from ..decode import pairs
from ..errors import InvalidInputError, NotFoundError
from ..keys import validate_id
from ..tracing import tool_finished, tool_started
from ..validate import integer, positive_number
from .cache import CacheMixin
from .layouts import LINKS, TOOL
from .models import ToolExecution, ToolExecutionStatus, ToolStats
from .records import execution_from_hash, stats_from_hash
from .retries import RetryMixin

DEFAULT_HISTORY_LIMIT = 1000
DEFAULT_EXECUTION_TTL = 7 * 24 * 3600.0


def duration_us(duration_ms: object) -> str:
    """Caller's duration -> integer microseconds for the script ('' = measure on the server)."""
    if duration_ms is None:
        return ""
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)) or not 0 <= duration_ms < 1e12:
        raise InvalidInputError(f"duration_ms must be a non-negative number of milliseconds, got {duration_ms!r}")
    return str(round(duration_ms * 1000))


class ToolStateManager(CacheMixin, RetryMixin):
    """Tool execution state shared by every process (see the module docstring)."""

    kind = "tool"
    layout = TOOL

    def __init__(
        self,
        persistence: str | Backend | None = None,
        *,
        cache_results: bool = True,
        cache_ttl: float = 3600,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        execution_ttl: float = DEFAULT_EXECUTION_TTL,
        retry_base_delay: float = 1.0,
        retry_retention: float = 24 * 3600.0,
        **options: Any,
    ) -> None:
        self.cache_results = bool(cache_results)
        self.cache_ttl = positive_number("cache_ttl", cache_ttl)
        self.history_limit = integer("history_limit", history_limit)
        self.execution_ttl = positive_number("execution_ttl", execution_ttl)
        self.retry_base_delay = positive_number("retry_base_delay", retry_base_delay)
        self.retry_retention = positive_number("retry_retention", retry_retention)
        super().__init__(persistence, **options)

    # -- executions --------------------------------------------------------------------------

    @tool_started
    async def start_execution(self, execution: ToolExecution) -> ToolExecution:
        """Record a started execution and count it; returns it as stored.

        Starting an execution id that already exists is harmless: nothing is
        counted twice and the stored execution is returned. An execution id that
        belongs to another tool raises AlreadyExistsError.

            >>> await tools.start_execution(ToolExecution(execution_id="e1", tool_name="search_web"))
        """
        execution = validate.model("execution", ToolExecution, execution)
        if execution.status not in (ToolExecutionStatus.PENDING, ToolExecutionStatus.RUNNING):
            raise InvalidInputError(
                f"execution {execution.execution_id!r}: start_execution needs status pending or running, "
                f"got {execution.status.value!r}"
            )
        self._entity_keys(execution.tool_name)
        doc = self._dumps(
            execution.model_dump(include={"started_at", "parameters", "agent_id", "metadata"}),
            what=f"execution {execution.execution_id!r}",
        )
        await self._write_on(
            LINKS,
            "link",
            execution.execution_id,
            execution.tool_name,
            self.backend.ttl_ms(self.execution_ttl),
            op_id="",
        )
        reply = await self._write(
            "start", execution.tool_name, execution.execution_id, execution.status.value, doc, self.history_limit
        )
        return execution_from_hash(pairs_after_flag(reply))

    async def _resolve(self, execution_id: str, tool_name: str | None) -> str:
        validate_id("tool execution", execution_id)
        if tool_name is not None:
            return validate_id("tool", tool_name)
        name = await self._read_on(LINKS, "resolve", execution_id)
        if name is None:
            raise NotFoundError(f"tool execution {execution_id!r} not found", kind="tool execution", id=execution_id)
        return str(name)

    async def _finish(
        self,
        execution_id: str,
        outcome: str,
        result: str,
        error: str,
        duration_ms: float | None,
        tool_name: str | None,
    ) -> ToolExecution:
        dur = duration_us(duration_ms)
        tool = await self._resolve(execution_id, tool_name)
        reply = await self._write("finish", tool, execution_id, outcome, result, error, dur)
        return execution_from_hash(pairs(reply))

    @tool_finished(failed=False)
    async def complete_execution(
        self, execution_id: str, result: Any = None, duration_ms: float | None = None, *, tool_name: str | None = None
    ) -> ToolExecution:
        """Mark a running execution completed; returns it.

        ``duration_ms=None`` measures from the start with the server's clock.
        Unknown execution -> NotFoundError; already finished -> InvalidTransitionError.

            >>> await tools.complete_execution(execution_id="e1", result={"results": []}, duration_ms=1500)
        """
        encoded = self._dumps(result, what=f"result of execution {execution_id!r}")
        return await self._finish(execution_id, "completed", encoded, "", duration_ms, tool_name)

    @tool_finished(failed=True)
    async def fail_execution(
        self,
        execution_id: str,
        error: str | BaseException,
        duration_ms: float | None = None,
        *,
        tool_name: str | None = None,
    ) -> ToolExecution:
        """Mark a running execution failed with an error message (or exception); returns it.

        >>> await tools.fail_execution("e2", "Connection timeout", duration_ms=30000)
        """
        limit = self.backend.max_value_bytes
        if isinstance(error, BaseException):  # our own text: cut to the size limit rather than refuse it
            error = f"{type(error).__name__}: {error}".encode()[:limit].decode("utf-8", "ignore")
        if not isinstance(error, str) or not error:
            raise InvalidInputError(f"error must be a non-empty string or an exception, got {type(error).__name__}")
        validate.text("error", error, max_bytes=limit)
        return await self._finish(execution_id, "failed", "", error, duration_ms, tool_name)

    async def get_execution(self, execution_id: str, *, tool_name: str | None = None) -> ToolExecution:
        """One execution; NotFoundError if it is unknown (or trimmed from the history)."""
        tool = await self._resolve(execution_id, tool_name)
        h = pairs(await self._read("get", tool, execution_id))
        if not h:
            raise NotFoundError(f"tool execution {execution_id!r} not found", kind="tool execution", id=execution_id)
        return execution_from_hash(h)

    async def get_execution_history(self, tool_name: str, limit: int = 100) -> list[ToolExecution]:
        """The tool's most recent executions, newest (last started) first.

        At most ``history_limit`` (default 1000) executions are kept per tool; starting
        one more deletes the oldest.

            >>> history = await tools.get_execution_history(tool_name="search_web", limit=100)
        """
        self._entity_keys(tool_name)
        integer("limit", limit)
        reply = await self._read("history", tool_name, limit)
        return [execution_from_hash(pairs(flat)) for flat in reply]

    async def get_tool_stats(self, tool_name: str) -> ToolStats:
        """Exact counters of one tool (all processes), read in one consistent script.

        >>> stats = await tools.get_tool_stats("search_web")
        >>> print(f"Success Rate: {stats.success_rate:.2%}")
        """
        return stats_from_hash(tool_name, pairs(await self._read("stats", tool_name)))


def pairs_after_flag(reply: Any) -> dict[str, str]:
    """The start script's reply: ``['1'|'0', field, value, ...]`` -> the execution fields."""
    flat = orjson.loads(reply) if isinstance(reply, (str, bytes)) else list(reply)
    return pairs(flat[1:])
