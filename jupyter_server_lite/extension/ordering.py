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
    from .manager import ExtensionRecord

def load_order(records: list[ExtensionRecord]) -> list[ExtensionRecord]:
    """Records in dependency order, then by name; failures recorded, not raised.

    A requirement names another extension by its module or its name.  An
    unknown requirement, or a cycle, fails the records concerned (phase
    ``order``); they come last in the result.
    """
    live = [r for r in records if r.ok]
    by_key: dict[str, ExtensionRecord] = {}
    for r in live:
        by_key.setdefault(r.module, r)
        by_key.setdefault(r.name, r)
    needs: dict[int, set[int]] = {id(r): set() for r in live}
    for r in live:
        for req in r.requires:
            target = by_key.get(req)
            if target is None:
                r.fail("order", f"requires {req}, which is not enabled")
            elif target is not r:
                needs[id(r)].add(id(target))
    index = {id(r): r for r in live}
    # A requirement that failed fails its dependents, transitively.
    changed = True
    while changed:
        changed = False
        for r in live:
            if r.ok:
                for dep in needs[id(r)]:
                    if not index[dep].ok:
                        r.fail("order", f"requires {index[dep].name}, which failed")
                        changed = True
                        break
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
        r.fail("order", f"dependency cycle: {_cycle_through(r, pending, index)}")
    failed = sorted((r for r in records if not r.ok), key=lambda r: r.name)
    return ordered + failed


def _cycle_through(start: ExtensionRecord, pending: dict[int, set[int]], index: dict[int, ExtensionRecord]) -> str:
    """``a -> b -> a`` for a cycle reachable from ``start`` (which may only lead into one)."""
    path: list[int] = [id(start)]
    seen = {id(start): 0}
    while True:
        nxt = min(pending[path[-1]], key=lambda i: index[i].name)
        if nxt in seen:
            cycle = path[seen[nxt] :] + [nxt]
            return " -> ".join(index[i].name for i in cycle)
        seen[nxt] = len(path)
        path.append(nxt)
