"""Install the enabler file as a data file: pip puts it in
``{sys.prefix}/etc/jupyter/jupyter_server_lite_config.d/``, the
``--sys-prefix`` config level, so installing the package enables it."""

from setuptools import setup

setup(
    data_files=[
        (
            "etc/jupyter/jupyter_server_lite_config.d",
            ["etc/jupyter/jupyter_server_lite_config.d/jsl_hello.json"],
        )
    ]
)
