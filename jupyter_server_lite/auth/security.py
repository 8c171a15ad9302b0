"""Password hashing with the standard library only.

Hashes look like ``pbkdf2_sha256$<iterations>$<salt>$<hex digest>`` so the
iteration count can be raised later without invalidating stored hashes.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 390_000


def passwd(passphrase: str | None = None) -> str:
    """Hash ``passphrase`` for ``IdentityProvider.hashed_password``.

    Without an argument, prompt twice on the terminal (as ``jupyter
    server-lite password`` does) and refuse a mismatch or an empty password.
    """
    if passphrase is None:
        passphrase = getpass.getpass("Enter password: ")
        if passphrase != getpass.getpass("Verify password: "):
            raise ValueError("Passwords do not match.")
    if not passphrase:
        raise ValueError("An empty password cannot be hashed.")
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt.encode(), ITERATIONS)
    return f"{ALGORITHM}${ITERATIONS}${salt}${digest.hex()}"


def passwd_check(hashed: str, passphrase: str) -> bool:
    """Whether ``passphrase`` matches ``hashed``; a malformed hash never matches."""
    try:
        algorithm, iterations, salt, expected = hashed.split("$")
        rounds = int(iterations)
    except ValueError:
        return False
    if algorithm != ALGORITHM or rounds <= 0:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt.encode(), rounds)
    return hmac.compare_digest(digest.hex(), expected)
