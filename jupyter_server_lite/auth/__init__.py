"""Who is making a request: tokens, passwords, the login cookie."""

from .identity import IdentityProvider, User
from .security import passwd, passwd_check

__all__ = ["IdentityProvider", "User", "passwd", "passwd_check"]
