"""The project's own tests use the public pytest plugin (jupyter_server_lite.pytest_plugin)."""
