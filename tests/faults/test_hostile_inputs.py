"""Hostile input on every public method of every manager (issue 11, item 4).

For each public method (sync or async, name not starting with ``_``) of the managers
below, found by introspection so that new methods are covered automatically, and for each
of its parameters, the test calls the method with that one parameter hostile and every
other parameter valid, on a Redis keyspace that holds seeded valid state (a state key, an
agent with snapshot/checkpoint/tracking, a workflow with a step and a checkpoint, a team
with an in-progress, a pending and a dead task, a tool execution, cache entry and retry,
a knowledge-base run with a source, a speech session with a turn). Hostile values: wrong
types, empty and 1025+ character strings, unicode, glob/brace/percent/backslash ids,
non-JSON values (object(), set(), NaN, non-string keys), values over the backend's
``max_value_bytes`` (2000 here), negative / NaN / infinite / huge numbers, and models
whose fields carry all of these. A curated list runs for every parameter, then a few
hypothesis-generated values (derandomized, so CI is deterministic).

Checked for every call:

(a) it returns, or raises a typed AgentStateError subclass; never TypeError, KeyError,
    AttributeError, a foreign ValueError, a redis error, a pydantic ValidationError, a
    bare ``AgentStateError`` wrapping a server error reply, or a hang (10 s);
(b) InvalidInputError leaves the keyspace under the test prefix byte-for-byte unchanged
    (every key's type and content; the ``:ops:cur``/``:ops:prev`` op-id memory and TTLs ignored);
(c) an InvalidInputError message names the parameter, the field or the offending value;
(d) values that are plainly wrong for the annotation (a non-string id, a negative, NaN or
    infinite number, a non-bool flag, an empty or over-long id) are refused with
    InvalidInputError rather than accepted;
(e) whatever the outcome, no stored element exceeds the configured maximum by far (an
    oversized value never slips in unchecked), and every key keeps its hash tag right after
    the prefix (ids with ``{}`` cannot move or split it).

Known violations are listed in VIOLATIONS (each with a minimal reproducer in
REPRODUCERS) and marked ``xfail(strict=True)``: once the library is fixed the xfail turns
into a failure, and the entry must be removed.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agentstate_redis import (
    AgentCheckpoint,
    AgentCoordinationState,
    AgentRecoveryManager,
    AgentSnapshot,
    AgentStateError,
    AgentStateStore,
    AgentTracker,
    IndexingProgress,
    InvalidInputError,
    KnowledgeStateManager,
    OrchestrationStateManager,
    RedisBackend,
    RetryState,
    SourceState,
    SpeechStateManager,
    StateManager,
    StepState,
    STTState,
    TaskQueueState,
    TeamState,
    ToolCacheEntry,
    ToolExecution,
    ToolStateManager,
    TTSState,
    VoiceConversationState,
    WorkflowCheckpoint,
    WorkflowState,
    WorkflowStateManager,
)
from agentstate_redis.keys import escape_glob, unescape_id
from agentstate_redis.orchestration import Backoff
from agentstate_redis.orchestration.models import Task

MAX_VALUE_BYTES = 2000
OVERSIZE = "y" * 5000  # well over MAX_VALUE_BYTES
STORED_ELEMENT_LIMIT = 4500  # (e): no stored string may carry the 5000-char blob
CALL_TIMEOUT = 10.0
GENERATED_EXAMPLES = 4  # hypothesis examples per parameter, after the curated list
KINDS = {"state", "agent", "wf", "team", "tool", "toolexec", "toolcache", "kb", "speech", "idx"}

# -- seeded ids ------------------------------------------------------------------------------------

STATE_KEY = "seed:key"
AGENT = "agent-1"
WF = "wf-1"
TEAM = "team-1"
TOOL = "tool-1"
EXEC = "exec-1"
KB = "kb-1"
SID = "sess-1"


def _noop(*_: Any) -> None:
    return None


class DummyAgent:
    """What AgentRecoveryManager.register expects: ``id``, ``restore_from_checkpoint``, ``resume``."""

    def __init__(self, ident: str = AGENT) -> None:
        self.id = ident

    def restore_from_checkpoint(self, state: Any) -> None:
        return None

    def resume(self) -> str:
        return "resumed"


# -- the classes under test ------------------------------------------------------------------------


def _recovery(backend: RedisBackend) -> AgentRecoveryManager:
    manager = AgentRecoveryManager(AgentStateStore(backend=backend))
    manager.register(DummyAgent())
    return manager


FACTORIES: dict[str, Callable[[RedisBackend], Any]] = {
    "StateManager": lambda b: StateManager(backend=b),
    "AgentStateStore": lambda b: AgentStateStore(backend=b),
    "AgentTracker": lambda b: AgentTracker(AgentStateStore(backend=b), AGENT),
    "AgentRecoveryManager": _recovery,
    "WorkflowStateManager": lambda b: WorkflowStateManager(backend=b),
    "OrchestrationStateManager": lambda b: OrchestrationStateManager(backend=b),
    "ToolStateManager": lambda b: ToolStateManager(backend=b),
    "KnowledgeStateManager": lambda b: KnowledgeStateManager(backend=b),
    "SpeechStateManager": lambda b: SpeechStateManager(backend=b),
}
CLASSES = {
    "StateManager": StateManager,
    "AgentStateStore": AgentStateStore,
    "AgentTracker": AgentTracker,
    "AgentRecoveryManager": AgentRecoveryManager,
    "WorkflowStateManager": WorkflowStateManager,
    "OrchestrationStateManager": OrchestrationStateManager,
    "ToolStateManager": ToolStateManager,
    "KnowledgeStateManager": KnowledgeStateManager,
    "SpeechStateManager": SpeechStateManager,
}

# Methods not driven with hostile input, and why. Everything else public is.
SKIP_METHODS = {
    "connect": "lifecycle: takes no input, and a test must not reconnect the shared backend",
    "close": "lifecycle: takes no input, and closing would end the shared backend",
}
# Parameters whose curated/generated values are restricted, and why.
RESTRICTED: dict[tuple[str, str], tuple[str, Callable[[Any], bool]]] = {
    # claim_task(wait=<finite positive>) blocks for that long by design: only values that must be
    # refused (non-numbers, negatives, NaN, inf) and 0 are used.
    ("claim_task", "wait"): (
        "a finite positive wait blocks by design",
        lambda v: not (_is_number(v) and math.isfinite(v) and v > 0),
    ),
}

# -- valid baselines for the parameters that are not under attack -------------------------------------

MODEL_BASE: dict[type, dict[str, Any]] = {
    AgentSnapshot: {"agent_id": AGENT, "snapshot_id": "snap-new", "memory_state": {"m": 2}},
    AgentCheckpoint: {"agent_id": AGENT, "checkpoint_id": "ck-new", "step": 2, "state": {"n": 2}},
    TeamState: {"team_id": "team-new"},
    AgentCoordinationState: {"agent_id": "worker-new", "capabilities": ["code"]},
    Task: {"id": "task-new", "type": "analysis", "data": {"d": 1}},
    Backoff: {},
    WorkflowState: {"workflow_id": "wf-new", "total_steps": 3},
    StepState: {"step_number": 2, "status": "completed", "result": {"r": 1}},
    WorkflowCheckpoint: {"workflow_id": WF, "checkpoint_id": "cp-new"},
    ToolExecution: {"execution_id": "exec-new", "tool_name": TOOL, "parameters": {"q": 2}},
    ToolCacheEntry: {"tool_name": TOOL, "parameters": {"q": 2}, "result": [2]},
    RetryState: {"execution_id": EXEC, "attempts": 1},
    IndexingProgress: {
        "knowledge_base_id": KB,
        "status": "in_progress",
        "total_documents": 10,
        "processed_documents": 2,
    },
    SourceState: {"source_id": "src-new", "knowledge_base_id": KB},
    STTState: {"session_id": SID},
    TTSState: {"session_id": SID},
    VoiceConversationState: {"session_id": SID, "transcript": [{"role": "user", "content": "hi"}]},
}
MODELS_BY_NAME = {cls.__name__: cls for cls in MODEL_BASE}

# Required parameters, by name (models are built from the annotation).
BASE: dict[str, Callable[[], Any]] = {
    "key": lambda: STATE_KEY,
    "value": lambda: {"a": 2},
    "ttl": lambda: 60,
    "changes": lambda: {"b": 2},
    "pattern": lambda: "seed:*",
    "callback": lambda: _noop,
    "id_glob": lambda: "*",
    "workflow_id_glob": lambda: "*",
    "agent_id": lambda: AGENT,
    "owner": lambda: "owner-1",
    "checkpoint_id": lambda: "ck-1",
    "snapshot_id": lambda: "snap-1",
    "tool_name": lambda: TOOL,
    "approved": lambda: True,
    "fencing_token": lambda: 1,
    "workflow_id": lambda: WF,
    "team_id": lambda: TEAM,
    "task_id": lambda: "task-1",
    "tasks": lambda: [Task(id="task-new")],
    "error": lambda: "boom",
    "queue": lambda: "pending",
    "execution_id": lambda: EXEC,
    "parameters": lambda: {"q": 1},
    "compute": lambda: lambda: {"v": 1},
    "knowledge_base_id": lambda: KB,
    "total_documents": lambda: 10,
    "session_id": lambda: SID,
    "role": lambda: "user",
    "content": lambda: "hello",
    "status": lambda: "running",
    "offline_for": lambda: 3600,
    "progress": lambda: 0.5,
    "line": lambda: "a log line",
    "schedule_id": lambda: "sched-1",
    "task_template": lambda: {"type": "x", "data": {"n": 1}},
}
# Per (class, parameter) baselines.
CLASS_BASE: dict[tuple[str, str], Callable[[], Any]] = {
    ("OrchestrationStateManager", "agent_id"): lambda: "worker-1",
}
# Per (method, parameter) baselines where the name alone is ambiguous (required or not).
METHOD_BASE: dict[tuple[str, str], Callable[[], Any]] = {
    ("register", "agent"): lambda: DummyAgent(),
    ("restore_tracking", "state"): lambda: {
        "approval_history": [{"tool_name": "Bash", "approved": True}],
        "tool_usage_counts": {"Bash": 2},
        "workflow_state": {"status": "ok"},
    },
    ("update_session_status", "status"): lambda: "active",
    ("resume_from", "checkpoint_id"): lambda: "cp-1",
    ("get_cached_result", "parameters"): lambda: {"q": 1},
    ("invalidate_cached_result", "parameters"): lambda: {"q": 1},
    ("add_schedule", "every"): lambda: 3600,
    ("set_team_limits", "max_in_progress"): lambda: 3,  # a real limit is set while another is attacked
    ("set_team_limits", "max_per_second"): lambda: 20,
    # the other arguments under attack then take the two-step path of a fork into another agent
    ("fork_from_checkpoint", "new_agent_id"): lambda: "agent-fork",
}
# When the key parameter is under attack, these others are left out (else they would shadow it).
EXCLUSIVE = {"parameters_hash": ("parameters",)}

# -- hostile values ----------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
_OBJ = object()
COMMON: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**64,
    1e300,
    1.5,
    NAN,
    INF,
    -INF,
    b"bytes",
    ["a"],
    {"a": 1},
    _OBJ,
    set(),
    "",
    "x" * 1025,
    "ünï🚀ḱ",
    "*?[a]{b}%\\",
    OVERSIZE,
]
STR_BAD: list[Any] = [
    "{",
    "}",
    "a}{b",
    "%7B",
    "%",
    "\\",
    "*",
    "[",
    "\x00",
    "a\nb",
    " ",
    "🚀" * 300,
    "latest",
    "auto-1",
    "x" * 1024,
    "a\ud800",
]  # a lone surrogate: not encodable
NUM_BAD: list[Any] = [-1.5, -INF, -(2**64), "5", 10**30, 0.0001]
JSON_BAD: list[Any] = [
    {1: 2},
    {"x": _OBJ},
    {"x": NAN},
    {"x": {1, 2}},
    {"big": OVERSIZE},
    [NAN],
    [_OBJ],
    {"": 1},
    {"a": {"b": [_OBJ]}},
    {"x": INF},
    (1, 2),
    {"k": b"raw"},
    {"k\udfff": 1},
]
ITER_BAD: list[Any] = ["abc", [None], [""], ["x" * 1025], [_OBJ], [{"id": ""}], ["a", "a"], [1, 2], [{1: 2}]]
KWARGS_BAD: list[dict[str, Any]] = [
    {"last_updated": 1},
    {"xx": _OBJ},
    {"xx": NAN},
    {"xx": {1: 2}},
    {"xx": OVERSIZE},
    {"xx": set()},
    {"xx": {"big": OVERSIZE}},
    {"x\ud800": 1},
]
MODEL_FIELD_BAD: list[Any] = [
    "",
    "x" * 1025,
    "ünï🚀*?[]{}%\\",
    "{",
    "\x00",
    -1,
    NAN,
    INF,
    2**64,
    {"x": _OBJ},
    {"x": NAN},
    {1: 2},
    {"big": OVERSIZE},
    _OBJ,
    OVERSIZE,
    [_OBJ],
    None,
]
MODEL_VARIANTS_PER_FIELD = 5
# Parameters that are ids or names: an empty or over-long (> 1024 characters) string must be refused.
ID_NAMES = {
    "key",
    "agent_id",
    "team_id",
    "task_id",
    "workflow_id",
    "session_id",
    "knowledge_base_id",
    "execution_id",
    "tool_name",
    "checkpoint_id",
    "snapshot_id",
    "owner",
    "from_checkpoint",
    "parameters_hash",
    "capability",
    "run_id",
    "current_node",
    "current_task",
    "schedule_id",
}
# Model fields that become part of a key (the same rule); other string fields are free text.
MODEL_ID_FIELDS = {
    AgentSnapshot: {"agent_id", "snapshot_id"},
    AgentCheckpoint: {"agent_id", "checkpoint_id"},
    TeamState: {"team_id"},
    AgentCoordinationState: {"agent_id"},
    Task: {"id"},
    WorkflowState: {"workflow_id"},
    WorkflowCheckpoint: {"workflow_id", "checkpoint_id"},
    ToolExecution: {"execution_id", "tool_name"},
    ToolCacheEntry: {"tool_name"},
    RetryState: {"execution_id"},
    IndexingProgress: {"knowledge_base_id"},
    SourceState: {"source_id", "knowledge_base_id"},
    STTState: {"session_id"},
    TTSState: {"session_id"},
    VoiceConversationState: {"session_id"},
}
# Methods that forget something by its name: any value may be a harmless no-op, so only the
# rules that hold for every call ((a), (b), (c), (e)) apply, not (d).
NO_OP_TOLERANT = {"unsubscribe", "unsubscribe_events", "unregister"}
ALIASES = {
    "key": ["state"],
    "knowledge_base_id": ["kb"],
    "session_id": ["speech", "session"],
    "id_glob": ["glob"],
    "workflow_id_glob": ["glob"],
    "from_checkpoint": ["checkpoint"],
    "kwargs": ["workflow field"],
    "extra": ["transcript entry"],
    "tasks": ["task"],
    "task_ids": ["task"],
    "capabilities": ["capability"],
    "value": ["field"],
    "changes": ["field"],
    "source_id": ["source"],
}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class Hostile:
    """One hostile argument: the value, and for a model, the field that carries the attack."""

    value: Any
    field: str | None = None
    field_value: Any = None

    def describe(self) -> str:
        if self.field is None:
            return _short(self.value)
        return f"{type(self.value).__name__}(... {self.field}={_short(self.field_value)} ...)"


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else f"{text[:40]}...<{len(text)} chars>"


def _model_variants(cls: type) -> list[Hostile]:
    """Instances of ``cls`` that its own validation accepts, one field hostile at a time."""
    out: list[Hostile] = []
    for name in cls.model_fields:
        kept = 0
        for bad in MODEL_FIELD_BAD:
            try:
                instance = cls(**{**MODEL_BASE[cls], name: bad})
            except Exception:  # noqa: BLE001, S112 - the model refused it: not a case for the manager
                continue
            out.append(Hostile(instance, name, bad))
            kept += 1
            if kept >= MODEL_VARIANTS_PER_FIELD:
                break
    return out


MODEL_VARIANTS = {cls: _model_variants(cls) for cls in MODEL_BASE}

# -- annotations -> what a parameter admits ------------------------------------------------------------


def _split_union(annotation: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in annotation:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


@dataclass
class Admits:
    """The kinds of value a parameter's annotation admits (None = anything / unknown)."""

    types: tuple[type, ...] | None
    models: list[type] = field(default_factory=list)
    str_like: bool = False
    numeric: bool = False
    mapping: bool = False
    iterable: bool = False
    callable_: bool = False
    boolean: bool = False


def admits(param: inspect.Parameter) -> Admits:
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        return Admits(None)
    if not isinstance(ann, str):
        ann = getattr(ann, "__name__", str(ann))
    result = Admits(())
    types: list[type] = []
    for member in _split_union(ann):
        head = member.split("[", 1)[0]
        if head == "Any":
            result.types = None
            result.mapping = True
            return result
        if head == "str" or head in ("QueueName", "Literal"):
            types.append(str)
            result.str_like = True
        elif head in ("int", "float"):
            types += [int, float] if head == "float" else [int]
            result.numeric = True
        elif head == "bool":
            types.append(bool)
            result.boolean = True
        elif head == "None":
            types.append(type(None))
        elif head in ("Mapping", "dict"):
            types.append(Mapping)
            result.mapping = True
        elif head in ("Iterable", "list", "Sequence"):
            types.append(Iterable)
            result.iterable = True
        elif head in ("Callable", "Callback", "StateCallback", "WorkflowCallback"):
            result.callable_ = True
        elif head == "BaseException":
            types.append(BaseException)
        elif head in MODELS_BY_NAME:
            result.models.append(MODELS_BY_NAME[head])
            types.append(MODELS_BY_NAME[head])
        elif head in ("StreamingMode", "AudioSessionStatus", "WorkflowStatus"):
            types.append(str)
        else:
            result.types = None  # unknown annotation: no type expectation
            return result
    result.types = tuple(types)
    return result


def wrong_type(adm: Admits, value: Any) -> bool:
    """True if ``value`` is plainly not of the annotated type (so it must be refused)."""
    if adm.types is None:
        return False
    if adm.callable_:
        return not callable(value)
    if isinstance(value, bool) and bool not in adm.types:
        return True
    if isinstance(value, float) and float not in adm.types:
        return True
    if isinstance(value, (str, bytes)) and Iterable in adm.types and str not in adm.types:
        return True  # one string is not a list of them
    return not isinstance(value, adm.types) if adm.types else False


def must_refuse(method: str, name: str, adm: Admits, h: Hostile) -> str | None:
    """Why this hostile argument must be refused with InvalidInputError, or None if it may pass."""
    v = h.value
    if method in NO_OP_TOLERANT:
        return None
    if h.field is not None:
        fv = h.field_value
        ids = MODEL_ID_FIELDS.get(type(v), set())
        if h.field in ids and isinstance(fv, str) and (fv == "" or len(fv) > 1024):
            return f"model field {h.field} is an empty or over-long id"
        return None
    if wrong_type(adm, v):
        return f"{type(v).__name__} is not a {param_annotation_text(adm)}"
    if adm.numeric and _is_number(v) and (not math.isfinite(v) or v < 0):
        return "negative, NaN or infinite number"
    if name in ID_NAMES and isinstance(v, str) and (v == "" or len(v) > 1024):
        return "empty or over-long id"
    return None


def param_annotation_text(adm: Admits) -> str:
    return "/".join(sorted({t.__name__ for t in adm.types or ()})) or "callable"


def curated(name: str, adm: Admits) -> list[Hostile]:
    if name == "kwargs" or name == "extra":
        return [Hostile(v) for v in KWARGS_BAD]
    values = list(COMMON)
    if adm.str_like or adm.types is None:
        values += STR_BAD
    if adm.numeric or adm.types is None:
        values += NUM_BAD
    if adm.mapping or adm.types is None or adm.models:
        values += JSON_BAD
    if adm.iterable:
        values += ITER_BAD
    out = [Hostile(v) for v in values]
    for model in adm.models:
        out += MODEL_VARIANTS[model]
        base = dict(MODEL_BASE[model])
        if model is Task:  # enqueue_task takes plain dicts too
            out += [Hostile({**base, "id": bad}) for bad in ("", "x" * 1025, "{", None, 5)]
            out += [Hostile({**base, "data": bad}) for bad in (_OBJ, NAN, {"big": OVERSIZE})]
            out += [Hostile({**base, 1: "x"}), Hostile({**base, "extra_field": _OBJ})]
    return out


def generated(name: str, adm: Admits) -> st.SearchStrategy[Hostile]:
    """Hypothesis strategies of hostile values, chosen by what the parameter admits."""
    if name in ("kwargs", "extra"):
        leaf = st.one_of(st.sampled_from([_OBJ, NAN, INF, set(), b"x", OVERSIZE]), st.integers(), st.text(max_size=5))
        return st.dictionaries(
            st.from_regex(r"[a-z]{2,6}", fullmatch=True).filter(lambda k: k not in ("role", "content", "session_id")),
            leaf,
            min_size=1,
            max_size=3,
        ).map(Hostile)
    specials = st.sampled_from(list("*?[]{}%\\:/ aü🚀\u200b\x00\x7f^!-"))
    text = st.text(alphabet=st.one_of(specials, st.characters()), max_size=16)
    bad_leaf = st.sampled_from([_OBJ, NAN, INF, -INF, set(), frozenset(), b"x", OVERSIZE, complex(1, 2)])
    json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text)
    nested = st.recursive(
        st.one_of(json_leaf, bad_leaf),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.one_of(text, st.integers()), c, max_size=3),
        max_leaves=6,
    )
    options: list[st.SearchStrategy[Any]] = [st.sampled_from(COMMON)]
    if adm.str_like or adm.types is None:
        options.append(text)
    if adm.numeric or adm.types is None:
        options += [st.floats(), st.integers(min_value=-(2**70), max_value=2**70)]
    if adm.mapping or adm.types is None or adm.models:
        options.append(nested)
    if adm.iterable:
        options.append(st.lists(st.one_of(text, st.none(), st.integers(), bad_leaf), max_size=3))
    strategy = st.one_of(*options).map(Hostile)
    for model in adm.models:
        if MODEL_VARIANTS[model]:
            strategy = strategy | st.sampled_from(MODEL_VARIANTS[model])
    return strategy


# -- enumerating the cases ---------------------------------------------------------------------------


def public_methods(cls: type) -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member) and not inspect.isclass(member)
    )


def parameters(cls: type, method: str) -> list[inspect.Parameter]:
    sig = inspect.signature(getattr(cls, method))
    return [p for p in sig.parameters.values() if p.name != "self" and p.kind is not p.VAR_POSITIONAL]


# -- known violations (found by this file; library fixes pending) ----------------------------------------
# Each group: what is wrong and the proposed fix, then the (class.method.parameter) cases it breaks.
# A case may be in several groups. Minimal reproducers are in REPRODUCERS below.
# Empty: V1..V13 (unbounded numbers, list parameters, event subscriptions, boolean flags, defaults
# replacing wrong values, non-string model keys, messages naming the parameter, unhashable agent ids,
# unbounded strings, required fencing tokens, over-long checkpoint ids, lax model coercion, a missing
# lock_timeout) are fixed; their cases and REPRODUCERS now run as regression tests.
VIOLATION_GROUPS: list[tuple[str, list[str]]] = []
VIOLATIONS: dict[tuple[str, str, str], str] = {}
for _reason, _ids in VIOLATION_GROUPS:
    for _id in _ids:
        _key = tuple(_id.split("."))
        VIOLATIONS[_key] = f"{VIOLATIONS[_key]} | {_reason}" if _key in VIOLATIONS else _reason  # type: ignore[index]


def cases() -> list[Any]:
    out = []
    for cname, cls in CLASSES.items():
        for method in public_methods(cls):
            if method in SKIP_METHODS:
                continue
            for p in parameters(cls, method):
                reason = VIOLATIONS.get((cname, method, p.name))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                out.append(pytest.param(cname, method, p.name, id=f"{cname}.{method}.{p.name}", marks=marks))
    return out


# -- the keyspace --------------------------------------------------------------------------------------


#: A key's remaining time to live below this counts as "expiring soon" in a dump (seeded TTLs are an hour or more).
SOON_MS = 600_000


def _expiry(pttl: int) -> str:
    """A key's time to live as a dump compares it: a call that gives a key a short TTL changed the keyspace
    (the key vanishes later, under some other call) even though its content is the same for now."""
    return "none" if pttl < 0 else "soon" if pttl < SOON_MS else "later"


async def dump(raw: Any, prefix: str) -> dict[bytes, tuple[str, Any, str]]:
    """Every key under ``prefix`` (but the op-id memory) with its type, full content and expiry class."""
    keys = sorted([k async for k in raw.scan_iter(match=escape_glob(prefix) + "*", count=1000)])
    keys = [k for k in keys if not k.endswith((b":ops:cur", b":ops:prev"))]
    pipe = raw.pipeline(transaction=False)
    for k in keys:
        pipe.type(k)
    types = [t.decode() if isinstance(t, bytes) else t for t in await pipe.execute()]
    readers = {
        "string": lambda p, k: p.get(k),
        "hash": lambda p, k: p.hgetall(k),
        "list": lambda p, k: p.lrange(k, 0, -1),
        "set": lambda p, k: p.smembers(k),
        "zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
        "stream": lambda p, k: p.xrange(k),
    }
    pipe = raw.pipeline(transaction=False)
    for k, t in zip(keys, types):
        readers[t](pipe, k) if t in readers else pipe.type(k)
        pipe.pttl(k)
    replies = await pipe.execute()
    contents, pttls = replies[0::2], replies[1::2]
    out: dict[bytes, tuple[str, Any, str]] = {}
    for k, t, c, pttl in zip(keys, types, contents, pttls):
        if t == "hash":
            c = sorted(c.items())
        elif t == "set":
            c = sorted(c)
        elif t == "stream":
            c = [(i, sorted(f.items())) for i, f in c]
        out[k] = (t, c, _expiry(int(pttl)))
    return out


def _elements(content: Any) -> list[bytes]:
    if isinstance(content, bytes):
        return [content]
    if isinstance(content, (list, tuple)):
        return [e for item in content for e in _elements(item)]
    return []


def keyspace_problems(snapshot: dict[bytes, tuple[str, Any, str]], prefix: str) -> list[str]:
    """(e): no oversized element stored; every key's hash tag right after the prefix, of a known kind."""
    problems = []
    head = prefix.encode() + b"{"
    for key, (_t, content, _expires) in snapshot.items():
        big = [e for e in _elements(content) if len(e) > STORED_ELEMENT_LIMIT]
        if big:
            problems.append(f"key {key[:80]!r} stores a {len(big[0])}-byte element (max_value_bytes={MAX_VALUE_BYTES})")
        if not key.startswith(head) or b"}" not in key[len(head) :]:
            problems.append(f"key {key[:80]!r} has no hash tag right after the prefix")
            continue
        tag = key[len(head) : key.index(b"}", len(head))].decode("utf-8", "replace")
        kind, sep, ident = tag.partition(":")
        if kind not in KINDS or not sep or not ident:
            problems.append(f"key {key[:80]!r}: hash tag {tag[:60]!r} is not <kind>:<id>")
        elif "{" in unescape_id(ident) and "%7B" not in ident:
            problems.append(f"key {key[:80]!r}: raw brace inside the hash tag")
    return problems


# -- seeding -----------------------------------------------------------------------------------------


async def seed(b: RedisBackend) -> None:
    await StateManager(backend=b).save(STATE_KEY, {"a": 1, "nested": {"b": [1, 2]}})
    store = AgentStateStore(backend=b)
    await store.record_approval(AGENT, TOOL, True, "all", {"cmd": "ls"})
    await store.record_tool_usage(AGENT, TOOL, 2)
    await store.update_workflow_state(AGENT, run_id="run-1", status="running")
    await store.save_snapshot(AgentSnapshot(agent_id=AGENT, snapshot_id="snap-1", memory_state={"m": 1}))
    await store.save_checkpoint(AgentCheckpoint(agent_id=AGENT, checkpoint_id="ck-1", step=1, state={"n": 1}))
    wf = WorkflowStateManager(backend=b)
    await wf.create(WorkflowState(workflow_id=WF, total_steps=3))
    await wf.update_step(WF, StepState(step_number=1, status="completed"))
    await wf.checkpoint(WorkflowCheckpoint(workflow_id=WF, checkpoint_id="cp-1"))
    orch = OrchestrationStateManager(backend=b)
    await orch.create_team(
        TeamState(
            team_id=TEAM,
            agents={"worker-1": AgentCoordinationState(agent_id="worker-1", capabilities=["code"])},
            task_queue=TaskQueueState(pending=[Task(id="task-1", capability="code")]),
        )
    )
    await orch.enqueue_tasks(TEAM, [{"id": "task-2"}, {"id": "task-3"}])
    first = await orch.claim_task(TEAM, "worker-1")
    second = await orch.claim_task(TEAM, "worker-2")
    assert first is not None and second is not None and first.id == "task-1"
    await orch.fail_task(TEAM, second.id, "boom", retry=False, token=second.token)
    await orch.add_schedule(TEAM, "sched-1", {"type": "x"}, every=3600)
    tools = ToolStateManager(backend=b)
    await tools.start_execution(ToolExecution(execution_id=EXEC, tool_name=TOOL, parameters={"q": 1}))
    await tools.start_execution(ToolExecution(execution_id="exec-2", tool_name=TOOL))
    await tools.complete_execution("exec-2", {"ok": True}, 5)
    await tools.cache_result(ToolCacheEntry(tool_name=TOOL, parameters={"q": 1}, result=[1]))
    await tools.update_retry_state(RetryState(execution_id=EXEC, attempts=1), delay=3600)
    kb = KnowledgeStateManager(backend=b)
    await kb.start_indexing(KB, 10)
    await kb.record_documents(KB, 1)
    await kb.update_source_state(SourceState(source_id="src-1", knowledge_base_id=KB))
    speech = SpeechStateManager(backend=b)
    await speech.create_session(session_id=SID)
    await speech.add_turn(SID, "user", "hi")


class Keyspace:
    """A seeded prefix that is put back (DUMP/RESTORE) whenever a call changed it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"hx{uuid.uuid4().hex[:10]}:"
        self.raw: Any = None
        self.backend: Any = None
        self.saved: list[tuple[bytes, int, bytes]] = []
        self.clean: dict[bytes, tuple[str, Any, str]] = {}

    async def start(self) -> None:
        self.raw = aioredis.from_url(self.url, decode_responses=False)
        self.backend = RedisBackend(self.url, key_prefix=self.prefix, max_value_bytes=MAX_VALUE_BYTES)
        await self.backend.connect()
        await seed(self.backend)
        keys = [k async for k in self.raw.scan_iter(match=escape_glob(self.prefix) + "*", count=1000)]
        pipe = self.raw.pipeline(transaction=False)
        for k in keys:
            pipe.pttl(k)
            pipe.dump(k)
        replies = await pipe.execute()
        self.saved = [(k, max(int(replies[2 * i]), 0), replies[2 * i + 1]) for i, k in enumerate(keys)]
        self.clean = await dump(self.raw, self.prefix)

    async def _wipe(self) -> None:
        keys = [k async for k in self.raw.scan_iter(match=escape_glob(self.prefix) + "*", count=1000)]
        if keys:
            await self.raw.unlink(*keys)

    async def restore(self) -> None:
        await self._wipe()
        pipe = self.raw.pipeline(transaction=False)
        for k, ttl, blob in self.saved:
            pipe.restore(k, ttl, blob)
        await pipe.execute()

    async def stop(self) -> None:
        try:
            await self._wipe()
        finally:
            await self.backend.close()
            await self.raw.aclose()


# -- one call ------------------------------------------------------------------------------------------


def build_args(cname: str, method: str, attacked: str, hostile: Hostile) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments: ``attacked`` hostile, the others valid."""
    cls = CLASSES[cname]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    skip = set(EXCLUSIVE.get(attacked, ()))
    positional_ok = True
    for p in parameters(cls, method):
        if p.kind is p.VAR_KEYWORD:
            if p.name == attacked:
                kwargs.update(hostile.value)
            continue
        if p.name == attacked:
            value: Any = hostile.value
        elif p.name in skip:
            positional_ok = False
            continue
        elif (method, p.name) in METHOD_BASE:
            value = METHOD_BASE[(method, p.name)]()
        elif (cname, p.name) in CLASS_BASE and p.default is p.empty:
            value = CLASS_BASE[(cname, p.name)]()
        elif p.default is not p.empty:
            positional_ok = False  # later parameters go by keyword
            continue
        else:
            models = admits(p).models
            if models:
                value = models[0](**MODEL_BASE[models[0]])
            elif p.name in BASE:
                value = BASE[p.name]()
            else:
                raise AssertionError(f"no valid baseline for {cname}.{method}({p.name}=...): add one to BASE")
        if p.kind is p.KEYWORD_ONLY or not positional_ok:
            kwargs[p.name] = value
        else:
            args.append(value)
    return args, kwargs


async def invoke(instance: Any, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    result = getattr(instance, method)(*args, **kwargs)
    if inspect.isawaitable(result) and not hasattr(result, "_hub"):  # a Subscription is not awaited
        return await result
    if hasattr(result, "__aenter__"):  # keep_alive: enter and leave at once
        async with result:
            pass
    return result


def _names(name: str) -> set[str]:
    return {name, *ALIASES.get(name, []), *(part for part in name.split("_") if len(part) >= 3)}


def _value_tokens(v: Any, depth: int = 0) -> set[str]:
    """Type names and short reprs of a value and (one level down) its keys and items."""
    out = {type(v).__name__}
    text = repr(v)
    if isinstance(v, str) and v:
        out.add(v[:20])
    if 2 <= len(text) <= 40:
        out.add(text)
    if depth == 0 and isinstance(v, Mapping):
        for k, item in v.items():
            out |= _value_tokens(k, 1) | _value_tokens(item, 1)
    elif depth == 0 and isinstance(v, (list, tuple, set, frozenset)):
        for item in v:
            out |= _value_tokens(item, 1)
    return out


def identifying_tokens(name: str, h: Hostile) -> set[str]:
    tokens = _names(name)
    for v in (h.value, h.field_value) if h.field else (h.value,):
        tokens |= _value_tokens(v)
    if h.field:
        tokens |= _names(h.field) | {type(h.value).__name__}
    tokens |= {"NaN", "inf", "not JSON-serializable", "maximum"} if _mentions_json(h) else set()
    return {t.lower() for t in tokens if t}


def _mentions_json(h: Hostile) -> bool:
    v = h.field_value if h.field else h.value
    return isinstance(v, (dict, list, tuple, set, float)) or v is _OBJ or v == OVERSIZE


async def check_one(ks: Keyspace, cname: str, method: str, attacked: str, h: Hostile) -> list[str]:
    """Run one hostile call; the list of rule violations (empty when all is well)."""
    p = next(p for p in parameters(CLASSES[cname], method) if p.name == attacked)
    adm = admits(p)
    args, kwargs = build_args(cname, method, attacked, h)
    before = ks.clean
    instance = FACTORIES[cname](ks.backend)
    where = f"{cname}.{method}({attacked}={h.describe()})"
    problems: list[str] = []
    outcome: BaseException | None = None
    try:
        await asyncio.wait_for(invoke(instance, method, args, kwargs), CALL_TIMEOUT)
    except asyncio.TimeoutError:
        problems.append(f"{where}: hangs (no answer in {CALL_TIMEOUT} s)")
    except Exception as exc:  # noqa: BLE001 - classifying every outcome is the point
        outcome = exc
    after = await dump(ks.raw, ks.prefix)
    refuse = must_refuse(method, attacked, adm, h)
    if outcome is not None and not isinstance(outcome, AgentStateError):
        problems.append(f"{where}: raises {type(outcome).__module__}.{type(outcome).__name__}: {str(outcome)[:160]}")
    elif outcome is not None and type(outcome) is AgentStateError:
        problems.append(f"{where}: untyped AgentStateError from the server: {str(outcome)[:160]}")
    elif isinstance(outcome, InvalidInputError):
        if after != before:
            changed = sorted(set(after) ^ set(before)) or [k for k in after if after[k] != before.get(k)]
            problems.append(f"{where}: InvalidInputError but the keyspace changed ({changed[:3]})")
        message = str(outcome)
        if not message or not any(t in message.lower() for t in identifying_tokens(attacked, h)):
            problems.append(f"{where}: InvalidInputError message names neither parameter nor value: {message!r}")
    elif refuse is not None:
        got = "returns" if outcome is None else f"raises {type(outcome).__name__}: {str(outcome)[:100]}"
        problems.append(f"{where}: {got}; must raise InvalidInputError ({refuse})")
    problems += [f"{where}: {msg}" for msg in keyspace_problems(after, ks.prefix)]
    if after != before:
        await ks.restore()
    return problems


# -- the tests -----------------------------------------------------------------------------------------


class Runner:
    """An event loop and a seeded keyspace for one test."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.ks = Keyspace(url)
        self.loop.run_until_complete(self.ks.start())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        try:
            self.run(self.ks.stop())
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            self.loop.close()


@pytest.fixture
def runner(redis_url: str) -> Any:
    r = Runner(redis_url)
    yield r
    r.close()


def test_every_class_has_cases() -> None:
    """The introspection finds the managers' methods (a guard against an empty parametrization)."""
    found = {c.values[0] for c in cases()}
    assert found == set(CLASSES)
    assert len(cases()) > 200


@pytest.mark.parametrize(("cname", "method", "attacked"), cases())
def test_hostile_argument(runner: Runner, cname: str, method: str, attacked: str) -> None:
    p = next(p for p in parameters(CLASSES[cname], method) if p.name == attacked)
    adm = admits(p)
    keep = RESTRICTED.get((method, attacked), ("", lambda v: True))[1]
    problems: list[str] = []
    for h in curated(attacked, adm):
        if keep(h.value):
            problems += runner.run(check_one(runner.ks, cname, method, attacked, h))
    assert not problems, "\n".join(dict.fromkeys(problems))

    @settings(
        max_examples=GENERATED_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(h=generated(attacked, adm).filter(lambda h: keep(h.value)))
    def generated_values(h: Hostile) -> None:
        found = runner.run(check_one(runner.ks, cname, method, attacked, h))
        assert not found, "\n".join(found)

    generated_values()


@pytest.mark.parametrize("cname", sorted(c for c in CLASSES if hasattr(CLASSES[c], "subscribe")))
def test_subscribe_with_a_non_callable_is_refused(runner: Runner, cname: str) -> None:
    instance = FACTORIES[cname](runner.ks.backend)
    for bad in (None, 5, "callback", {"a": 1}):
        with pytest.raises(InvalidInputError, match="callback"):
            instance.subscribe("*", bad)


# Minimal reproducers of the violations found (V1..V13, now fixed): (id, class, method, attacked
# parameter, hostile value). A case still listed in VIOLATIONS is marked xfail(strict=True).
REPRODUCERS: list[tuple[str, str, str, str, Any]] = [
    ("V1-ttl-inf", "StateManager", "save", "ttl", INF),  # OverflowError
    ("V1-ttl-huge", "StateManager", "save", "ttl", 1e300),  # bare AgentStateError (server)
    ("V1-lease-ttl-inf", "AgentStateStore", "acquire_lease", "ttl", INF),  # OverflowError (before the fix)
    ("V1-limit-huge", "WorkflowStateManager", "history", "limit", 2**64),  # bare AgentStateError (server)
    ("V1-increment-huge", "AgentStateStore", "record_tool_usage", "increment", 2**64),
    # Backoff(delay=INF) and ToolCacheEntry(ttl=INF) are now refused by the models themselves
    # (allow_inf_nan=False); the managers still refuse what gets past them.
    (
        "V1-backoff-inf",
        "OrchestrationStateManager",
        "fail_task",
        "backoff",
        Hostile(Backoff.model_construct(delay=INF), "delay", INF),
    ),  # OverflowError
    (
        "V1-cache-ttl-inf",
        "ToolStateManager",
        "cache_result",
        "entry",
        Hostile(ToolCacheEntry(tool_name=TOOL, parameters={"q": 2}, ttl=1e300), "ttl", 1e300),
    ),
    ("V1-idle-timeout-huge", "SpeechStateManager", "create_session", "idle_timeout", 2**64),
    ("V2-capabilities-int", "OrchestrationStateManager", "claim_task", "capabilities", 5),  # TypeError
    ("V2-tasks-none", "OrchestrationStateManager", "enqueue_tasks", "tasks", None),  # TypeError
    ("V2-task-ids-int", "OrchestrationStateManager", "retry_dead", "task_ids", 5),  # TypeError
    ("V3-glob-none", "StateManager", "subscribe_events", "id_glob", None),  # TypeError
    ("V3-callback-str", "StateManager", "subscribe_events", "callback", "not callable"),  # accepted
    ("V3-kind-int", "StateManager", "subscribe_events", "kind", 5),  # accepted
    ("V3-unsubscribe-glob-list", "StateManager", "unsubscribe_events", "id_glob", ["a"]),  # TypeError
    ("V3-subscribe-pattern-none", "StateManager", "subscribe", "pattern", None),  # TypeError
    ("V3-subscribe-cache-callback", "ToolStateManager", "subscribe_cache", "callback", None),
    ("V4-upsert-str", "StateManager", "update", "upsert", "no"),  # upserts
    ("V4-exist-ok-str", "OrchestrationStateManager", "create_team", "exist_ok", "no"),
    ("V5-owner-zero", "AgentTracker", "acquire", "owner", 0),  # random owner
    ("V5-state-empty-str", "AgentTracker", "capture_state", "state", ""),  # stored as {}
    ("V5-kb-metadata-str", "KnowledgeStateManager", "start_indexing", "metadata", "abc"),
    ("V6-parse-int-keys", "WorkflowStateManager", "create", "state", {1: 2}),  # TypeError
    ("V7-hash-message", "ToolStateManager", "get_cached_result", "parameters_hash", "\x00"),
    ("V8-unhashable-agent", "AgentRecoveryManager", "recover_and_resume", "agent_id", ["a"]),  # TypeError
    ("V9-owner-oversized", "WorkflowStateManager", "acquire_lease", "owner", OVERSIZE),  # 5000 chars stored
    ("V9-error-oversized", "ToolStateManager", "fail_execution", "error", OVERSIZE),  # 5000 chars stored
    ("V10-token-none", "WorkflowStateManager", "renew_lease", "fencing_token", None),  # accepted
    ("V11-checkpoint-id-long", "WorkflowStateManager", "resume_from", "checkpoint_id", "x" * 1025),
    ("V12-step-bool", "AgentTracker", "capture_state", "step", True),
    ("V13-lock-timeout-none", "ToolStateManager", "get_or_compute", "lock_timeout", None),
]


@pytest.mark.parametrize(
    ("cname", "method", "attacked", "value"),
    [
        pytest.param(
            c,
            m,
            a,
            v,
            id=i,
            marks=[pytest.mark.xfail(strict=True, reason=VIOLATIONS[(c, m, a)])] if (c, m, a) in VIOLATIONS else [],
        )
        for i, c, m, a, v in REPRODUCERS
    ],
)
def test_known_violation_reproducer(runner: Runner, cname: str, method: str, attacked: str, value: Any) -> None:
    h = value if isinstance(value, Hostile) else Hostile(value)
    problems = runner.run(check_one(runner.ks, cname, method, attacked, h))
    assert not problems, "\n".join(problems)
