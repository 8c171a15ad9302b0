"""What ``--help``, ``--help-all``, ``--generate-config`` and the docs show as a trait's default.

traitlets shows a trait's static ``default_value``.  For a trait whose value
is computed when the server starts (a ``@default`` method) that is a value
the trait never takes: ``IdentityProvider.token`` would show ``''`` -- the
one value that turns authentication *off* if a user copies it from
``--generate-config`` -- and ``ServerApp.root_dir`` an empty path.

:func:`computed_default` gives such a trait the sentence to show instead.
``--generate-config`` then writes ``# c.IdentityProvider.token = <a random
token ...>``, which is not Python: uncommented as it is, it stops the start
with an error naming the file instead of silently meaning something.  The
docs' configuration reference reads the same sentence
(:func:`default_text`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from traitlets import TraitType

T = TypeVar("T", bound=TraitType[Any, Any])

#: The trait metadata key holding the sentence.
METADATA_KEY = "computed_default"


def computed_default(trait: T, text: str) -> T:
    """Show ``text`` (what the default is, in words) as the default of ``trait``.

    Returns ``trait``, so it wraps a declaration:
    ``root_dir = computed_default(Unicode(help=...), "the current directory").tag(config=True)``.
    """
    trait.metadata[METADATA_KEY] = text
    # traitlets asks the trait itself for the text it shows; this one trait answers differently.
    trait.default_value_repr = lambda: f"<{text}>"  # type: ignore[method-assign]  # per-trait display, see the module docstring
    return trait


def default_text(trait: TraitType[Any, Any]) -> str | None:
    """The sentence given by :func:`computed_default`, or None for a trait with a static default."""
    return trait.metadata.get(METADATA_KEY)
