"""The command line: ``jupyter server-lite`` and its subcommands.

* :mod:`.options` -- the server's aliases, flags, subcommands and examples;
* :mod:`.servers` -- ``list``, ``stop [PORT]``, ``password``;
* :mod:`.extension` -- ``extension list|enable|disable|install``.

Every command reports a problem the same way: one line on stderr and exit
status 1 (:func:`fail`), never a traceback.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from jupyter_core.application import JupyterApp

    from ..serverapp import ServerApp


def fail(message: str, status: int = 1) -> NoReturn:
    """Print ``message`` on stderr and exit with ``status``: how every command reports a problem."""
    print(message, file=sys.stderr)
    sys.exit(status)


def run_in_process(app_class: type[JupyterApp], argv: list[str] | None, singletons: Iterable[type] = ()) -> int:
    """Run the command ``app_class`` is with ``argv`` (default: ``sys.argv[1:]``) in this
    process and return its exit status; its singletons (``app_class`` and ``singletons``)
    are cleared after, so a program or a test can run several commands in a row."""
    from jupyter_core.application import NoStart  # start-up cost: jupyter_core.application (traitlets.config)

    try:
        app = app_class.instance()
        app.initialize(sys.argv[1:] if argv is None else argv)
        app.start()
    except NoStart:
        pass
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    finally:
        for cls in (app_class, *singletons):
            cls.clear_instance()  # type: ignore[attr-defined]  # the command's SingletonConfigurables
    return 0


def unknown_word(word: str, commands: list[str], program: str) -> str:
    """The message for ``word`` where ``program`` expects one of ``commands``, with a "did you mean"."""
    message = f"Unknown command {word!r}"
    close = difflib.get_close_matches(word, commands, n=1)
    if close:
        message += f". Did you mean {close[0]!r}?"
    return f"{message} ({program} commands: {', '.join(commands)}; see {program} --help)"


def main(argv: list[str] | None = None, serverapp: ServerApp | None = None) -> None:
    """Console entry point of ``jupyter-server-lite`` (and, with ``serverapp``, of
    ``jupyter <ext>``): a start-up problem is one clear line on stderr and exit
    status 1, not a traceback."""
    # start-up cost: traitlets (~10 ms); the cli package itself imports only sys
    from traitlets import TraitError

    from ..configfiles import ConfigFileError  # start-up cost: jupyter_core and traitlets (~50 ms)
    from ..extension.manager import ExtensionError  # cycle: cli <-> extension.application (through extension.manager)
    from ..listen import StartupError  # start-up cost: tornado's IOLoop, asyncio and ssl (~40 ms)
    from ..serverapp import ServerApp  # cycle: cli <-> serverapp (serverapp imports cli.options, which imports cli)
    from .options import UsageError  # cycle: cli <-> cli.options

    try:
        app = serverapp or ServerApp.instance()
        app.initialize(argv)
        app.start()
    except (ConfigFileError, StartupError, TraitError, ExtensionError, UsageError) as err:
        fail(f"jupyter-server-lite: error: {err}")
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        sys.exit(130)
