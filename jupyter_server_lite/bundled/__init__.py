"""Extensions that ship with the server, loaded through the same manager as
any other: each is enabled by its file in ``etc/jupyter/jupyter_server_lite_config.d/``
and advertised by an entry point, so it can be listed, disabled and
debugged like a third-party one."""
