"""Automatic pipelining on a Redis Cluster: concurrent script calls bound for one primary share round trips.

    >>> sender = ClusterAutoPipeline(cluster_client)
    >>> await asyncio.gather(*(sender.evalsha(sha, 1, f"{{team:{i}}}:k") for i in range(64)))

Each call is routed by its first key's slot (from the client's slot map) to that
slot's primary. Per primary it behaves like :class:`~.autopipeline.AutoPipeline`:
a call made while nothing is in flight to that node goes out at once on one of the
node's connections; calls made meanwhile leave together as one pipeline (no MULTI)
once it returns, so a node has at most ``max_in_flight`` (1) pipelines in flight. One,
not the single server's four: each node sees only its share of the callers, and a
second pipeline per node split them into two groups that kept leaving apart (8 calls
per pipeline instead of 16 with 48 callers on 3 primaries, and a third more client
CPU per call; see bench/cluster_queue.py). A call waits at most one round trip of
its node's pipeline before it leaves.

Each caller gets its own reply or exception; one script's error reply never fails
its neighbours. A ``MOVED`` reply (the slot lives elsewhere now) updates the slot
map and sends that command again to the new owner; an ``ASK`` reply (the slot is
migrating) sends it to the importing node, after ``ASKING`` on the same connection.
Both are refusals (the script did not run), so resending cannot apply it twice.
After ``max_redirects`` redirects the caller gets ``BackendUnavailableError``
(nothing ran). A lost connection fails the commands whose replies had not arrived
with redis-py's ``ConnectionError`` / ``TimeoutError``, as the single-server path
does: the caller's retry policy (scripts.py, with its op-id window) decides what
may be resent; this module never resends a command whose outcome is unknown.
After a connection error or a timeout on a node, every call routed to that node reads
the slot map again first, until a call to it succeeds or the map no longer sends
anything to it: a failover moves its slots to a replica only seconds later, and a
map read in between (or from a node that has not heard of the failover yet) still
names the dead primary. After ``CLUSTERDOWN`` or a slot the map does not cover, the
next call of any slot reads the map first. Calls to healthy nodes never wait for
another node's refresh.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis import exceptions as rx
from redis.cluster import PRIMARY

from .errors import BackendUnavailableError
from .sends import SendRecord, current_record, recording

#: Redirects (MOVED or ASK) one command may follow before its caller gets an error.
MAX_REDIRECTS = 5

#: Replies that send the command to another node (neither ran it): MOVED (a subclass of AskError in
#: redis-py) and ASK. TRYAGAIN (a multi-key command while its slot migrates) is not one: it goes to
#: the caller, whose retry policy waits for the migration to end (scripts.py counts it a refusal).
_REDIRECTS = (rx.AskError,)

#: Failures of one node: calls routed to it read the slot map again until one of them succeeds.
_NODE_DOWN = (rx.ConnectionError, rx.TimeoutError, OSError)

#: Replies after which the whole slot map is read again before the next call is routed.
_STALE_MAP = (rx.ClusterDownError, rx.SlotNotCoveredError)

#: Two refreshes at least this far apart (seconds): callers that fail together share one.
MIN_REFRESH_INTERVAL = 0.05


class _Call:
    """One queued command: its arguments, the future its caller awaits, redirects so far, the caller's record."""

    __slots__ = ("args", "future", "record", "redirects")

    def __init__(self, args: tuple[Any, ...], future: asyncio.Future[Any], record: SendRecord | None) -> None:
        self.args = args
        self.future = future
        self.redirects = 0
        self.record = record

    def fail(self, exc: BaseException) -> None:
        """Give ``exc`` to the caller (unless its future is done); a cancellation is raised on, in this task.

        ``except BaseException as exc: call.fail(exc)`` in a task that redirects this one command.
        """
        if not self.future.done():
            self.future.set_exception(exc)
        if isinstance(exc, asyncio.CancelledError):
            raise exc


class _Lane:
    """The queue and in-flight count of one primary."""

    __slots__ = ("in_flight", "node", "queue", "scheduled")

    def __init__(self, node: Any) -> None:
        self.node = node
        self.queue: list[_Call] = []
        self.in_flight = 0
        self.scheduled = False


class ClusterAutoPipeline:
    def __init__(self, client: Any, max_in_flight: int = 1, max_redirects: int = MAX_REDIRECTS) -> None:
        self.client = client
        self.max_in_flight = max_in_flight
        self.max_redirects = max_redirects
        self._lanes: dict[str, _Lane] = {}
        self._closed = False
        self._stale = False
        #: Names of nodes whose last call failed with a connection error or a timeout.
        self._suspects: set[str] = set()
        self._refreshes = 0
        self._refreshed_at = float("-inf")
        self._refresh_lock = asyncio.Lock()
        self._sending: set[asyncio.Future[None]] = set()  # the loop holds tasks weakly: keep each batch's
        #: Pipelines written, per node name (tests and benches read it: batching is observable).
        self.pipelines_sent: dict[str, int] = {}

    async def evalsha(self, *args: Any) -> Any:
        if self._closed:
            raise BackendUnavailableError("the backend is closed")
        numkeys = args[1]
        if not numkeys:
            return await self.client.evalsha(*args)  # no key, no slot: redis-py picks a node
        keys = args[2 : 2 + numkeys]
        slot = self.client.keyslot(keys[0])
        for key in keys[1:]:
            if self.client.keyslot(key) != slot:  # redis-py raises its own clear error for this
                return await self.client.evalsha(*args)
        node = await self._route(slot)
        lane = self._lane(node)
        if lane.in_flight == 0 and not lane.queue and not lane.scheduled:
            lane.in_flight += 1
            try:
                reply = await self._alone(node, args)
            finally:
                lane.in_flight -= 1
                self._schedule(lane)
            if isinstance(reply, _REDIRECTS):
                return await self._redirect(
                    _Call(args, asyncio.get_running_loop().create_future(), current_record()), reply
                )
            return reply
        call = _Call(args, asyncio.get_running_loop().create_future(), current_record())
        self._enqueue(lane, call)
        return await call.future

    async def close(self) -> None:
        """Refuse further calls (calls already sent finish on the client's connections)."""
        self._closed = True

    # -- routing ---------------------------------------------------------------------------------

    def _lane(self, node: Any) -> _Lane:
        lane = self._lanes.get(node.name)
        if lane is None:
            lane = self._lanes[node.name] = _Lane(node)
        else:
            lane.node = node  # a refreshed map may hold a new object for the same address
        return lane

    def _enqueue(self, lane: _Lane, call: _Call) -> None:
        lane.queue.append(call)
        self._schedule(lane)

    async def _route(self, slot: int) -> Any:
        """The primary of ``slot``, after reading the map again if it may be out of date for it."""
        nodes = self.client.nodes_manager
        if not self._stale:
            try:
                node = nodes.get_node_from_slot(slot)
            except rx.SlotNotCoveredError:
                self._stale = True
            else:
                if node.name not in self._suspects:
                    return node
        await self._refresh()
        return nodes.get_node_from_slot(slot)  # still uncovered: SlotNotCoveredError, a transient error

    async def _refresh(self) -> None:
        """Read the slot map again: once for all the callers waiting meanwhile, at most every
        ``MIN_REFRESH_INTERVAL`` seconds.

        If no node answers, or the nodes answer with a map the client cannot use, the old map
        stays (and stays suspect): the call then fails with the connection error its retry
        policy knows, rather than with a topology error.
        """
        seen = self._refreshes
        async with self._refresh_lock:
            loop = asyncio.get_running_loop()
            if self._refreshes != seen or loop.time() - self._refreshed_at < MIN_REFRESH_INTERVAL:
                return
            try:
                await self.client.nodes_manager.initialize()
            except (rx.RedisError, rx.RedisClusterException, OSError):
                return
            finally:
                self._refreshes += 1
                self._refreshed_at = loop.time()
            self._stale = False
            primaries = {n.name for n in self.client.nodes_manager.get_nodes_by_server_type(PRIMARY)}
            self._suspects &= primaries  # a node that lost its slots no longer routes anything

    def _note(self, node: Any, exc: BaseException) -> None:
        if isinstance(exc, _NODE_DOWN):
            self._suspects.add(node.name)
        elif isinstance(exc, _STALE_MAP):
            self._stale = True

    async def _redirect(self, call: _Call, reply: rx.AskError) -> Any:
        """Follow MOVED / ASK replies for ``call`` until it gets a real reply or runs out of redirects."""
        while True:
            call.redirects += 1
            keys = list(call.args[2 : 2 + call.args[1]])
            if call.redirects > self.max_redirects:
                raise BackendUnavailableError(
                    f"EVALSHA on {keys[0]!r}: redirected {call.redirects - 1} times (last reply: {reply}); "
                    f"the cluster's slot map keeps changing. The script did not run.",
                    keys=keys,
                )
            if isinstance(reply, rx.MovedError):
                await self.client.nodes_manager.move_slot(reply)
                node = self.client.nodes_manager.get_node_from_slot(reply.slot_id)
                result = await self._alone(node, call.args)
            else:
                node = self.client.nodes_manager.get_node(host=reply.host, port=reply.port)
                if node is None:  # a node the map does not know yet: read the map, then ask it
                    await self.client.nodes_manager.initialize()
                    node = self.client.nodes_manager.get_node(host=reply.host, port=reply.port)
                if node is None:
                    raise BackendUnavailableError(
                        f"EVALSHA on slot {reply.slot_id}: ASK to {reply.host}:{reply.port}, a node the "
                        f"cluster does not list. The script did not run.",
                        keys=keys,
                    )
                result = await self._alone(node, call.args, asking=True)
            if not isinstance(result, _REDIRECTS):
                return result
            reply = result

    # -- sending ---------------------------------------------------------------------------------

    async def _alone(self, node: Any, args: tuple[Any, ...], *, asking: bool = False) -> Any:
        """Send one command on one of ``node``'s connections; returns a redirect reply, raises other errors."""
        conn = node.acquire_connection()
        try:
            await node.disconnect_if_needed(conn)
            if asking:
                await conn.send_packed_command(conn.pack_commands([("ASKING",), ("EVALSHA", *args)]))
                await conn.read_response()
            else:
                await conn.send_packed_command(conn.pack_command("EVALSHA", *args))
            # Lost, timed out or cancelled mid-reply, redis-py disconnects the connection, so a late
            # reply never answers the next call; it reconnects on next use.
            reply = await conn.read_response()
        except _REDIRECTS as exc:
            return exc
        except BaseException as exc:
            self._note(node, exc)
            raise
        else:
            self._suspects.discard(node.name)
            return reply
        finally:
            node.release(conn)

    def _schedule(self, lane: _Lane) -> None:
        if lane.queue and not lane.scheduled and lane.in_flight < self.max_in_flight:
            lane.scheduled = True
            asyncio.get_running_loop().call_soon(self._start_batch, lane)

    def _start_batch(self, lane: _Lane) -> None:
        lane.scheduled = False
        if not lane.queue or lane.in_flight >= self.max_in_flight:
            return
        batch, lane.queue = lane.queue, []
        lane.in_flight += 1
        task = asyncio.ensure_future(self._send(lane, batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, lane: _Lane, batch: list[_Call]) -> None:
        """One pipeline on one connection of ``lane``'s node; each reply goes to its own caller."""
        node = lane.node
        sent = SendRecord()
        replies: list[Any] = []
        try:
            with recording(sent):
                conn = node.acquire_connection()
                try:
                    await node.disconnect_if_needed(conn)
                    await conn.send_packed_command(conn.pack_commands([("EVALSHA", *c.args) for c in batch]))
                    self.pipelines_sent[node.name] = self.pipelines_sent.get(node.name, 0) + 1
                    for _ in batch:
                        try:
                            replies.append(await conn.read_response())
                        except rx.ResponseError as exc:  # this command's own error; its neighbours go on
                            replies.append(exc)
                    self._suspects.discard(node.name)
                finally:
                    node.release(conn)
        except BaseException as exc:
            self._note(node, exc)
            for call in batch[len(replies) :]:  # the replies already read are real; the rest are unknown
                if call.record is not None:
                    call.record.merge(sent)
                if not call.future.done():
                    call.future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                self._finish(lane, batch, replies)
                raise
        self._finish(lane, batch, replies)

    def _finish(self, lane: _Lane, batch: list[_Call], replies: list[Any]) -> None:
        """Replies to their callers, then the lane's next batch: scheduled after the callers wake, it
        takes the calls they make at once, so the lane's callers keep leaving in one pipeline."""
        lane.in_flight -= 1
        try:
            self._deliver(lane.node, batch, replies)
        finally:
            if not lane.scheduled:  # even with nothing queued yet: the woken callers queue, not go alone
                lane.scheduled = True
                asyncio.get_running_loop().call_soon(self._start_batch, lane)

    def _deliver(self, node: Any, batch: list[_Call], replies: list[Any]) -> None:
        for call, reply in zip(batch, replies):
            if call.future.done():
                continue
            if isinstance(reply, _REDIRECTS):
                self._follow(call, reply)
            elif isinstance(reply, BaseException):
                self._note(node, reply)
                call.future.set_exception(reply)
            else:
                call.future.set_result(reply)

    def _follow(self, call: _Call, reply: rx.AskError) -> None:
        """Redirect one command of a batch in a task of its own; its caller's future gets the outcome."""
        if isinstance(reply, rx.MovedError) and call.redirects < self.max_redirects:
            task = asyncio.ensure_future(self._moved(call, reply))
        else:
            task = asyncio.ensure_future(self._redirect_into(call, reply))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _moved(self, call: _Call, reply: rx.MovedError) -> None:
        """MOVED inside a batch: update the map and queue the command on its new owner's lane."""
        call.redirects += 1
        try:
            await self.client.nodes_manager.move_slot(reply)
            node = self.client.nodes_manager.get_node_from_slot(reply.slot_id)
        except BaseException as exc:  # noqa: BLE001 - the caller's outcome; fail() raises a cancellation on
            call.fail(exc)
            return
        self._enqueue(self._lane(node), call)

    async def _redirect_into(self, call: _Call, reply: rx.AskError) -> None:
        try:
            result = await self._redirect(call, reply)
        except BaseException as exc:  # noqa: BLE001 - the caller's outcome; fail() raises a cancellation on
            call.fail(exc)
            return
        if not call.future.done():
            call.future.set_result(result)
