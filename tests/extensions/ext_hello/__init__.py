"""A complete little ExtensionApp: a page from its own template, an API, static files, a hook."""

from traitlets import Unicode

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionAPIHandler, ExtensionHandler
from jupyter_server_lite.extension.hooks import hookimpl

__version__ = "1.2.3"

#: Hook calls seen, in order: (hook, extension name, arguments).
CALLS: list = []


class HelloPage(ExtensionHandler):
    def get(self) -> None:
        self.finish(self.render_template("hello.html", greeting=self.extension_app.greeting))


class CorePage(ExtensionHandler):
    """Renders a template only the core has: the fallback."""

    def get(self) -> None:
        self.finish(self.render_template("error.html", status_code=418, reason="Teapot", message="from ext_hello"))


class PublicPage(ExtensionHandler):
    allow_unauthenticated = True

    def get(self) -> None:
        self.finish("public")


class GreetingAPI(ExtensionAPIHandler):
    def initialize(self, punctuation: str = "!") -> None:
        self.punctuation = punctuation

    def get(self, who: str) -> None:
        self.finish_json(
            {
                "greeting": f"{self.extension_app.greeting}, {who}{self.punctuation}",
                "settings": self.extension_settings,
                "static": self.static_url("hello.js"),
            }
        )

    def post(self, who: str) -> None:
        body = self.get_json_object()
        self.finish_json({"echo": body, "who": who}, status=201)


class HelloApp(ExtensionApp):
    name = "hello"
    description = "Says hello."
    static_paths = ["static"]
    template_paths = ["templates"]

    greeting = Unicode("Hello", help="How to greet.").tag(config=True)

    handlers = [
        ("/?", HelloPage),
        ("/core", CorePage),
        ("/public", PublicPage),
        (r"/greet/([^/]+)", GreetingAPI, {"punctuation": "!"}),
    ]

    def initialize_settings(self) -> None:
        self.settings.update({"greeting": self.greeting, "loaded_by": "ext_hello"})

    @hookimpl
    def server_started(self, serverapp):
        CALLS.append(("server_started", self.name, serverapp))

    @hookimpl
    def server_stopping(self, serverapp):
        CALLS.append(("server_stopping", self.name, serverapp))


def _jupyter_server_extension_points():
    return [{"module": "ext_hello", "app": HelloApp}]
