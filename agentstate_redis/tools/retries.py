"""Retry schedules: one sorted set of due times (server clock) that pollers claim from atomically.

    >>> await tools.update_retry_state(RetryState(execution_id="exec_002", attempts=2, max_attempts=5,
    ...     last_error="Connection timeout", next_retry_at=datetime.now() + timedelta(seconds=30)))
    >>> for retry in await tools.get_pending_retries(claim=True, limit=10):   # due ones, claimed
    ...     await retry_tool(retry)
    ...     await tools.clear_retry(retry.execution_id)        # or update_retry_state(...) again

All retries live under the one index tag ``{idx:tool-retries}``: a ``due``
sorted set (execution id -> due time in server ms) and one hash per retry, so
claiming is one single-slot script and two pollers never get the same retry.

A caller's ``next_retry_at`` (aware, or naive local time; see :mod:`.models`) is
turned into a delay from the caller's own clock and the due time is the *server's*
now plus that delay, so clock drift between pods does not move retries. Returned
``next_retry_at`` values are aware UTC: compare them with ``datetime.now(timezone.utc)``. A claimed retry leaves the
schedule (its record is kept ``retry_retention`` seconds); with
``claim_timeout=`` it comes due again after that long unless it is updated or
cleared first (at-least-once). A state whose ``attempts >= max_attempts`` is
recorded as exhausted and never scheduled.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from .. import validate
from ..decode import pairs, server_time
from ..errors import InvalidInputError
from ..keys import validate_id
from ..manager import BaseManager
from ..validate import integer
from .layouts import LINKS, RETRIES, RETRY_INDEX
from .models import RetryState
from .records import retry_from_doc

MAX_DELAY_SECONDS = 10 * 365 * 24 * 3600


class RetryMixin(BaseManager):
    """Retry scheduling methods of ToolStateManager (layout ``RETRIES``: every retry script takes
    the index's KEYS; an execution's record is the ``retry:`` prefix plus its id in ARGV)."""

    retry_base_delay: float
    retry_retention: float

    def _delay_seconds(self, state: RetryState, delay: float | None) -> float:
        if delay is not None:
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY_SECONDS:
                raise InvalidInputError(f"delay must be a non-negative number of seconds, got {delay!r}")
            return float(delay)
        if state.next_retry_at is not None:  # aware UTC: the model converted it
            seconds = (state.next_retry_at - datetime.now(timezone.utc)).total_seconds()
            if seconds > MAX_DELAY_SECONDS:
                raise InvalidInputError(
                    f"next_retry_at must be within {MAX_DELAY_SECONDS} s from now, "
                    f"got {state.next_retry_at.isoformat()}"
                )
            return max(0.0, seconds)
        return min(self.retry_base_delay * state.backoff_factor ** max(state.attempts - 1, 0), MAX_DELAY_SECONDS)

    async def update_retry_state(self, retry_state: RetryState, *, delay: float | None = None) -> RetryState:
        """Schedule the next attempt of an execution (replacing any earlier schedule).

        The due time is the server's now plus ``delay`` seconds, else plus the time until
        ``next_retry_at``, else plus ``retry_base_delay * backoff_factor ** (attempts - 1)``.
        Returns the state with ``next_retry_at`` set to the server's due time (None when
        exhausted). A state without ``tool_name`` gets the tool its execution was started
        with (one more read, of the execution's link), so every reader of the retry knows
        which tool to run again.

            >>> await tools.update_retry_state(RetryState(execution_id="exec_002", attempts=2), delay=30)
        """
        retry_state = validate.model("retry_state", RetryState, retry_state)
        exhausted = retry_state.exhausted
        delay_ms = 0 if exhausted else round(self._delay_seconds(retry_state, delay) * 1000)
        if retry_state.tool_name is None:
            tool = await self._read_on(LINKS, "resolve", retry_state.execution_id)
            if tool is not None:
                retry_state = retry_state.model_copy(update={"tool_name": str(tool)})
        doc = self._dumps(
            retry_state.model_dump(exclude={"execution_id", "next_retry_at"}),
            what=f"retry state of {retry_state.execution_id!r}",
        )
        due = await self._write_on(
            RETRIES,
            "retry_set",
            RETRY_INDEX,
            retry_state.execution_id,
            delay_ms,
            exhausted,
            doc,
            self.backend.ttl_ms(self.retry_retention),
        )
        return retry_state.model_copy(update={"next_retry_at": server_time(due)})

    async def get_pending_retries(
        self, claim: bool = True, limit: int = 100, *, claim_timeout: float | None = None
    ) -> list[RetryState]:
        """Retries waiting for their next attempt, earliest due first.

        ``claim=True`` (default): only the retries already due by the server's clock, and
        they are claimed in the same script, so concurrent pollers each get different ones.
        ``claim=False``: the first ``limit`` scheduled retries (due or not), claiming nothing
        (:meth:`list_retries` pages further).

            >>> due = await tools.get_pending_retries(claim=True, limit=10)
        """
        integer("limit", limit)
        validate.boolean("claim", claim)
        claim_ms = 0 if claim_timeout is None else validate.milliseconds("claim_timeout", claim_timeout)
        if not claim:
            return await self.list_retries(limit=limit)
        rows = await self._write_on(
            RETRIES, "retry_claim", RETRY_INDEX, limit, claim_ms, self.backend.ttl_ms(self.retry_retention)
        )
        return [retry_from_doc(row[0], row[1], row[2]) for row in _json_rows(rows)]

    async def list_retries(self, *, offset: int = 0, limit: int = 100) -> list[RetryState]:
        """A page of the scheduled retries (due or not), earliest due first, claiming nothing.

        One read script of ``O(log N + limit)``, whatever the number of retries, so a page deep in a
        long schedule costs no more than the first (the dashboard's tools page pages it this way).

            >>> page = await tools.list_retries(offset=50, limit=50)
        """
        integer("offset", offset, minimum=0)
        integer("limit", limit)
        rows = await self._read_on(RETRIES, "retry_list", RETRY_INDEX, limit, "0", offset)
        return [retry_from_doc(row[0], row[1], row[2]) for row in rows]

    async def count_retries(self) -> tuple[int, int]:
        """``(scheduled, due)``: how many retries are scheduled, and how many of them are due now by
        the server's clock (what ``list_retries`` pages and ``get_pending_retries`` would claim).

            >>> scheduled, due = await tools.count_retries()
        """
        scheduled, due = await self._read_on(RETRIES, "retry_count", RETRY_INDEX)
        return int(scheduled), int(due)

    async def get_retry_state(self, execution_id: str) -> RetryState | None:
        """The retry record of an execution (scheduled, claimed or exhausted), or None."""
        validate_id("tool execution", execution_id)
        h = pairs(await self._read_on(RETRIES, "retry_get", RETRY_INDEX, execution_id))
        if not h:
            return None
        return retry_from_doc(execution_id, h.get("due"), h.get("doc"))

    async def clear_retry(self, execution_id: str) -> bool:
        """Drop an execution's retry schedule (it succeeded or was abandoned); True if it had one."""
        validate_id("tool execution", execution_id)
        reply = await self._write_on(RETRIES, "retry_clear", RETRY_INDEX, execution_id)
        return bool(reply == "1")


def _json_rows(reply: Any) -> list[Any]:
    rows = orjson.loads(reply) if isinstance(reply, (str, bytes)) else reply
    return rows if isinstance(rows, list) else []
