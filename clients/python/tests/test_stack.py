"""keyward.Auth on the real stack of `make test`: the shared Keyward and Keycloak."""

from __future__ import annotations

import pytest
import requests

import keyward
from conftest import claims_of


def test_two_lines_in_a_notebook_reach_a_protected_api(stack, monkeypatch):
    key, _ = stack.create_key("alice")
    monkeypatch.setenv("KEYWARD_URL", stack.keyward_url)
    monkeypatch.setenv("KEYWARD_API_KEY", key)

    s = requests.Session()
    s.auth = keyward.Auth()

    # Keycloak's userinfo endpoint stands for a protected API: it accepts realm tokens.
    resp = s.get(stack.issuer + "/protocol/openid-connect/userinfo", timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["preferred_username"] == "alice"


def test_token_is_keycloaks_for_the_keys_owner_and_reused(stack):
    key, _ = stack.create_key("alice")
    auth = keyward.Auth(api_key=key, url=stack.keyward_url)
    token = auth.token()
    claims = claims_of(token)
    assert claims["iss"] == stack.issuer
    assert claims["preferred_username"] == "alice"
    assert "engineering" in claims["acl_groups"]
    assert claims["azp"] == "keyward"
    # Keycloak mints a distinct token per exchange: the same string means no exchange.
    assert auth.token() == token


@pytest.mark.parametrize("how", ["revoked", "never issued", "garbage"])
def test_refused_keys_raise_invalid_key(stack, how):
    if how == "revoked":
        key, key_id = stack.create_key("alice")
        stack.revoke_key("alice", key_id)
    elif how == "never issued":
        key = "kw_live_AAAAAAAAAAAAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb_000000"
    else:
        key = "not-a-key"
    with pytest.raises(keyward.InvalidKeyError) as exc:
        keyward.Auth(api_key=key, url=stack.keyward_url).token()
    assert exc.value.status == 401 and exc.value.error == "invalid_grant"
    assert key not in str(exc.value)
