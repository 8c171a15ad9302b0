"""The page config: the JSON a JupyterLab or Notebook 7 page reads before anything else.

JupyterLab's page has ``<script id="jupyter-config-data">`` with the URLs of
every API it calls, what the build is, which extensions to load and where
the page is (mode, workspace, tree path).  The keys and values are those of
jupyterlab_server + jupyterlab with jupyter_server, so the same bundle runs
unchanged; what differs on purpose:

* ``token`` is empty: the browser authenticates with the login cookie set
  by ``?token=`` (or the login page), so the token never sits in a page
  where any script of it could read it.  ``@jupyterlab/services`` then
  sends the cookie and the ``_xsrf`` value, which the server checks.
* ``buildAvailable`` and ``buildCheck`` are false: there is no build here,
  only prebuilt assets and prebuilt extensions.

``disabledExtensions`` gathers, as jupyterlab_server does: the
``labconfig/page_config.json`` files of every config folder (where
``jupyter labextension disable`` writes), the ``disabledExtensions`` that
prebuilt extensions declare, the build's own metadata, and
:attr:`LabApp.disabled_extensions` (the plugins this server cannot serve,
the extension manager and the news feed).
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_config_path

from ...web.handlers import url_path_join
from .assets import read_json_file

if TYPE_CHECKING:
    from . import LabApp

#: The version of the Jupyter Server REST API this server speaks, as the page
#: expects it (JupyterLab reads it to choose chunked uploads and export options).
SERVER_API_VERSION = (2, 17, 0)

#: URL keys below the application URL, relative to base_url: page config key -> path.
LAB_URLS = {
    "appUrl": "lab",
    "labextensionsUrl": "lab/extensions",
    "licensesUrl": "lab/api/licenses",
    "listingsUrl": "lab/api/listings",
    "settingsUrl": "lab/api/settings",
    "themesUrl": "lab/api/themes",
    "translationsApiUrl": "lab/api/translations",
    "treeUrl": "lab/tree",
    "workspacesApiUrl": "lab/api/workspaces",
    "workspacesUrl": "lab/workspaces",
}


def labconfig_page_config(log: logging.Logger) -> dict[str, Any]:
    """``labconfig/page_config.json`` of every config folder merged, lowest priority first.

    Lists (``disabledExtensions: [...]``) and objects (``{"name": true}``) are
    both read; a file that cannot be parsed is skipped with a WARNING naming it.
    """
    merged: dict[str, Any] = {}
    for folder in reversed(jupyter_config_path()):
        path = os.path.join(folder, "labconfig", "page_config.json")
        if not os.path.isfile(path):
            continue
        try:
            data = read_json_file(path)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
        except (OSError, ValueError) as err:
            log.warning("Ignoring the JupyterLab page config %s: %s", path, err)
            continue
        for key, value in data.items():
            if isinstance(value, list):
                value = dict.fromkeys((v for v in value if isinstance(v, str)), True)
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            else:
                merged[key] = value
    return merged


def _enabled_names(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k, on in value.items() if on]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def base_page_config(app: LabApp) -> dict[str, Any]:
    """What every page of this server shares: URLs, the build, extensions, the server's state.

    Read fresh for each page (a few small files and ``stat`` calls), so an
    extension installed or disabled shows at the next reload.
    """
    serverapp = app.serverapp
    assert serverapp is not None  # bound by configure()
    base_url = serverapp.base_url
    info = app.app_info
    from_files = labconfig_page_config(app.log)
    extensions = app.labextensions.all()

    disabled: dict[str, bool] = dict.fromkeys(app.disabled_extensions, True)
    disabled.update(dict.fromkeys(info.disabled, True))
    for extension in extensions.values():
        disabled.update(dict.fromkeys(extension.disables, True))
    listed = from_files.pop("disabledExtensions", {})
    if isinstance(listed, dict):
        disabled.update({k: bool(v) for k, v in listed.items()})
    else:
        disabled.update(dict.fromkeys(_enabled_names(listed), True))
    deferred = _enabled_names(from_files.pop("deferredExtensions", {}))

    config: dict[str, Any] = {
        "appName": info.name,
        "appNamespace": info.namespace,
        "appVersion": info.version,
        "baseUrl": base_url,
        "wsUrl": "",
        "token": "",
        "buildAvailable": False,
        "buildCheck": False,
        "devMode": False,
        "cacheFiles": True,
        "fullStaticUrl": url_path_join(base_url, "static", "lab"),
        "terminalsAvailable": terminals_available(app),
        "exposeAppInBrowser": app.expose_app_in_browser,
        "notebookStartsKernel": app.notebook_starts_kernel,
        "copyAbsolutePath": False,
        "quitButton": False,
        "serverRoot": serverapp.root_dir.replace(os.sep, "/"),
        "preferredPath": "/",
        "ignorePlugins": [],
        "notebookVersion": json.dumps(list(SERVER_API_VERSION)),
        "schemasDir": os.path.join(app.app_dir, "schemas"),
        "themesDir": os.path.join(app.app_dir, "themes"),
        "staticDir": os.path.join(app.app_dir, "static"),
        "templatesDir": os.path.join(app.app_dir, "static"),
        "appSettingsDir": os.path.join(app.app_dir, "settings"),
        "userSettingsDir": app.user_settings_dir,
        "workspacesDir": app.workspaces_dir,
        "federated_extensions": [e.page_config_entry() for e in extensions.values()],
        "disabledExtensions": [name for name, on in disabled.items() if on],
        "deferredExtensions": deferred,
    }
    config.update(contents_options(app))
    for key, path in LAB_URLS.items():
        config[key] = "/" + path
        config["full" + key[0].upper() + key[1:]] = url_path_join(base_url, path)
    config.update(from_files)  # anything else set in labconfig/page_config.json
    return config


def terminals_available(app: LabApp) -> bool:
    """Whether a loaded extension provides the terminals service (and the platform has ptys)."""
    serverapp = app.serverapp
    assert serverapp is not None
    return os.name != "nt" and any(
        "terminals" in record.provides and record.state in ("loaded", "configured")
        for record in serverapp.extension_manager.records
    )


def contents_options(app: LabApp) -> dict[str, Any]:
    """``allow_hidden_files`` and ``delete_to_trash`` of the contents manager, when there is one."""
    serverapp = app.serverapp
    assert serverapp is not None
    try:
        manager = serverapp.contents_manager
    except RuntimeError:
        return {"allow_hidden_files": False}
    options = {"allow_hidden_files": bool(getattr(manager, "allow_hidden", False))}
    if hasattr(manager, "delete_to_trash"):
        options["delete_to_trash"] = bool(manager.delete_to_trash)
    return options
