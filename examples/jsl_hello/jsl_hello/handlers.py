"""The extension's two handlers: a page and a JSON API."""

from __future__ import annotations

from tornado.web import HTTPError

from jupyter_server_lite.extension.handler import ExtensionAPIHandler, ExtensionHandler


class HelloPageHandler(ExtensionHandler):
    """``GET /hello/``: a form that calls the greeting API."""

    def get(self) -> None:
        app = self.extension_app
        self.finish(
            self.render_template(
                "hello.html",
                greeting=app.greeting,
                max_name_length=app.max_name_length,
                api_url=self.url_for("greeting"),  # base_url included, whatever it is
                xsrf_token=self.xsrf_token.decode(),
            )
        )


class GreetingHandler(ExtensionAPIHandler):
    """``/extension/api/hello/greeting``: GET ``?name=`` or POST ``{"name": ...}``."""

    def get(self) -> None:
        name = self.get_query_argument("name", "world")
        self.finish_json({"greeting": self.extension_app.greet(self.checked(name))})

    def post(self) -> None:
        body = self.get_json_object()  # a 400 with a clear message unless a JSON object
        name = body.get("name")
        if not isinstance(name, str):
            raise HTTPError(400, '"name" must be a string')
        self.finish_json({"greeting": self.extension_app.greet(self.checked(name))}, status=201)

    def checked(self, name: str) -> str:
        name = name.strip()
        limit = self.extension_app.max_name_length
        if not name:
            raise HTTPError(400, '"name" must not be empty')
        if len(name) > limit:
            raise HTTPError(400, f'"name" is longer than {limit} characters')
        return name
