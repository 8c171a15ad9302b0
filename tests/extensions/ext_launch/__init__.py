"""An ExtensionApp meant to be launched: ``python -m ext_launch`` is ``jupyter launch``."""

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionHandler


class LandingPage(ExtensionHandler):
    def get(self) -> None:
        self.finish(f"<h1>launched: {self.extension_name}</h1>")


class LaunchApp(ExtensionApp):
    name = "launch"
    description = "Launched from the command line."
    serverapp_config = {"base_url": "/launched/", "open_browser": False}
    handlers = [("/?", LandingPage)]


def _jupyter_server_extension_points():
    return [{"module": "ext_launch", "app": LaunchApp}]


#: What a ``jupyter-launch`` console script would point at.
main = LaunchApp.launch_instance
