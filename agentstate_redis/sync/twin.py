"""Blocking twins, derived from the async classes by introspection: no method is written by hand.

    >>> SyncStateManager = twin_class(StateManager)
    >>> state = SyncStateManager(persistence="memory")     # the async constructor's signature
    >>> state.save("agent:a", {"n": 1})                      # the coroutine, run on the private loop
    1

For every public member of the async class (found on the class and its bases):

- a coroutine method becomes a blocking method with the same name, signature and docstring;
- an async generator method becomes a method returning an iterator;
- a plain method runs on the loop too (it may touch loop-bound state, e.g. ``subscribe``); what it
  returns is adapted: an awaitable (``subscribe``'s Subscription) is awaited, an async context
  manager (``keep_alive``) becomes a context manager, an async iterator an iterator;
- a property reads through (and writes through when it has a setter);
- static and class methods and constants pass through unchanged.

``async with`` becomes ``with``; ``connect``/``close`` are blocking. Arguments are adapted on the
way in: a twin becomes its async object (so ``backend=`` and ``state_manager=`` share one
connection), a plain callable becomes an async function run off the loop (``callbacks.off_loop``:
subscription callbacks, ``compute``, handlers), a ``threading.Event`` an ``asyncio.Event`` set
when it is set. Results are adapted on the way out: an object of a class that has coroutine
methods, or that is awaitable (a Subscription, whose ``unsubscribe()`` must run on the loop), comes
back as its twin (one twin per object, so ``store.connect() is store``).
Instance attributes of the async object (``tracker.agent_id``) read and write through.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, cast

from .callbacks import OffLoopObject, is_plain_callable, off_loop
from .runner import LoopRunner, default_runner

#: (async class name, method) whose argument objects have methods the async code calls: they run off the loop.
OFF_LOOP_OBJECT_ARGUMENTS = {("AgentRecoveryManager", "register")}
#: How often a threading.Event passed for an asyncio.Event is looked at.
EVENT_POLL_SECONDS = 0.1

_PLAIN = (str, bytes, int, float, list, dict, tuple, set, frozenset)
_twin_classes: dict[type, type[Twin]] = {}
_has_async: dict[type, bool] = {}
_twins: weakref.WeakValueDictionary[int, Twin] = weakref.WeakValueDictionary()
_twins_lock = threading.Lock()
_derive_lock = threading.RLock()  # re-entered: deriving a class derives its public bases first


class Twin:
    """Base of every blocking twin: holds the async object and the runner whose loop runs it."""

    _twin_of: type = object
    _twin_async: Any
    _twin_runner: LoopRunner

    def _twin_bind(self, obj: Any, runner: LoopRunner) -> None:
        object.__setattr__(self, "_twin_async", obj)
        object.__setattr__(self, "_twin_runner", runner)
        object.__setattr__(self, "_twin_callables", weakref.WeakValueDictionary())
        with _twins_lock:
            _twins[id(obj)] = self
        if inspect.iscoroutinefunction(getattr(type(obj), "close", None)):
            runner.register_closeable(obj)

    def _twin_call(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, allow_running_loop: bool = False
    ) -> Any:
        """Call ``name`` of the async object on the loop, arguments and result adapted; block until done."""
        obj, runner = self._twin_async, self._twin_runner
        what = f"{self._twin_of.__name__}.{name}"
        off_loop_objects = (self._twin_of.__name__, name) in OFF_LOOP_OBJECT_ARGUMENTS

        async def on_loop() -> Any:
            with contextlib.ExitStack() as scope:
                a = [_adapt_in(v, runner, self._twin_callables, scope, off_loop_objects) for v in args]
                kw = {k: _adapt_in(v, runner, self._twin_callables, scope, off_loop_objects) for k, v in kwargs.items()}
                result = getattr(obj, name)(*a, **kw)
                if inspect.isawaitable(result):
                    result = await result
                return result

        result = runner.call(on_loop, what=what, allow_running_loop=allow_running_loop)
        if name in ("close", "__aexit__"):
            runner.forget_closeable(obj)
        return adapt_out(result, runner)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_twin_"):
            raise AttributeError(name)
        return adapt_out(getattr(self._twin_async, name), self._twin_runner)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._twin_async, name, unwrap(value))

    def __repr__(self) -> str:
        return f"<sync {self._twin_async!r}>"


# -- adapting values ---------------------------------------------------------------------------------


def unwrap(value: Any) -> Any:
    """A twin's async object; anything else unchanged."""
    return value._twin_async if isinstance(value, Twin) else value


def _adapt_in(value: Any, runner: LoopRunner, cache: Any, scope: contextlib.ExitStack, objects: bool) -> Any:
    """An argument of a sync call as the async code needs it (runs on the loop)."""
    if isinstance(value, Twin):
        return value._twin_async
    if isinstance(value, threading.Event):
        return _mirror_event(value, scope)
    if objects and not callable(value) and not isinstance(value, (str, bytes, int, float, dict, list, tuple)):
        return OffLoopObject(value, runner.callbacks)
    if is_plain_callable(value):
        try:
            wrapper = cache.get(value)
        except TypeError:  # unhashable callable: a fresh wrapper
            return off_loop(value, runner.callbacks)
        if wrapper is None:
            wrapper = off_loop(value, runner.callbacks)
            cache[value] = wrapper  # kept while the async side holds it (a live subscription)
        return wrapper
    return value


def _mirror_event(event: threading.Event, scope: contextlib.ExitStack) -> asyncio.Event:
    """An asyncio.Event set (within EVENT_POLL_SECONDS) once ``event`` is; watched while the call runs."""
    mirror = asyncio.Event()

    async def watch() -> None:
        while not event.is_set():
            await asyncio.sleep(EVENT_POLL_SECONDS)
        mirror.set()

    if event.is_set():
        mirror.set()
    else:
        watcher = asyncio.ensure_future(watch())
        scope.callback(watcher.cancel)
    return mirror


def adapt_out(value: Any, runner: LoopRunner) -> Any:
    """A result as a blocking caller uses it: twins for async objects, sync context managers and iterators."""
    if value is None or isinstance(value, (*_PLAIN, Twin)) or inspect.isclass(value) or inspect.isroutine(value):
        return value
    if has_async_methods(type(value)) or hasattr(type(value), "__await__"):  # loop-bound: a Subscription too
        return twin_of(value, runner)
    if hasattr(value, "__aenter__") and hasattr(value, "__aexit__"):
        return SyncContextManager(value, runner)
    if hasattr(value, "__anext__"):
        return SyncIterator(value, runner)
    return value


def twin_of(obj: Any, runner: LoopRunner | None = None) -> Any:
    """The twin of ``obj`` (the same one every time while it lives)."""
    with _twins_lock:
        existing = _twins.get(id(obj))
    if existing is not None and existing._twin_async is obj:
        return existing
    twin_cls = twin_class(type(obj))
    twin = twin_cls.__new__(twin_cls)
    twin._twin_bind(obj, runner or default_runner())
    return twin


class SyncContextManager:
    """``with`` over an async context manager (``orch.keep_alive(...)``)."""

    def __init__(self, cm: Any, runner: LoopRunner) -> None:
        self._cm, self._runner = cm, runner

    def __enter__(self) -> Any:
        return adapt_out(self._runner.call(self._cm.__aenter__, what=_what(self._cm, "__enter__")), self._runner)

    def __exit__(self, *exc: Any) -> Any:
        return self._runner.call(lambda: self._cm.__aexit__(*exc), what=_what(self._cm, "__exit__"))


class SyncIterator(Iterator[Any]):
    """Iteration over an async iterator, one item per loop round trip (``backend.scan(...)``)."""

    def __init__(self, aiter: Any, runner: LoopRunner) -> None:
        self._aiter, self._runner = aiter, runner

    def __next__(self) -> Any:
        async def step() -> tuple[bool, Any]:
            try:
                return True, await self._aiter.__anext__()
            except StopAsyncIteration:
                return False, None

        more, item = self._runner.call(step, what=_what(self._aiter, "__next__"))
        if not more:
            raise StopIteration
        return adapt_out(item, self._runner)

    def close(self) -> None:
        closer = getattr(self._aiter, "aclose", None)
        if closer is not None and self._runner.alive:
            self._runner.call(closer, what=_what(self._aiter, "close"))


def _what(obj: Any, name: str) -> str:
    return f"{type(obj).__name__}.{name}"


# -- deriving classes ----------------------------------------------------------------------------------


def public_names(cls: type) -> list[str]:
    return sorted({name for klass in cls.__mro__ for name in vars(klass) if not name.startswith("_")})


def has_async_methods(cls: type) -> bool:
    """True for classes with public coroutine or async generator methods (the ones that get twins)."""
    known = _has_async.get(cls)
    if known is None:
        known = _has_async[cls] = cls.__module__ != "builtins" and any(
            inspect.iscoroutinefunction(m) or inspect.isasyncgenfunction(m)
            for m in (inspect.getattr_static(cls, name) for name in public_names(cls))
        )
    return known


def twin_class(cls: type, *, module: str = "agentstate_redis.sync") -> type[Twin]:
    """The blocking twin of ``cls`` (derived once, then cached)."""
    twin = _twin_classes.get(cls)
    if twin is None:
        with _derive_lock:  # two threads meeting a new class get the same twin class
            twin = _twin_classes.get(cls)
            if twin is None:
                twin = _twin_classes[cls] = _derive(cls, module)
    return twin


def _derive(cls: type, module: str) -> type[Twin]:
    namespace: dict[str, Any] = {
        "__doc__": cls.__doc__,
        "__module__": module,
        "__qualname__": cls.__name__,
        "_twin_of": cls,
        "__init__": _constructor(cls, module),
    }
    for name in public_names(cls):
        namespace[name] = _member(cls, name)
    if hasattr(cls, "__aenter__"):
        namespace["__enter__"] = _enter
        namespace["__exit__"] = _exit
    if hasattr(cls, "__aiter__"):
        namespace["__iter__"] = _iter
    bases = tuple(twin_class(b, module=module) for b in cls.__bases__ if _is_public_async(b)) or (Twin,)
    return cast("type[Twin]", type(cls.__name__, bases, namespace))  # every base is Twin or a twin class


def _is_public_async(cls: type) -> bool:
    import agentstate_redis

    return getattr(agentstate_redis, cls.__name__, None) is cls and has_async_methods(cls)


def _constructor(cls: type, module: str) -> Callable[..., None]:
    def __init__(self: Twin, *args: Any, **kwargs: Any) -> None:
        runner = default_runner()
        cache: weakref.WeakValueDictionary[Any, Any] = weakref.WeakValueDictionary()
        with contextlib.ExitStack() as scope:
            a = [_adapt_in(v, runner, cache, scope, False) for v in args]
            kw = {k: _adapt_in(v, runner, cache, scope, False) for k, v in kwargs.items()}
            obj = cls(*a, **kw)
        self._twin_bind(obj, runner)

    # read from the class itself, not from an instance: the unsoundness mypy warns of cannot happen
    init = cls.__init__  # type: ignore[misc]
    with contextlib.suppress(TypeError, ValueError):  # a C type's __init__ may have no signature
        # a function takes any attribute; typeshed does not declare __signature__
        __init__.__signature__ = inspect.signature(init)  # type: ignore[attr-defined]
    __init__.__doc__ = init.__doc__
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    return __init__


def _member(cls: type, name: str) -> Any:
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, property):
        return _property(name, raw)
    if isinstance(raw, (staticmethod, classmethod)):
        return staticmethod(getattr(cls, name))
    if inspect.isasyncgenfunction(raw) or inspect.iscoroutinefunction(raw) or inspect.isfunction(raw):
        return blocking(raw)
    return raw


def blocking(func: Callable[..., Any], *, allow_running_loop: bool = False) -> Callable[..., Any]:
    """A method calling the async method of the same name on the loop (see the module docstring)."""
    name = func.__name__

    def method(self: Twin, *args: Any, **kwargs: Any) -> Any:
        return self._twin_call(name, args, kwargs, allow_running_loop=allow_running_loop)

    _copy_face(method, func)
    return method


def _copy_face(target: Callable[..., Any], source: Callable[..., Any]) -> None:
    """Same name, qualified name, docstring and signature; no ``__wrapped__`` (it is not async)."""
    target.__name__ = source.__name__
    target.__qualname__ = source.__qualname__
    target.__doc__ = source.__doc__
    with contextlib.suppress(TypeError, ValueError):
        target.__signature__ = inspect.signature(source)  # type: ignore[attr-defined]  # not in typeshed


def _property(name: str, prop: property) -> property:
    def get(self: Twin) -> Any:
        return adapt_out(getattr(self._twin_async, name), self._twin_runner)

    def set_(self: Twin, value: Any) -> None:
        setattr(self._twin_async, name, unwrap(value))

    return property(get, set_ if prop.fset is not None else None, doc=prop.__doc__)


def _enter(self: Twin) -> Any:
    return self._twin_call("__aenter__", (), {})


def _exit(self: Twin, *exc: Any) -> Any:
    return self._twin_call("__aexit__", exc, {})


def _iter(self: Twin) -> Any:
    return SyncIterator(self._twin_async.__aiter__(), self._twin_runner)


def blocking_function(func: Callable[..., Any], *, module: str = "agentstate_redis.sync") -> Callable[..., Any]:
    """The blocking twin of a module-level coroutine function (``run_worker``)."""

    def function(*args: Any, **kwargs: Any) -> Any:
        runner = default_runner()

        async def on_loop() -> Any:
            cache: dict[Any, Any] = {}
            with contextlib.ExitStack() as scope:
                a = [_adapt_in(v, runner, cache, scope, False) for v in args]
                kw = {k: _adapt_in(v, runner, cache, scope, False) for k, v in kwargs.items()}
                return await func(*a, **kw)

        return adapt_out(runner.call(on_loop, what=func.__name__), runner)

    _copy_face(function, func)
    function.__module__ = module
    return function
