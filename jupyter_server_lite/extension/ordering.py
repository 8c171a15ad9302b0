"""Load order: dependencies first, then by name; cycles and gaps refused.

An extension lists the extensions it needs in ``ExtensionApp.requires``, by
their enabled module name or their extension name.  The order is a
topological sort whose ties are broken by name, so it is the same on every
start.  Nothing here raises: a requirement that is not enabled, a cycle, or a
requirement that already failed marks the extensions concerned ``failed``
(phase ``order``) with a message naming the culprit.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .record import ExtensionRecord


def load_order(records: list[ExtensionRecord]) -> list[ExtensionRecord]:
    """Records in dependency order, then by name; failures recorded, not raised.

    A requirement names another extension by its module or its name.  An
    unknown requirement, or a cycle, fails the records concerned (phase
    ``order``); they come last in the result.
    """
    by_key: dict[str, ExtensionRecord] = {}
    for r in records:
        by_key.setdefault(r.module, r)
        by_key.setdefault(r.name, r)
    index = {id(r): r for r in records}
    live = [r for r in records if r.ok]
    needs: dict[int, set[int]] = {id(r): set() for r in live}
    for r in live:
        for req in r.requires:
            target = by_key.get(req)
            if target is None:
                r.fail("order", f"requires {req}, which is not enabled")
            elif target is not r:
                needs[id(r)].add(id(target))
    # A requirement that failed fails its dependents, transitively.
    changed = True
    while changed:
        changed = False
        for r in live:
            failed_dep = (
                next((index[d] for d in sorted(needs[id(r)], key=lambda d: index[d].name) if not index[d].ok), None)
                if r.ok
                else None
            )
            if failed_dep is not None:
                r.fail("order", f"requires {failed_dep.name}, which failed")
                changed = True
    pending = {i: {d for d in deps if index[d].ok} for i, deps in needs.items() if index[i].ok}
    dependents: dict[int, list[int]] = {i: [] for i in pending}
    for i, deps in pending.items():
        for d in deps:
            dependents[d].append(i)
    ready = [(index[i].name, i) for i, deps in pending.items() if not deps]
    heapq.heapify(ready)
    ordered: list[ExtensionRecord] = []
    while ready:
        _, i = heapq.heappop(ready)
        ordered.append(index[i])
        for j in dependents[i]:
            pending[j].discard(i)
            if not pending[j]:
                heapq.heappush(ready, (index[j].name, j))
    placed = {id(r) for r in ordered}
    stuck = [index[i] for i in pending if i not in placed]
    for r in stuck:
        cycle = _cycle_from(r, pending, index)
        shown = " -> ".join(index[i].name for i in cycle)
        if id(r) in cycle:
            r.fail("order", f"dependency cycle: {shown}")
        else:
            r.fail("order", f"requires an extension in a dependency cycle: {shown}")
    failed = sorted((r for r in records if not r.ok), key=lambda r: r.name)
    return ordered + failed


def _cycle_from(start: ExtensionRecord, pending: dict[int, set[int]], index: dict[int, ExtensionRecord]) -> list[int]:
    """The cycle (first node repeated last) reached by following requirements from ``start``."""
    path: list[int] = [id(start)]
    seen = {id(start): 0}
    while True:
        nxt = min(pending[path[-1]], key=lambda i: index[i].name)
        if nxt in seen:
            return path[seen[nxt] :] + [nxt]
        seen[nxt] = len(path)
        path.append(nxt)
