"""The requests auth class: an API key in, a cached Keycloak access token out."""

from __future__ import annotations

import email.utils
import ipaddress
import os
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Optional, Tuple
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

ENV_URL = "KEYWARD_URL"
ENV_API_KEY = "KEYWARD_API_KEY"
ENV_ALLOW_INSECURE_HTTP = "KEYWARD_ALLOW_INSECURE_HTTP"

# The spellings Go's strconv.ParseBool reads, so both clients take the same values.
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class KeywardError(Exception):
    """A token could not be had. Its text never contains the API key.

    ``status`` is the HTTP status (None when Keyward could not be reached), ``error``
    the OAuth error code (``invalid_grant``, …) when the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        error: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.retry_after = retry_after


class ConfigurationError(KeywardError, ValueError):
    """The URL or the key is missing or unusable."""


class InvalidKeyError(KeywardError):
    """The key is unknown, revoked, expired or disabled, or its user is disabled.

    Retrying does not help: a new key is needed.
    """


class RateLimitedError(KeywardError):
    """Too many exchanges for this key: wait ``retry_after`` seconds."""


class UnavailableError(KeywardError):
    """Keyward, or Keycloak behind it, cannot answer now: retry with backoff.

    ``retry_after`` is the server's hint in seconds, when it gave one.
    """


class Auth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer <token>`` on each request, the token coming from
    Keyward for the API key and being reused until shortly before it expires.

    ``api_key`` and ``url`` default to ``$KEYWARD_API_KEY`` and ``$KEYWARD_URL``, so
    that no key is written in code::

        s = requests.Session()
        s.auth = keyward.Auth()

    Safe to share between threads: concurrent callers wait for one exchange.
    ``session``, if given, makes the exchange calls only: it must not carry this Auth.

    The key goes to ``url`` only: a redirect from it is not followed but raised as a
    KeywardError. A plain ``http://`` URL is refused unless it is this machine
    (127.0.0.0/8, ::1, localhost) or ``allow_insecure_http`` (default:
    ``$KEYWARD_ALLOW_INSECURE_HTTP``) is true.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        url: Optional[str] = None,
        *,
        scope: Optional[str] = None,
        timeout: float = 10.0,
        early_expiry: float = 30.0,
        session: Optional[requests.Session] = None,
        allow_insecure_http: Optional[bool] = None,
    ) -> None:
        api_key = (api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")).strip()
        url = (url if url is not None else os.environ.get(ENV_URL, "")).strip()
        missing = [name for name, value in ((ENV_URL, url), (ENV_API_KEY, api_key)) if not value]
        if missing:
            raise ConfigurationError(
                " and ".join(missing) + " not set: pass it to keyward.Auth() or set it in the environment"
            )
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"the Keyward URL {url!r} is not an http(s) URL")
        if allow_insecure_http is None:
            allow_insecure_http = _env_bool(ENV_ALLOW_INSECURE_HTTP)
        if url.startswith("http://") and not allow_insecure_http and not _is_loopback(url):
            raise ConfigurationError(
                f"the Keyward URL {url!r} is plain http to another machine, which would send the API key across "
                f"the network in clear: use https, or pass allow_insecure_http=True (or set "
                f"{ENV_ALLOW_INSECURE_HTTP}=true) on a network you trust"
            )
        if early_expiry < 0:
            raise ConfigurationError("early_expiry is negative")
        self.url = url.rstrip("/")
        self._token_url = self.url + "/v1/token"
        self._api_key = api_key
        self._scope = scope
        self._timeout = timeout
        self._early_expiry = early_expiry
        # A session of our own: the caller's may carry this very Auth.
        self._http = session if session is not None else requests.Session()
        self._clock: Callable[[], float] = time.monotonic
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._renew_at = 0.0

    def __repr__(self) -> str:
        return f"keyward.Auth(url={self.url!r})"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = "Bearer " + self.token()
        return r

    def token(self) -> str:
        """The current access token, from the cache or from a new exchange."""
        with self._lock:
            if self._token is not None and self._clock() < self._renew_at:
                return self._token
            sent = self._clock()
            token, lifetime = self._exchange()
            early = min(self._early_expiry, lifetime / 2)
            # Counted from when the request left: the token cannot outlive that.
            self._token, self._renew_at = token, sent + lifetime - early
            return token

    def _exchange(self) -> Tuple[str, float]:
        headers = {"X-API-Key": self._api_key, "Accept": "application/json"}
        data = {"scope": self._scope} if self._scope else None
        try:
            # Never follow a redirect: requests would resend X-API-Key to any host.
            resp = self._http.post(
                self._token_url, headers=headers, data=data, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as e:
            # requests' messages name the URL, never the headers that carry the key.
            raise UnavailableError(f"cannot reach Keyward at {self.url}: {e}") from e
        if resp.status_code == 200:
            return _token_of(resp)
        if 300 <= resp.status_code < 400:
            raise _redirect_error(resp, self._token_url)
        raise _error_of(resp)


def _env_bool(name: str) -> bool:
    value = os.environ.get(name, "")
    if value == "" or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise ConfigurationError(f"{name}={value!r} is neither true nor false")


def _is_loopback(url: str) -> bool:
    """Whether url names this machine without DNS; any other name may resolve anywhere."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":  # hostname is lower-cased
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _redirect_error(resp: requests.Response, sent_to: str) -> KeywardError:
    """Names where the redirect pointed (without its query), so the caller can fix the URL."""
    where = "an address it did not give"
    location = resp.headers.get("Location")
    if location:
        parts = urlsplit(urljoin(sent_to, location))
        netloc = parts.netloc.rpartition("@")[2]  # no user info either
        where = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return KeywardError(
        f"the Keyward URL answered HTTP {resp.status_code} with a redirect to {where}, which is not followed so that "
        "the API key reaches the configured URL only: if that is Keyward, configure it as the URL",
        status=resp.status_code,
    )


def _token_of(resp: requests.Response) -> Tuple[str, float]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise KeywardError("Keyward's answer is not a token response", status=resp.status_code)
    if str(body.get("token_type", "Bearer")).lower() != "bearer":
        raise KeywardError(f"unsupported token type {body.get('token_type')!r}", status=resp.status_code)
    expires_in = body.get("expires_in")
    if not isinstance(expires_in, (int, float)) or isinstance(expires_in, bool) or expires_in <= 0:
        raise KeywardError("the token response has no expires_in", status=resp.status_code)
    return body["access_token"], float(expires_in)


def _error_of(resp: requests.Response) -> KeywardError:
    """Classifies a refused exchange into an exception a caller can act on."""
    try:
        body = resp.json()
    except ValueError:
        body = None  # a proxy's HTML page is still classified by its status
    if not isinstance(body, dict):
        body = {}
    code = body.get("error") if isinstance(body.get("error"), str) else None
    desc = body.get("error_description") if isinstance(body.get("error_description"), str) else None
    retry_after = _retry_after(resp.headers.get("Retry-After"))
    message = f"Keyward answered HTTP {resp.status_code}" + (f" {code}" if code else "") + (f": {desc}" if desc else "")
    if retry_after is not None:
        message += f" (retry after {retry_after:g} s)"
    kwargs = dict(status=resp.status_code, error=code, retry_after=retry_after)
    if resp.status_code == 429:
        return RateLimitedError(message, **kwargs)
    if resp.status_code == 401 or code == "invalid_grant":
        return InvalidKeyError(message, **kwargs)
    if resp.status_code >= 500:
        return UnavailableError(message, **kwargs)
    return KeywardError(message, **kwargs)


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Reads delay-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
