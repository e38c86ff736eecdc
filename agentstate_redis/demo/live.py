"""Live progress of the demo: rich progress bars on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .scenario import DemoSettings


class LiveView:
    def __init__(self, settings: DemoSettings, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or Console()
        self.enabled = enabled and self.console.is_terminal
        self.settings = settings
        self.progress = Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console,
            disable=not self.enabled,
            transient=False,
        )
        self.bars: dict[str, Any] = {}
        self.started = time.perf_counter()

    def __enter__(self) -> LiveView:
        s = self.settings
        self.progress.__enter__()
        self.bars = {
            "done": self.progress.add_task("tasks done", total=s.tasks, info=""),
            "busy": self.progress.add_task("in progress", total=s.workers, info=""),
            "retry": self.progress.add_task("retries due", total=max(1, s.tasks // 10), info=""),
            "alive": self.progress.add_task("workers alive", total=s.workers, info=""),
        }
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.__exit__(kind, exc, tb)

    def update(
        self, *, done: int, in_progress: int, retries: int, dead: int, alive: int, events: int, status: str
    ) -> None:
        p = self.progress
        elapsed = time.perf_counter() - self.started
        p.update(self.bars["done"], completed=done, info=f"{elapsed:5.1f}s  dead letters {dead}  workflow {status}")
        p.update(self.bars["busy"], completed=in_progress, info="")
        p.update(self.bars["retry"], completed=retries, info="")
        p.update(self.bars["alive"], completed=alive, info=f"events seen {events}")

    def note(self, message: str) -> None:
        if self.enabled:
            self.progress.console.print(f"  [yellow]→[/] {message}")
        else:
            self.console.print(f"  → {message}", highlight=False)
