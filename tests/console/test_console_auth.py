"""The console's door: no key, no page (a redirect to the login form, which brings the
browser back); a wrong key is told so; the session cookie is HttpOnly, signed, carries
no key, expires, and dies with its key; the login never redirects out of the console."""

from datetime import UTC, datetime, timedelta

import pytest

from api.app import create_app
from console import session
from tests.api.http import TestClient
from tests.api.v1_harness import KEY, OTHER_KEY, keyed

PAGES = [
    "/console/flows",
    "/console/experiments",
    "/console/mailings",
    "/console/contacts",
    "/console/flows/welcome",
    "/console/contacts/c-1",
    "/console/mailings/spring",
]


def browser(settings, engine) -> TestClient:
    return TestClient(
        create_app(keyed(settings), engine), base_url="http://console.test", follow_redirects=False
    )


def logged_in(settings, engine) -> TestClient:
    client = browser(settings, engine)
    answer = client.post("/console/login", data={"api_key": KEY, "next": "/console/flows"})
    assert answer.status_code == 303, answer.text
    return client


@pytest.mark.parametrize("path", PAGES)
def test_without_a_key_every_page_sends_the_browser_to_log_in(settings, engine, path):
    answer = browser(settings, engine).get(path + "?version=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=" + (
        path.replace("/", "%2F") + "%3Fversion%3D1"
    )


def test_login_takes_an_accepted_key_and_returns_to_the_page_asked_for(settings, engine):
    client = browser(settings, engine)
    form = client.get("/console/login?next=%2Fconsole%2Fmailings")
    assert form.status_code == 200 and 'value="/console/mailings"' in form.text
    answer = client.post("/console/login", data={"api_key": OTHER_KEY, "next": "/console/mailings"})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/mailings"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert OTHER_KEY not in cookie and KEY not in cookie
    assert client.get("/console/mailings").status_code == 200


def test_a_wrong_or_missing_key_is_refused_with_the_reason(settings, engine):
    client = browser(settings, engine)
    wrong = client.post("/console/login", data={"api_key": "not-a-key"})
    assert wrong.status_code == 401 and "invalid API key" in wrong.text
    assert "set-cookie" not in wrong.headers
    empty = client.post("/console/login", data={"api_key": ""})
    assert empty.status_code == 401 and "missing API key" in empty.text
    assert client.get("/console/flows").status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/console/",
        "/v1/flows",
        "/console\\@evil.example",
        # Dot segments: browsers resolve them, encoded or not.
        "/console/../v1",
        "/console/../v1/flows?x=1",
        "/console/%2e%2e/v1",
        "/console/.%2E/v1",
        "/console/./flows",
        "/console//evil.example",
        "/console/%2F%2Fevil",
    ],
)
def test_login_never_sends_the_browser_out_of_the_console(settings, engine, target):
    answer = browser(settings, engine).post("/console/login", data={"api_key": KEY, "next": target})
    assert answer.headers["location"] == "/console/flows"


@pytest.mark.parametrize(
    "target", ["/console/mailings", "/console/flows/welcome?version=2", "/console/contacts/c-1"]
)
def test_login_brings_the_browser_back_to_a_console_page(settings, engine, target):
    answer = browser(settings, engine).post("/console/login", data={"api_key": KEY, "next": target})
    assert answer.headers["location"] == target


def test_the_api_key_in_a_header_opens_pages_as_on_v1(settings, engine):
    client = browser(settings, engine)
    assert client.get("/console/flows", headers={"X-API-Key": KEY}).status_code == 200
    assert (
        client.get("/console/flows", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    )
    assert client.get("/console/flows", headers={"X-API-Key": "nope"}).status_code == 303


def test_a_session_dies_with_its_key_and_with_time():
    now = datetime.now(UTC)
    cookie = session.issue(KEY, now)
    assert session.valid(cookie, [OTHER_KEY, KEY], now)
    assert not session.valid(cookie, [OTHER_KEY], now)  # the key was removed
    assert not session.valid(cookie, [KEY], now + session.LIFETIME + timedelta(seconds=1))
    expires, _, signature = cookie.partition(".")
    later = str(int(expires) + 3600)
    assert not session.valid(f"{later}.{signature}", [KEY], now)  # lifetime stretched by hand
    for forged in ("", ".", "abc.def", f"{expires}.", "1" * 40 + ".x"):
        assert not session.valid(forged, [KEY], now)


def test_logging_out_forgets_the_session(settings, engine):
    client = logged_in(settings, engine)
    assert client.get("/console/flows").status_code == 200
    answer = client.post("/console/logout")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert client.get("/console/flows").status_code == 303


def test_the_stylesheet_needs_no_key(settings, engine):
    answer = browser(settings, engine).get("/console/static/console.css")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("forced, secure", [(None, False), (True, True)])
def test_the_cookie_is_secure_when_asked_behind_a_tls_proxy(settings, engine, forced, secure):
    # The API sees http behind a proxy that terminates TLS: only the setting says https.
    client = TestClient(
        create_app(keyed(settings.model_copy(update={"console_secure_cookie": forced})), engine),
        base_url="http://console.test",
        follow_redirects=False,
    )
    answer = client.post("/console/login", data={"api_key": KEY, "next": "/console/flows"})
    assert ("; Secure" in answer.headers["set-cookie"]) is secure
