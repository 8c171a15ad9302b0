"""HelloApp: what the extension serves, how it is configured, and its hooks."""

from __future__ import annotations

from typing import Any

from traitlets import Integer, Unicode, default

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.hooks import hookimpl

from .handlers import GreetingHandler, HelloPageHandler


class HelloApp(ExtensionApp):
    """Serves /hello/ (a page) and /extension/api/hello/greeting (JSON)."""

    name = "hello"
    description = "Says hello: a landing page and a greeting API."

    # Traits any config file can set: jupyter_hello_config.json, or
    # {"HelloApp": {...}} in the server's config, or --HelloApp.greeting=Hi.
    greeting = Unicode("Hello", help="The word every greeting starts with.").tag(config=True)
    max_name_length = Integer(40, help="The longest name the API accepts, in characters.").tag(config=True)

    @default("static_paths")
    def _default_static_paths(self) -> list[str]:
        return ["static"]  # relative to this module's folder

    @default("template_paths")
    def _default_template_paths(self) -> list[str]:
        return ["templates"]

    def initialize_settings(self) -> None:
        self.greetings_served = 0

    def initialize_handlers(self) -> None:
        # Patterns are relative to the namespace the handler's base class picks:
        # a page handler lands at /hello/..., an API handler at /extension/api/hello/...
        # The fourth element names the route: handlers build its URL with url_for(name).
        self.handlers.extend(
            [
                (r"/?", HelloPageHandler, {}, "page"),
                (r"/greeting", GreetingHandler, {}, "greeting"),
            ]
        )

    def greet(self, name: str) -> str:
        self.greetings_served += 1
        return f"{self.greeting}, {name}!"

    # Hook implementations: the server registers the app as a plugin.

    @hookimpl
    def status_fields(self) -> dict[str, Any]:
        return {"hello_greetings": self.greetings_served}

    @hookimpl
    def server_started(self, serverapp: Any) -> None:
        self.log.info("Say hello at %s%s", serverapp.url, self.landing_url.lstrip("/"))


main = HelloApp.launch_instance
