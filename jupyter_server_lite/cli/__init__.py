"""The command line: ``jupyter server-lite`` and its subcommands.

* :mod:`.options` -- the server's aliases, flags, subcommands and examples;
* :mod:`.servers` -- ``list``, ``stop [PORT]``, ``password``;
* :mod:`.extension` -- ``extension list|enable|disable|install``.

Every command reports a problem the same way: one line on stderr and exit
status 1 (:func:`fail`), never a traceback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from ..serverapp import ServerApp


def fail(message: str, status: int = 1) -> NoReturn:
    """Print ``message`` on stderr and exit with ``status``: how every command reports a problem."""
    print(message, file=sys.stderr)
    sys.exit(status)


def unknown_word(word: str, commands: list[str], program: str) -> str:
    """The message for ``word`` where ``program`` expects one of ``commands``, with a "did you mean"."""
    import difflib

    message = f"Unknown command {word!r}"
    close = difflib.get_close_matches(word, commands, n=1)
    if close:
        message += f". Did you mean {close[0]!r}?"
    return f"{message} ({program} commands: {', '.join(commands)}; see {program} --help)"


def main(argv: list[str] | None = None, serverapp: ServerApp | None = None) -> None:
    """Console entry point of ``jupyter-server-lite`` (and, with ``serverapp``, of
    ``jupyter <ext>``): a start-up problem is one clear line on stderr and exit
    status 1, not a traceback."""
    from traitlets import TraitError

    from ..configfiles import ConfigFileError
    from ..extension.manager import ExtensionError
    from ..listen import StartupError
    from ..serverapp import ServerApp
    from .options import UsageError

    try:
        app = serverapp or ServerApp.instance()
        app.initialize(argv)
        app.start()
    except (ConfigFileError, StartupError, TraitError, ExtensionError, UsageError) as err:
        fail(f"jupyter-server-lite: error: {err}")
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        sys.exit(130)
