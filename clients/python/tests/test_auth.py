"""keyward.Auth against a stand-in Keyward: caching, threads, and each refusal's class."""

from __future__ import annotations

import json
import threading
import time
from email.utils import formatdate

import pytest
import requests

import keyward
from conftest import issued

KEY = "kw_test_AAAAAAAAAAAAsecretsecretsecretsecretsecret00_abcdef"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def auth_for(fake, **kwargs) -> keyward.Auth:
    return keyward.Auth(api_key=KEY, url=fake.url, **kwargs)


def test_reads_url_and_key_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("KEYWARD_URL", fake.url + "/")
    monkeypatch.setenv("KEYWARD_API_KEY", KEY)
    assert keyward.Auth().token() == "token-1"
    req = fake.requests[0]
    assert req["path"] == "/v1/token"
    assert req["headers"]["X-API-Key"] == KEY
    assert req["body"] == ""


def test_missing_environment_names_both_variables(monkeypatch):
    monkeypatch.delenv("KEYWARD_URL", raising=False)
    monkeypatch.delenv("KEYWARD_API_KEY", raising=False)
    with pytest.raises(keyward.ConfigurationError) as exc:
        keyward.Auth()
    assert "KEYWARD_URL" in str(exc.value) and "KEYWARD_API_KEY" in str(exc.value)


@pytest.mark.parametrize("url", ["keyward.example.com", "ftp://keyward.example.com"])
def test_url_must_be_http(url):
    with pytest.raises(keyward.ConfigurationError):
        keyward.Auth(api_key=KEY, url=url)


def test_scope_is_sent_as_form(fake):
    assert auth_for(fake, scope="openid email").token() == "token-1"
    assert fake.requests[0]["body"] == "scope=openid+email"


def test_token_reused_until_shortly_before_expiry(fake):
    fake.answer = lambda req: issued(300, token=f"token-{req['n']}")
    clock = Clock()
    auth = auth_for(fake)
    auth._clock = clock
    assert auth.token() == "token-1"
    clock.t += 269  # 31 s left: still good
    assert auth.token() == "token-1" and fake.exchanges == 1
    clock.t += 2  # 29 s left: inside the 30 s margin
    assert auth.token() == "token-2" and fake.exchanges == 2


def test_short_lived_token_renewed_at_half_life(fake):
    fake.answer = lambda req: issued(20, token=f"token-{req['n']}")
    clock = Clock()
    auth = auth_for(fake)
    auth._clock = clock
    auth.token()
    clock.t += 9
    auth.token()
    assert fake.exchanges == 1
    clock.t += 2
    auth.token()
    assert fake.exchanges == 2


def test_concurrent_threads_share_one_exchange(fake):
    fake.delay = 0.2  # every thread arrives while the first exchange is in flight
    auth = auth_for(fake)
    results = []
    threads = [threading.Thread(target=lambda: results.append(auth.token())) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["token-1"] * 16
    assert fake.exchanges == 1


def test_session_sends_the_bearer_token_not_the_key(fake):
    s = requests.Session()
    s.auth = auth_for(fake)
    for _ in range(3):
        s.get(fake.url + "/reports")
    api_calls = [r for r in fake.requests if r["path"] == "/reports"]
    assert len(api_calls) == 3 and fake.exchanges == 1
    for call in api_calls:
        assert call["headers"]["Authorization"] == "Bearer token-1"
        assert "X-API-Key" not in call["headers"]


def json_answer(status, body, **headers):
    return lambda req: (status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode())


@pytest.mark.parametrize(
    "answer, exc_type, status, code, retry_after",
    [
        (json_answer(401, {"error": "invalid_grant", "error_description": "the API key is invalid"}),
         keyward.InvalidKeyError, 401, "invalid_grant", None),
        (lambda req: (401, {}, b""), keyward.InvalidKeyError, 401, None, None),
        (json_answer(429, {"error": "rate_limited"}, **{"Retry-After": "7"}), keyward.RateLimitedError, 429, "rate_limited", 7),
        (lambda req: (429, {"Retry-After": formatdate(time.time() + 90, usegmt=True)}, b""), keyward.RateLimitedError, 429, None, 90),
        (json_answer(503, {"error": "temporarily_unavailable"}, **{"Retry-After": "5"}),
         keyward.UnavailableError, 503, "temporarily_unavailable", 5),
        (lambda req: (502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"), keyward.UnavailableError, 502, None, None),
        (json_answer(400, {"error": "invalid_scope"}), keyward.KeywardError, 400, "invalid_scope", None),
        (json_answer(200, {"hello": "world"}), keyward.KeywardError, 200, None, None),
        (json_answer(200, {"access_token": "a", "token_type": "Bearer"}), keyward.KeywardError, 200, None, None),
        (json_answer(200, {"access_token": "a", "token_type": "MAC", "expires_in": 300}), keyward.KeywardError, 200, None, None),
    ],
    ids=["invalid key", "invalid key, no body", "rate limited", "rate limited, HTTP date", "Keycloak down",
         "proxy error page", "scope refused", "not a token response", "no expiry", "not bearer"],
)
def test_refusals_are_classified(fake, answer, exc_type, status, code, retry_after):
    fake.answer = answer
    auth = auth_for(fake)
    with pytest.raises(keyward.KeywardError) as exc:
        auth.token()
    assert type(exc.value) is exc_type
    assert exc.value.status == status and exc.value.error == code
    if retry_after is None:
        assert exc.value.retry_after is None
    else:
        assert abs(exc.value.retry_after - retry_after) <= 2
    assert KEY not in str(exc.value) and KEY not in repr(exc.value) and KEY not in repr(auth)


def test_failures_are_not_cached(fake):
    fake.answer = json_answer(503, {"error": "temporarily_unavailable"}, **{"Retry-After": "1"})
    auth = auth_for(fake)
    with pytest.raises(keyward.UnavailableError):
        auth.token()
    fake.answer = lambda req: issued(300)
    assert auth.token() == "token-1"


def test_keyward_unreachable_is_unavailable(fake):
    url = fake.url
    fake.close()  # nothing listens there any more
    with pytest.raises(keyward.UnavailableError) as exc:
        keyward.Auth(api_key=KEY, url=url, timeout=2).token()
    assert exc.value.status is None and KEY not in str(exc.value)


def test_errors_reach_the_caller_through_a_session(fake):
    fake.answer = json_answer(429, {"error": "rate_limited"}, **{"Retry-After": "3"})
    s = requests.Session()
    s.auth = auth_for(fake)
    with pytest.raises(keyward.RateLimitedError) as exc:
        s.get(fake.url + "/reports")
    assert exc.value.retry_after == 3
    assert not [r for r in fake.requests if r["path"] == "/reports"], "the API was called without a token"
