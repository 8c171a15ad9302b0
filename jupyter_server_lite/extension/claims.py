"""Who gets a name, a page prefix or a service when several extensions want it.

After every enabled extension is imported, :func:`settle_claims` runs over
the records in their found order (registered ones first, the starter
first of all, then enabled modules by name) -- the same function for a
server start and for ``extension list``, so the two cannot disagree:

1. **Bundled providers step aside.**  A bundled extension (a module of
   :data:`jupyter_server_lite.bundled.BUNDLED_EXTENSIONS`) that provides a
   service an imported, non-bundled extension also provides is marked
   ``replaced`` (logged at INFO, naming both) and claims nothing.  That is
   how a user swaps a service: enable another provider.  If the new
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
    """Mark each bundled provider of a service a non-bundled record also provides as replaced."""
    records = list(records)
    others: dict[str, ExtensionRecord] = {}
    for record in records:
        if record.ok and not record.bundled:
            for service in record.provides:
                others.setdefault(service, record)
    for record in records:
        taken = {s: others[s] for s in record.provides if s in others} if record.ok and record.bundled else {}
        if not taken:
            continue
        record.step_aside({service: other.name for service, other in taken.items()})
        if log is not None:
            log.info(
                "Bundled extension %s (%s) steps aside: %s",
                record.name,
                record.module,
                "; ".join(f"{other.name} ({other.module}) provides {service}" for service, other in taken.items()),
            )
