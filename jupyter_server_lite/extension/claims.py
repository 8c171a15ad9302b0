"""Who gets a name, a page prefix or a service when several extensions want it.

After every enabled extension is imported, :func:`settle_claims` runs over
the records in their found order (registered ones first, the starter
first of all, then enabled modules by name) -- the same function for a
server start and for ``extension list``, so the two cannot disagree:

1. **Bundled providers step aside.**  A bundled extension (a module of
   :data:`jupyter_server_lite.bundled.BUNDLED_EXTENSIONS`) that provides a
   service an imported, non-bundled extension also provides is marked
   ``replaced`` (logged at INFO, naming both) and claims nothing.  That is
   how a user swaps a service: enable another provider.  The same goes for
   a bundled extension whose name or page prefix a non-bundled one claims
   (the frontends' ``/tree``, ``/lab``...), and for a bundled extension
   that requires one that stepped aside.  If the new
   provider fails later (configure, load), the bundled one does not come
   back: a user who moved their contents elsewhere must not silently get
   the local disk instead.
2. **First come, first served** for the rest: each app's name and page
   prefixes (compared without case, one namespace for both) and each
   service it provides.  A second claimant fails (phase ``order``) with an
   error naming both modules; the first keeps what it has.

The paths themselves -- which prefix an app may mount at, and which of two
nested prefixes answers a path -- are :mod:`.mount`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .application import ExtensionApp
    from .record import ExtensionRecord


def settle_claims(records: Sequence[ExtensionRecord], log: logging.Logger | None = None) -> None:
    """Settle names, page prefixes and services among ``records``, in place (see the module docstring).

    Only records that are not failed take part; nothing raises.
    """
    _step_aside(records, log)
    owners: dict[str, tuple[ExtensionRecord, str]] = {}
    providers: dict[str, ExtensionRecord] = {}
    for record in records:
        if not record.ok or record.replaced_by:
            continue
        wanted = [claim for cls in record.app_classes for claim in _top_level_claims(cls)]
        problem = _conflict(record, wanted, owners, providers)
        if problem:
            record.fail("order", problem)
            continue
        for what, seg in wanted:
            owners.setdefault(seg.lower(), (record, what))
        for service in record.provides:
            providers[service] = record


def _conflict(
    record: ExtensionRecord,
    wanted: list[tuple[str, str]],
    owners: dict[str, tuple[ExtensionRecord, str]],
    providers: dict[str, ExtensionRecord],
) -> str:
    """Why ``record`` cannot have what it wants, naming the module that has it; ``""`` if it can."""
    for what, segment in wanted:
        other, kind = owners.get(segment.lower(), (record, ""))
        if other is not record:
            return f"{what} {segment!r} (module {record.module}) is already taken by module {other.module} (its {kind})"
    for service in record.provides:
        if service in providers:
            return f"service {service!r} (module {record.module}) is already provided by module {providers[service].module}"
    return ""


def _top_level_claims(cls: type[ExtensionApp]) -> list[tuple[str, str]]:
    return [("extension name", cls.name), *(("page prefix", p) for p in cls.page_prefixes)]


def _step_aside(records: Iterable[ExtensionRecord], log: logging.Logger | None) -> None:
    """Mark as replaced each bundled record a non-bundled one supersedes (see the module docstring).

    ``replaced_by`` maps what was taken -- a service name, or a top-level
    path such as ``/tree`` -- to the extension that has it now.
    """
    records = list(records)
    others: dict[str, ExtensionRecord] = {}
    for record in records:
        if record.ok and not record.bundled:
            for service in record.provides:
                others.setdefault(service, record)
            for cls in record.app_classes:
                for _what, segment in _top_level_claims(cls):
                    others.setdefault("/" + segment.lower(), record)
    for record in records:
        if not (record.ok and record.bundled):
            continue
        wanted = [
            *record.provides,
            *("/" + seg.lower() for cls in record.app_classes for _, seg in _top_level_claims(cls)),
        ]
        taken = {key: others[key] for key in wanted if key in others}
        if taken:
            _replace(record, taken, log)
    changed = True
    while changed:  # a bundled extension needing one that stepped aside steps aside with it
        changed = False
        gone = {key: r for r in records if r.replaced_by for key in (r.name, r.module)}
        for record in records:
            needed = next((gone[req] for req in record.requires if req in gone), None)
            if record.ok and record.bundled and not record.replaced_by and needed is not None:
                _replace(record, {key: needed for key in needed.replaced_by}, log, because=needed)
                changed = True


def _replace(
    record: ExtensionRecord,
    taken: dict[str, ExtensionRecord],
    log: logging.Logger | None,
    because: ExtensionRecord | None = None,
) -> None:
    """Step ``record`` aside for the records in ``taken`` (what -> who), or with ``because``, which it requires."""
    if because is not None:
        record.step_aside(dict(because.replaced_by))
        reason = f"it requires {because.name}, which stepped aside"
    else:
        record.step_aside({key: other.name for key, other in taken.items()})
        reason = "; ".join(
            f"{other.name} ({other.module}) {'has' if key.startswith('/') else 'provides'} {key}"
            for key, other in taken.items()
        )
    if log is not None:
        log.info("Bundled extension %s (%s) steps aside: %s", record.name, record.module, reason)
