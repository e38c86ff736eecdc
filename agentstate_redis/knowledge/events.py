"""Typed knowledge-base change events, built from the raw events the scripts publish.

>>> def on_change(event: KnowledgeEvent):
...     print(event.knowledge_base_id, event.op, event.progress and event.progress.processed_documents)
>>> await kb_state.subscribe("company_*", on_change)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..events import ChangeEvent, OmittedValue
from ..decode import pairs
from .codec import progress_from_hash, source_from_hash
from .models import IndexingProgress, SourceState


@dataclass(frozen=True)
class KnowledgeEvent:
    """One change to a knowledge base.

    ``op`` is ``start_indexing``, ``record``, ``update_progress`` (``progress`` is set)
    or ``update_source`` (``source`` is set). ``version`` grows by one per write to
    the knowledge base, so a gap shows a missed event. ``eta_seconds`` in a
    progress event is not computed (use ``get_indexing_progress``). ``omitted`` names the
    fields left out of an event larger than the backend's ``max_event_bytes`` (with their sizes
    in bytes; ``progress``/``source`` are then None): read them with ``get_indexing_progress``.
    """

    knowledge_base_id: str
    op: str
    version: int | None
    progress: IndexingProgress | None = None
    source: SourceState | None = None
    data: dict[str, Any] = field(default_factory=dict)
    omitted: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_change(cls, event: ChangeEvent) -> KnowledgeEvent:
        progress = source = None
        new = {} if isinstance(event.new, OmittedValue) else pairs(event.new)
        if event.op == "update_source" and new:
            source = source_from_hash(event.id, str(event.data.get("source_id")), new)
        elif new.get("status"):
            progress = progress_from_hash(event.id, new, 0).model_copy(
                update={"documents_per_second": None, "eta_seconds": None}
            )
        return cls(event.id, event.op, event.version, progress, source, event.data, event.omitted)
