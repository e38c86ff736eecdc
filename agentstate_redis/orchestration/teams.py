"""Teams and their agents: create, read, status updates, availability by capability.

    >>> await orch.create_team(TeamState(team_id="research_team", agents={...}))
    True
    >>> await orch.update_agent_status("research_team", "researcher", "working", current_task="task_001")
    >>> [a.agent_id for a in await orch.get_available_agents("research_team", capability="research")]
    []

Each agent is its own hash, so concurrent status updates of different agents
(or fields) never overwrite each other. Agents stay until removed: ``remove_agent``
drops one, ``prune_agents`` every one silent for a while (pods come and go with new
hostnames, so a coordinator prunes, or ``reap`` does with ``auto_prune_after``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import InvalidInputError, InvalidTransitionError
from ..keys import validate_id
from ..validate import boolean, integer, positive_number, strings
from .common import TeamBase
from .models import AgentCoordinationState, TaskQueueState, TeamState, check_name
from .wire import as_list, decode_agent, decode_task, join_caps, pairs, reply, task_args

_UNSET: Any = object()


class TeamOps(TeamBase):
    async def create_team(self, team: TeamState | str, *, exist_ok: bool = False) -> bool:
        """Create a team with its agents and any pending tasks; True if created.

        ``await orch.create_team(TeamState(team_id="t", agents={...}))``. An existing
        team raises AlreadyExistsError, or is left as it is with ``exist_ok=True`` (False).
        """
        if isinstance(team, str):
            team = TeamState(team_id=team)
        if not isinstance(team, TeamState):
            raise InvalidInputError(f"team must be a TeamState or a team id, got {type(team).__name__}")
        validate_id("team", team.team_id)
        queue = team.task_queue
        if queue.in_progress or queue.completed or queue.scheduled or queue.dead:
            raise InvalidInputError(f"team {team.team_id!r}: a new team's task_queue may only hold pending tasks")
        args: list[Any] = [
            "1" if boolean("exist_ok", exist_ok) else "0",
            self._dumps(team.metadata, what="team metadata"),
            len(team.agents),
        ]
        for agent in team.agents.values():
            args += [
                agent.agent_id,
                agent.status,
                join_caps(agent.capabilities),
                agent.current_task or "",
                self._dumps(agent.metadata, what=f"metadata of agent {agent.agent_id!r}"),
            ]
        self._check_unique([t.id for t in queue.pending])
        for task in queue.pending:
            args += task_args(task, self._dumps)
        return bool(await self._write("create_team", team.team_id, *args) == "1")

    async def get_team(self, team_id: str) -> TeamState:
        """The team, all its agents and the first page of each queue, read in one script.

        ``team = await orch.get_team("research_team"); team.agents["researcher"].status``
        """
        data = await self._read("status", team_id, self.page_size, self._ms(self.offline_after), "1")
        team = pairs(data.get("team"))
        agents = [decode_agent(flat) for flat in as_list(data.get("agents"))]
        return TeamState.model_construct(
            team_id=team_id,
            agents={a.agent_id: a for a in agents},
            task_queue=_queue(data),
            metadata=reply(team["meta"]) if team.get("meta") else {},
            created_at=int(team["created_at"]) / 1000 if team.get("created_at") else None,
            version=int(team.get("#v", 0)),
        )

    async def get_queue_status(self, team_id: str, page_size: int | None = None) -> TaskQueueState:
        """Counts and the first ``page_size`` tasks of pending, in-progress, scheduled-retry,
        delayed, completed, dead and cancelled (these three newest first) tasks, and whether the team
        is paused: ``len(queue.pending)``, ``queue.pending_count``, ``queue.delayed_count``."""
        page = self.page_size if page_size is None else integer("page_size", page_size, minimum=0)
        return _queue(await self._read("status", team_id, page, self._ms(self.offline_after), "0"))

    async def register_agent(self, team_id: str, agent: AgentCoordinationState) -> AgentCoordinationState:
        """Add an agent to a team, or overwrite its status, capabilities, current task and metadata.

        ``await orch.register_agent("t", AgentCoordinationState(agent_id="w1", capabilities=["code"]))``
        """
        if not isinstance(agent, AgentCoordinationState):
            raise InvalidInputError(f"agent must be an AgentCoordinationState, got {type(agent).__name__}")
        fields = [
            "status",
            agent.status,
            "caps",
            join_caps(agent.capabilities),
            "current_task",
            agent.current_task or "",
            "meta",
            self._dumps(agent.metadata, what=f"metadata of agent {agent.agent_id!r}"),
        ]
        validate_id("agent", agent.agent_id)
        return decode_agent(reply(await self._write("update_agent", team_id, agent.agent_id, "1", *fields)))

    async def update_agent_status(
        self,
        team_id: str,
        agent_id: str,
        status: str | None = None,
        current_task: str | None = _UNSET,
        *,
        capabilities: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AgentCoordinationState:
        """Set an existing agent's status (and optionally current task, capabilities, metadata).

        ``await orch.update_agent_status("t", "researcher", "working", current_task="task_001")``.
        Fields not passed are left as they are; an unknown agent raises NotFoundError.
        """
        validate_id("agent", agent_id)
        fields: list[Any] = []
        if status is not None:
            fields += ["status", _checked(check_name, status, "status")]
        if current_task is not _UNSET:
            if current_task is not None:
                validate_id("task", current_task)
            fields += ["current_task", current_task or ""]
        if capabilities is not None:
            caps = strings("capabilities", capabilities)
            fields += ["caps", join_caps(_checked(check_name, c, "capability") for c in caps)]
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
            fields += ["meta", self._dumps(dict(metadata), what=f"metadata of agent {agent_id!r}")]
        return decode_agent(reply(await self._write("update_agent", team_id, agent_id, "0", *fields)))

    async def get_agents(self, team_id: str) -> list[AgentCoordinationState]:
        """Every agent of the team, sorted by id (silent ones shown ``offline``)."""
        data = await self._read("agents", team_id, self._ms(self.offline_after), "0", "")
        return [decode_agent(flat) for flat in as_list(data)]

    async def get_available_agents(self, team_id: str, capability: str | None = None) -> list[AgentCoordinationState]:
        """Idle, online agents with ``capability`` (any if None), sorted by id, from one consistent read.

        ``await orch.get_available_agents("research_team", capability="research")``
        """
        cap = "" if capability is None else _checked(check_name, capability, "capability")
        data = await self._read("agents", team_id, self._ms(self.offline_after), "1", cap)
        return [decode_agent(flat) for flat in as_list(data)]

    async def remove_agent(self, team_id: str, agent_id: str) -> bool:
        """Remove an agent from the team: its hash (status, capabilities, so it leaves the
        availability and capability filters), its held-task set and its team membership.

        ``await orch.remove_agent("t", "pod-7")`` -> True, or False for an unknown agent
        (harmless). Refused with InvalidTransitionError (naming the agent and the task, detail
        ``task``) while the agent holds an in-progress task: complete, fail or release it first.
        Task history that names the agent (``completed_by``) is kept. A heartbeat or claim by
        the same id later simply joins it again.
        """
        validate_id("agent", agent_id)
        try:
            return bool(await self._write("remove_agent", team_id, agent_id) == "1")
        except InvalidTransitionError as exc:
            task = exc.details.get("task")
            raise InvalidTransitionError(
                f"agent {agent_id!r} of team {team_id!r} holds in-progress task {task!r}; complete, fail or "
                f"release it before removing the agent",
                **exc.details,
            ) from None

    async def prune_agents(self, team_id: str, offline_for: float) -> list[str]:
        """Remove every agent last heard of (heartbeat, claim, status update or registration, by
        the server clock) more than ``offline_for`` seconds ago and holding no in-progress task;
        returns the removed ids, sorted.

        ``await orch.prune_agents("t", offline_for=3600)``. Each script call examines one
        SSCAN step of about ``PRUNE_SCAN`` (500) agents; this loops until the whole set was
        seen. A live worker heartbeats every ``sync_interval``, so pick ``offline_for`` well
        above ``offline_after``. One ``agents_pruned`` event per script call that removed any.
        """
        ms = int(positive_number("offline_for", offline_for, allow_zero=True) * 1000)
        self._team(team_id)
        op_id = self._op_id()
        removed: list[str] = []
        cursor, step = "0", 0
        while True:
            out = await self._write("prune_agents", team_id, ms, cursor, op_id=f"{op_id}:{step}")
            ids, cursor = self._parse_prune(out)
            removed += ids
            step += 1
            if cursor == "0":
                return sorted(set(removed))

    @staticmethod
    def _parse_prune(raw: Any) -> tuple[list[str], str]:
        out = reply(raw)
        return [str(i) for i in as_list(out.get("removed"))], str(out.get("cursor", "0"))

    @staticmethod
    def _check_unique(ids: list[str]) -> None:
        seen: set[str] = set()
        for task_id in ids:
            validate_id("task", task_id)
            if task_id in seen:
                raise InvalidInputError(f"task id {task_id!r} appears twice in one batch", kind="task", id=task_id)
            seen.add(task_id)


def _checked(check: Callable[[str, str], str], value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    try:
        return check(value, what)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


def _queue(data: dict[str, Any]) -> TaskQueueState:
    counts = data.get("counts") or {}

    def tasks(name: str) -> list[Any]:
        return [decode_task(v) for v in as_list(data.get(name))]

    return TaskQueueState.model_construct(
        pending=tasks("pending"),
        in_progress=tasks("in_progress"),
        completed=tasks("completed"),
        scheduled=tasks("retry"),
        dead=tasks("dead"),
        delayed=tasks("delayed"),
        cancelled=tasks("cancelled"),
        waiting=tasks("waiting"),
        paused=bool(data.get("paused")),
        pending_count=int(counts.get("pending", 0)),
        in_progress_count=int(counts.get("in_progress", 0)),
        scheduled_count=int(counts.get("retry", 0)),
        completed_count=int(counts.get("completed", 0)),
        completed_total=int(counts.get("completed_total", 0)),
        dead_count=int(counts.get("dead", 0)),
        delayed_count=int(counts.get("delayed", 0)),
        cancelled_count=int(counts.get("cancelled", 0)),
        cancelled_total=int(counts.get("cancelled_total", 0)),
        waiting_count=int(counts.get("waiting", 0)),
    )
