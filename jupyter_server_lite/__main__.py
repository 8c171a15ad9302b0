"""``python -m jupyter_server_lite``: the same as ``jupyter server-lite``."""

from .cli import main

if __name__ == "__main__":
    main()
