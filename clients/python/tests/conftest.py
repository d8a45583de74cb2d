"""Fixtures: a stand-in Keyward on a local port, and the real stack of `make test`."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Tuple

import pytest
import requests

Answer = Tuple[int, Dict[str, str], bytes]


class FakeKeyward:
    """Answers every POST /v1/token with ``self.answer(request)`` and records requests."""

    def __init__(self) -> None:
        self.requests: List[dict] = []
        self.answer: Callable[[dict], Answer] = lambda req: issued(300)
        self.delay = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                req = {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length).decode()}
                with fake._lock:
                    fake.requests.append(req)
                    n = len(fake.requests)
                req["n"] = n
                time.sleep(fake.delay)
                status, headers, body = fake.answer(req) if self.path == "/v1/token" else (404, {}, b"")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST  # the fake protected API of some tests

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def exchanges(self) -> int:
        return sum(1 for r in self.requests if r["path"] == "/v1/token")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def issued(expires_in: int, token: str = "token-1") -> Answer:
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "openid email profile",
    }
    return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(body).encode()


@pytest.fixture
def fake() -> FakeKeyward:
    f = FakeKeyward()
    yield f
    f.close()


class Stack:
    """The Keycloak and the shared Keyward started by `make test`."""

    def __init__(self, keycloak_url: str, keyward_url: str, realm: str) -> None:
        self.keycloak_url = keycloak_url.rstrip("/")
        self.keyward_url = keyward_url.rstrip("/")
        self.issuer = f"{self.keycloak_url}/realms/{realm}"
        self._created: List[Tuple[str, str]] = []

    def login(self, user: str) -> str:
        resp = requests.post(
            self.issuer + "/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "keyward-cli", "username": user, "password": user},
            timeout=30,
        )
        assert resp.status_code == 200, f"login {user}: HTTP {resp.status_code}"
        return resp.json()["access_token"]

    def create_key(self, user: str) -> Tuple[str, str]:
        """Creates an API key for user; returns (key, id). Revoked at teardown."""
        resp = requests.post(
            self.keyward_url + "/v1/keys",
            headers={"Authorization": "Bearer " + self.login(user)},
            json={"name": f"python client test {time.time_ns()}"},
            timeout=30,
        )
        assert resp.status_code == 201, f"create key: HTTP {resp.status_code} {resp.text}"
        body = resp.json()
        self._created.append((user, body["id"]))
        return body["key"], body["id"]

    def revoke_key(self, user: str, key_id: str) -> None:
        resp = requests.delete(
            f"{self.keyward_url}/v1/keys/{key_id}",
            headers={"Authorization": "Bearer " + self.login(user)},
            timeout=30,
        )
        assert resp.status_code in (204, 404), f"revoke key: HTTP {resp.status_code}"

    def cleanup(self) -> None:
        for user, key_id in self._created:
            self.revoke_key(user, key_id)


@pytest.fixture
def stack() -> Stack:
    keycloak_url = os.environ.get("KEYWARD_TEST_KEYCLOAK_URL")
    keyward_url = os.environ.get("KEYWARD_TEST_KEYWARD_URL")
    if not keycloak_url or not keyward_url:
        message = "KEYWARD_TEST_KEYCLOAK_URL and KEYWARD_TEST_KEYWARD_URL are not set"
        if os.environ.get("KEYWARD_REQUIRE_INTEGRATION") == "1":
            pytest.fail(message + " but integration tests are required: run `make test`")
        pytest.skip(message + ": run `make test`")
    s = Stack(keycloak_url, keyward_url, os.environ.get("KEYWARD_TEST_REALM", "keyward"))
    yield s
    s.cleanup()


def claims_of(token: str) -> dict:
    """Decodes a JWT's payload without verifying it (the token came straight from Keycloak)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
