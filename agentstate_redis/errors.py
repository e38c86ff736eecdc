"""The typed errors every facade raises.

    >>> try:
    ...     await state.save("agent:a", {"n": 1}, expected_version=3)
    ... except VersionConflictError as e:
    ...     print(e.expected, e.actual)

Scripts signal failures with ``redis.error_reply("ASR_<CODE> <json details>")``;
:func:`from_script_error` turns such a reply into one of these classes.
"""

from __future__ import annotations

from typing import Any

import orjson


class AgentStateError(Exception):
    """Base of every error raised by agentstate_redis."""

    code = "ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details
        for name, value in details.items():
            setattr(self, name, value)


class NotFoundError(AgentStateError, LookupError):
    """The named entity (key, agent, workflow, task, ...) does not exist."""

    code = "NOT_FOUND"


class AlreadyExistsError(AgentStateError):
    """Creating an entity whose id is already taken."""

    code = "EXISTS"


class VersionConflictError(AgentStateError):
    """A write carried an expected version that is not the stored one."""

    code = "CONFLICT"


class InvalidTransitionError(AgentStateError):
    """The entity's current status does not allow this operation."""

    code = "TRANSITION"


class LeaseError(AgentStateError):
    """The lease is held by someone else, has expired, or the fencing token is stale."""

    code = "LEASE"


class TaskCancelledError(LeaseError):
    """The task was cancelled (``cancel_task``, from any process): its holder must stop.

    Raised by the holder's next ``heartbeat`` (``keep_alive`` cancels the block it guards with
    it) and by a complete/fail/release of the cancelled task. ``e.id`` the task, ``e.reason``
    the reason given to cancel_task (None when none was).
    """

    code = "CANCELLED"

    def __init__(self, message: str, **details: Any) -> None:
        details["reason"] = details.get("reason") or None
        super().__init__(message, **details)


class InvalidInputError(AgentStateError, ValueError):
    """Bad input, rejected before anything is written."""

    code = "INVALID"


class BackendUnavailableError(AgentStateError, ConnectionError):
    """The backend could not be reached (after the bounded retries).

    A write that fails with this error did not apply: no attempt of it reached the server,
    or the server refused each one. When a write may have applied, the error is
    :class:`OutcomeUnknownError` instead.
    """

    code = "UNAVAILABLE"


class BackendOutOfMemoryError(AgentStateError):
    """The server is over ``maxmemory``: a script that adds data was refused before writing anything.

    ``script`` names the refused operation (e.g. ``"state/save"``). Nothing was applied, so
    the same call may be made again once memory is freed. Scripts that keep a fleet alive
    or drain it (heartbeats, lease renewal and release, completions, deletes) still run.
    Not a BackendUnavailableError: the server answered, and the outcome is known.
    """

    code = "OOM"


class EvictionPolicyError(AgentStateError):
    """The server may evict keys (``maxmemory-policy``), and the backend was told to refuse that.

    ``policy`` is the server's setting, e.g. ``"allkeys-lru"``.
    """

    code = "EVICTION"


class OutcomeUnknownError(AgentStateError):
    """A write may or may not have applied, and the library cannot tell which.

    Raised when a write reached (or may have reached) the server but no reply came back,
    and it cannot be resent safely: its first send is too old for the server to still
    remember its operation id, or the retries ran out. Re-read the entity before deciding
    to write again. Details: ``operation`` (the script), ``key`` (the entity's key),
    ``keys``, ``reason``.

        >>> try:
        ...     await state.update("k", {"n": 1})
        ... except OutcomeUnknownError as e:
        ...     current = await state.get_entry("k")   # find out, then decide
    """

    code = "OUTCOME_UNKNOWN"


class TLSVerificationError(BackendUnavailableError):
    """The server's TLS certificate failed verification: unknown CA, wrong host name, expired.

    ``reason`` is what the TLS library said, e.g. "unable to get local issuer certificate".
    """

    code = "TLS"


class BackendLockedError(AgentStateError):
    """Another process holds the file backend's lock on this state file."""

    code = "LOCKED"


class AccessDeniedError(AgentStateError):
    """The Redis ACL user may not touch these keys or channels (NOPERM), or the server refused its password."""

    code = "NOPERM"


class RecoveryError(AgentStateError):
    """Recovery is impossible: no recoverable checkpoint, or attempts exhausted."""

    code = "RECOVERY"


_BY_CODE = {
    cls.code: cls
    for cls in (
        NotFoundError,
        AlreadyExistsError,
        VersionConflictError,
        InvalidTransitionError,
        LeaseError,
        TaskCancelledError,
        InvalidInputError,
        RecoveryError,
    )
}

SCRIPT_ERROR_PREFIX = "ASR_"


def is_oom_reply(error: BaseException | str) -> bool:
    """Is this a server's refusal over ``maxmemory``?

    Redis 7 and Valkey reply ``OOM command not allowed when used memory > 'maxmemory'`` (redis-py
    keeps the words after the OOM code); Redis 6 wraps them in ``Error running script ...: -OOM ...``.
    """
    text = str(error).lower()
    if text.startswith(SCRIPT_ERROR_PREFIX.lower()) or "'maxmemory'" not in text:
        return False
    return "oom" in text or "used memory >" in text


def from_script_error(message: str) -> AgentStateError | None:
    """Map ``"ASR_CONFLICT {...}"`` to a typed error; None if not one of ours."""
    text = message.strip()
    if not text.startswith(SCRIPT_ERROR_PREFIX):
        return None
    head, _, rest = text[len(SCRIPT_ERROR_PREFIX) :].partition(" ")
    cls = _BY_CODE.get(head, AgentStateError)
    details: dict[str, Any] = {}
    if rest:
        try:
            parsed = orjson.loads(rest)
            details = parsed if isinstance(parsed, dict) else {"detail": parsed}
        except orjson.JSONDecodeError:
            details = {"detail": rest}
    return cls(_describe(head, details), **details)


def _describe(code: str, d: dict[str, Any]) -> str:
    what = f"{d.get('kind', 'entity')} {d.get('id', '')!r}".strip()
    if code == "NOT_FOUND":
        return f"{what} not found"
    if code == "EXISTS":
        return f"{what} already exists"
    if code == "CONFLICT":
        return f"{what}: expected version {d.get('expected')}, stored version is {d.get('actual')}"
    if code == "TRANSITION":
        return f"{what}: cannot {d.get('op')} while status is {d.get('status')!r}"
    if code == "CANCELLED":
        why = f" (reason: {d['reason']})" if d.get("reason") else ""
        return f"{what}: cancelled{why}"
    if code == "LEASE":
        return f"{what}: {d.get('reason', 'lease lost')}"
    return f"{what}: {d.get('detail') or d.get('reason') or code}"
