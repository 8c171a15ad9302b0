"""The extension system: ExtensionApp packages, their lifecycle, routes and hooks."""
