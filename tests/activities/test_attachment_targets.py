"""Attachment downloads go through the webhooks' run-time guard: a URL whose host is, or
resolves to, an internal address is refused for good before any request is made, and so
is a redirect that leads to one, unless private targets are allowed."""

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.compose import MessagingOptions, fetch_attachments
from domain.steps.messaging import Attachment
from settings import Settings
from tests.fakes.provider_http import FakeProvider, Reply


def attachment(url: str, name: str = "menu.pdf") -> Attachment:
    return Attachment(filename=name, url=url, size_bytes=10, content_type="application/pdf")


class Recorder:
    """The transport behind the guard: what would really have been sent, and where."""

    def __init__(self, *answers: httpx.Response):
        self.requests: list[httpx.Request] = []
        self.answers = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if self.answers else httpx.Response(200, content=b"%PDF")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def resolver_of(table: dict[str, list[str]]):
    return lambda host, port: table[host]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:{port}/menu.pdf", "loopback"),
        ("http://127.1:{port}/menu.pdf", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/menu.pdf", "loopback"),
        ("http://localhost:{port}/menu.pdf", "this machine"),
        ("http://169.254.169.254/latest/meta-data/iam", "link-local"),
        ("http://10.1.2.3/menu.pdf", "private"),
    ],
)
def test_attachment_at_an_internal_address_is_refused_before_any_request(url, says):
    with FakeProvider(Reply(200, "%PDF")) as files:
        port = files.url.rsplit(":", 1)[1]
        with pytest.raises(ApplicationError) as raised:
            fetch_attachments([attachment(url.format(port=port))])
        assert files.requests == []
    # Recorded on the step and the journey goes on, like a provider refusal; never retried.
    assert raised.value.type == "ProviderRejected" and raised.value.non_retryable
    assert "attachment 'menu.pdf' could not be fetched" in raised.value.message
    assert says in raised.value.message


def test_a_name_that_resolves_to_a_private_address_is_refused():
    inner = Recorder()
    with pytest.raises(ApplicationError) as raised:
        fetch_attachments(
            [attachment("https://files.example.com/menu.pdf")],
            resolver=resolver_of({"files.example.com": ["93.184.216.34", "10.0.0.7"]}),
            inner=inner.transport(),
        )
    assert inner.requests == []
    assert raised.value.type == "ProviderRejected" and raised.value.non_retryable
    assert "resolves to 10.0.0.7, a private address" in raised.value.message


def test_a_redirect_to_an_internal_address_is_refused():
    inner = Recorder(httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"}))
    with pytest.raises(ApplicationError) as raised:
        fetch_attachments(
            [attachment("https://files.example.com/menu.pdf")],
            resolver=resolver_of({"files.example.com": ["93.184.216.34"]}),
            inner=inner.transport(),
        )
    assert [str(r.url) for r in inner.requests] == ["https://93.184.216.34/menu.pdf"]
    assert raised.value.type == "ProviderRejected" and raised.value.non_retryable
    assert "169.254.169.254, a link-local address" in raised.value.message


def test_a_public_attachment_is_fetched_from_the_checked_address():
    inner = Recorder(
        httpx.Response(302, headers={"Location": "https://cdn.example.net/m.pdf"}),
        httpx.Response(200, content=b"%PDF-1.4"),
    )
    [fetched] = fetch_attachments(
        [attachment("https://files.example.com/menu.pdf")],
        resolver=resolver_of(
            {"files.example.com": ["93.184.216.34"], "cdn.example.net": ["151.101.1.1"]}
        ),
        inner=inner.transport(),
    )
    assert fetched.content == b"%PDF-1.4" and fetched.filename == "menu.pdf"
    # Each hop connects to the address the guard checked, with the name kept for Host/TLS.
    assert [
        (str(r.url), r.headers["Host"], r.extensions["sni_hostname"]) for r in inner.requests
    ] == [
        ("https://93.184.216.34/menu.pdf", "files.example.com", "files.example.com"),
        ("https://151.101.1.1/m.pdf", "cdn.example.net", "cdn.example.net"),
    ]


def test_private_targets_can_be_allowed():
    with FakeProvider(Reply(200, "%PDF-1.4 menu")) as files:
        [fetched] = fetch_attachments([attachment(f"{files.url}/menu.pdf")], allow_private=True)
    assert fetched.content == b"%PDF-1.4 menu"
    assert [(r.method, r.path) for r in files.requests] == [("GET", "/menu.pdf")]


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(ApplicationError) as raised:
        fetch_attachments([attachment("file:///etc/passwd")], allow_private=True)
    assert raised.value.type == "ProviderRejected" and "http:// or https://" in raised.value.message


@pytest.mark.parametrize("allowed", [False, True])
def test_the_setting_is_the_webhooks_one(allowed):
    settings = Settings(_env_file=None, webhook_allow_private_targets=allowed)
    assert MessagingOptions.from_settings(settings).allow_private_targets is allowed
    assert MessagingOptions().allow_private_targets is False
