"""An ExtensionApp whose initialize_handlers raises."""

from jupyter_server_lite.extension.application import ExtensionApp


class BrokenHandlersApp(ExtensionApp):
    name = "broken_handlers"

    def initialize_handlers(self) -> None:
        raise ValueError("initialize_handlers fails on purpose")


def _jupyter_server_extension_points():
    return [{"module": "ext_handlers_error", "app": BrokenHandlersApp}]
