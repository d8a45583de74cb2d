"""Where the API key may travel, seen by an attacker: a redirect from what answers at
the Keyward URL, and plain HTTP across a network."""

from __future__ import annotations

import pytest
import requests

import keyward
from conftest import FakeKeyward

KEY = "kw_test_AAAAAAAAAAAAsecretsecretsecretsecretsecret00_abcdef"


@pytest.fixture
def evil() -> FakeKeyward:
    """The attacker's server: answers like Keyward and records every request."""
    f = FakeKeyward()
    yield f
    f.close()


def redirect(status, location):
    return lambda req: (status, {"Location": location}, b"")


def carried_key(req) -> bool:
    return any(KEY in value for value in req["headers"].values())


def token_error(auth):
    """The KeywardError auth.token() raises, or None when it got a token."""
    try:
        auth.token()
    except keyward.KeywardError as e:
        return e
    return None


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target", ["other port", "other host name"])
def test_redirect_is_not_followed_and_its_target_never_sees_the_key(fake, evil, status, target):
    base = evil.url if target == "other port" else evil.url.replace("127.0.0.1", "localhost")
    location = base + "/v1/token"
    fake.answer = redirect(status, location)
    auth = keyward.Auth(api_key=KEY, url=fake.url)
    raised = token_error(auth)
    assert evil.requests == [], f"the redirect target was called (carried the key: {carried_key(evil.requests[0])})"
    assert raised is not None, "got a token through a redirect"
    assert type(raised) is keyward.KeywardError, "a redirect is no outage nor a refused key: retrying cannot help"
    assert raised.status == status
    message = str(raised)
    assert "redirect" in message and location in message
    assert KEY not in message and "secretsecret" not in message
    assert fake.exchanges == 1


def test_redirect_within_keyward_is_not_followed_either(fake):
    fake.answer = redirect(307, "/v2/token")
    with pytest.raises(keyward.KeywardError) as exc:
        keyward.Auth(api_key=KEY, url=fake.url).token()
    assert exc.value.status == 307 and fake.url + "/v2/token" in str(exc.value)
    assert len(fake.requests) == 1


def test_redirect_is_not_followed_with_the_callers_session(fake, evil):
    fake.answer = redirect(307, evil.url + "/v1/token")
    session = requests.Session()
    session.max_redirects = 30
    raised = token_error(keyward.Auth(api_key=KEY, url=fake.url, session=session))
    assert evil.requests == [], f"the redirect target was called (carried the key: {carried_key(evil.requests[0])})"
    assert raised is not None, "got a token through a redirect"


def test_redirect_targets_credentials_and_query_are_left_out_of_the_message(fake):
    fake.answer = redirect(302, "https://user:pa55@sso.example.com/login?state=s3cr3t")
    with pytest.raises(keyward.KeywardError) as exc:
        keyward.Auth(api_key=KEY, url=fake.url).token()
    message = str(exc.value)
    assert "https://sso.example.com/login" in message
    assert "s3cr3t" not in message and "pa55" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://keyward.example.com",
        "http://keyward.example.com:8080/base",
        "http://10.0.0.7:8080",
        "http://192.168.1.10",
        "http://[2001:db8::1]:8080",
        "http://127.0.0.1.nip.io",  # a name, whatever it looks like
        "http://localhost.evil.example",
        "http://0.0.0.0:8080",
    ],
)
def test_plain_http_to_another_host_is_refused_at_construction(monkeypatch, url):
    monkeypatch.delenv("KEYWARD_ALLOW_INSECURE_HTTP", raising=False)
    with pytest.raises(keyward.ConfigurationError) as exc:
        keyward.Auth(api_key=KEY, url=url)
    message = str(exc.value)
    assert "https" in message and "allow_insecure_http" in message and "KEYWARD_ALLOW_INSECURE_HTTP" in message
    assert KEY not in message


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://127.8.9.10", "http://localhost:8080", "http://LOCALHOST", "http://[::1]:8080",
     "https://keyward.example.com"],
)
def test_plain_http_to_loopback_and_https_anywhere_are_allowed(monkeypatch, url):
    monkeypatch.delenv("KEYWARD_ALLOW_INSECURE_HTTP", raising=False)
    keyward.Auth(api_key=KEY, url=url)


def test_plain_http_to_another_host_allowed_when_asked_for(monkeypatch):
    monkeypatch.delenv("KEYWARD_ALLOW_INSECURE_HTTP", raising=False)
    auth = keyward.Auth(api_key=KEY, url="http://keyward.internal:8080", allow_insecure_http=True)
    assert auth.url == "http://keyward.internal:8080"


@pytest.mark.parametrize(
    "value, allowed",
    [("", False), ("false", False), ("0", False), ("true", True), ("1", True), ("TRUE", True), ("True", True)],
)
def test_environment_opt_in(monkeypatch, value, allowed):
    monkeypatch.setenv("KEYWARD_URL", "http://keyward.internal:8080")
    monkeypatch.setenv("KEYWARD_API_KEY", KEY)
    monkeypatch.setenv("KEYWARD_ALLOW_INSECURE_HTTP", value)
    if allowed:
        keyward.Auth()
    else:
        with pytest.raises(keyward.ConfigurationError, match="https"):
            keyward.Auth()


def test_environment_opt_in_with_an_unreadable_value_is_refused(monkeypatch):
    monkeypatch.setenv("KEYWARD_ALLOW_INSECURE_HTTP", "yes please")
    with pytest.raises(keyward.ConfigurationError, match="KEYWARD_ALLOW_INSECURE_HTTP"):
        keyward.Auth(api_key=KEY, url="http://keyward.internal:8080")


def test_explicit_refusal_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("KEYWARD_ALLOW_INSECURE_HTTP", "true")
    with pytest.raises(keyward.ConfigurationError):
        keyward.Auth(api_key=KEY, url="http://keyward.internal:8080", allow_insecure_http=False)


def test_loopback_fake_needs_no_opt_in(fake, monkeypatch):
    monkeypatch.delenv("KEYWARD_ALLOW_INSECURE_HTTP", raising=False)
    assert keyward.Auth(api_key=KEY, url=fake.url).token() == "token-1"
