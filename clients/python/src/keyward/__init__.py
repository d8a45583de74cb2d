"""Keyward for Python: trade a personal API key for a Keycloak access token.

    import requests, keyward
    s = requests.Session()
    s.auth = keyward.Auth()   # KEYWARD_URL and KEYWARD_API_KEY from the environment
"""

from ._auth import (
    ENV_ALLOW_INSECURE_HTTP,
    ENV_API_KEY,
    ENV_URL,
    Auth,
    ConfigurationError,
    InvalidKeyError,
    KeywardError,
    RateLimitedError,
    UnavailableError,
)

__all__ = [
    "Auth",
    "KeywardError",
    "ConfigurationError",
    "InvalidKeyError",
    "RateLimitedError",
    "UnavailableError",
    "ENV_URL",
    "ENV_API_KEY",
    "ENV_ALLOW_INSECURE_HTTP",
]
__version__ = "0.1.0"
