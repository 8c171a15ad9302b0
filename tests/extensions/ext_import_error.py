"""Fails to import."""

raise RuntimeError("ext_import_error is broken on purpose")
