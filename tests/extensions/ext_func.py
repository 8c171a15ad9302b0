"""A plain function extension with a hook implementation."""

from jupyter_server_lite.extension.hooks import hookimpl

LOADED: list = []


def _load_jupyter_server_extension(serverapp):
    LOADED.append(serverapp)


@hookimpl
def status_fields(serverapp):
    return {"ext_func": True, "kernels": "cannot overwrite a core field"}
