"""Templates the sandbox would refuse, and URLs aimed at internal addresses, are refused
at validation (naming the step and field), not only when the step runs. The same rules
hold when rendering: functions never become text, and output, the values built on the
way and rendering time are all capped."""

import ipaddress

import pytest

from domain.merge_tags import (
    BODY_MAX_CHARS,
    MAX_BUILD_CHARS,
    SMS_TEXT_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    WEBHOOK_BODY_MAX_CHARS,
    MergeTagError,
    check_template,
    contact_context,
    max_chars_for,
    render,
)
from domain.targets import literal_address, refusal, url_problem
from domain.validation import parse_flow, validate_flow

CONTEXT = contact_context(
    "c1",
    "ann@example.com",
    None,
    {
        "first_name": "Ann",
        "tags": ["vip", "beta"],
        "visits": 3,
        "price": 12.5,
        "order": {"items": 2},
    },
)


def problems(*steps, allow_private_targets=False):
    document = {"id": "drip", "trigger": {"event": "form.submitted"}, "steps": list(steps)}
    flow, found = parse_flow(document, allow_private_targets=allow_private_targets)
    assert flow is not None, [str(p) for p in found]
    return [p for p in found if p.severity == "error" and p.code != "not_executable_yet"]


# ---- templates refused at validation, naming the step and field --------------------------

UNSAFE = [
    # what the sandbox refuses: internal attributes, also through attr and []
    ("{{ ''.__class__.__mro__ }}", "'__mro__' is internal"),
    ("{{ first_name.__class__ }}", "'__class__' is internal"),
    ("{{ contact.items.__globals__ }}", "'__globals__' is internal"),
    ("{{ first_name | attr('__class__') }}", "filter 'attr': '__class__' is internal"),
    ("{{ first_name | attr(first_name) }}", "the attr filter needs a literal attribute name"),
    ("{{ contact['__class__'] }}", "'__class__' is internal"),
    ("{{ tags | map(attribute='__class__') | list }}", "'__class__' is internal"),
    ("{{ tags | selectattr('__len__') | list }}", "'__len__' is internal"),
    # functions printed as text
    ("{{ ''.format }}", "'format' is not allowed"),
    ("{{ 'Hi {}'.format(first_name) }}", "'format' is not allowed"),
    ("{{ ''.upper }}", "''.upper is a function of str"),
    ("{{ contact.items }}", "contact.items is a function of dict"),
    # calls outside the allow-list
    ("{{ lipsum(1000) }}", "calling lipsum(...) is not allowed"),
    ("{{ cycler('a', 'b') }}", "calling cycler(...) is not allowed"),
    ("{{ first_name.center(1000000000) }}", "calling first_name.center(...) is not allowed"),
    ("{{ first_name.zfill(1000000000) }}", "calling first_name.zfill(...) is not allowed"),
    (
        "{{ contact.update({'email': 'eve@example.com'}) }}",
        "calling contact.update(...) is not allowed",
    ),
    ("{{ self.x() }}", "calling self.x(...) is not allowed"),
    ("{% macro m() %}x{% endmacro %}{{ m() }}", "{% macro %} is not allowed"),
    ("{% include 'other' %}", "{% include %} is not allowed"),
    ("{% import 'other' as o %}", "{% import %} is not allowed"),
    # filters and tests outside the allow-list
    ("{{ first_name | center(1000000000) }}", "filter 'center' is not allowed"),
    ("{{ first_name | indent(1000000000) }}", "filter 'indent' is not allowed"),
    ("{{ tags | batch(1000000000, 'x') | list }}", "filter 'batch' is not allowed"),
    ("{{ tags | map('center', 1000000000) | list }}", "filter 'center' (in map)"),
    ("{{ tags | select('callable') | list }}", "test 'callable' (in select)"),
    ("{% if first_name is callable %}x{% endif %}", "test 'callable' is not allowed"),
    # sizes that no contact can make acceptable
    ("{{ 'x' * 3000000 }}", "would build 3000000 characters"),
    ("{{ 3000000 * 'x' }}", "would build 3000000 characters"),
    ("{{ ['x'] * 3000000 }}", "would build 3000000 characters"),
    ("{{ 9 ** 9999999 }}", "is a number over"),
    ("{{ '%0999999999d' % visits }}", "pads to 999999999 characters"),
    ("{{ '%*d' | format(1000000000, 1) }}", None),  # refused when rendering (width from a value)
]


@pytest.mark.parametrize(
    ("template", "says"),
    [case for case in UNSAFE if case[1]],
    ids=[case[0] for case in UNSAFE if case[1]],
)
@pytest.mark.parametrize(
    ("kind", "field", "settings"),
    [
        ("send_email", "subject", {"body": "Hi"}),
        ("send_email", "body", {"subject": "Hi"}),
        ("send_sms", "text", {}),
        ("webhook", "body", {"url": "https://hooks.example.com/in"}),
        ("notify_team", "message", {"to": "owner", "subject": "New"}),
        ("notify_team", "to", {"subject": "New", "message": "Hi"}),
    ],
)
def test_unsafe_template_is_refused_at_validation_naming_step_and_field(
    template, says, kind, field, settings
):
    found = problems({"id": "hello", "kind": kind, **settings, field: template})
    assert found, "validated and would publish"
    assert {(p.step_id, p.field, p.code) for p in found} == {("hello", field, "unsafe_merge_tag")}
    assert any(says in p.message for p in found), [p.message for p in found]


def test_a_phone_call_script_is_checked_too():
    call = {
        "id": "call",
        "kind": "phone_call",
        "script": [
            {"action": "say", "text": "Hi {{ first_name }}"},
            {"action": "say", "text": "{{ ''.__class__ }}"},
        ],
    }
    [problem] = problems(call)
    assert (problem.step_id, problem.field, problem.code) == (
        "call",
        "script.1.text",
        "unsafe_merge_tag",
    )


@pytest.mark.parametrize("template", [case[0] for case in UNSAFE])
def test_every_template_refused_at_validation_is_refused_when_rendering(template):
    # Flows published before these rules existed are held to them too.
    with pytest.raises(MergeTagError):
        render(template, CONTEXT)


@pytest.mark.parametrize(
    "template",
    [
        "Hi {{ first_name | default('there') }}",
        "{{ first_name.upper() }} {{ first_name | title }} {{ contact.get('city', 'your city') }}",
        "{% for t in tags %}{{ loop.index }}. {{ t | upper }}{{ loop.cycle(',', ';') }}{% endfor %}",
        "{{ tags | join(', ') }} / {{ ', '.join(tags) }} / {{ tags | map('upper') | join }}",
        "{{ '%.2f' | format(price) }} {{ '%05d' % visits }} {{ 'x' * 10 }} {{ first_name ~ '!' }}",
        "{% for k, v in contact | dictsort %}{{ k }}{% endfor %} {{ contact | tojson | length }}",
        "{% set greeting %}Hi {{ first_name }}{% endset %}{% filter upper %}{{ greeting }}{% endfilter %}",
        "{{ order['items'] }} {{ dict(a=1) }} {{ range(3) | list }} {{ first_name.split('n') }}",
        "{{ first_name | replace('A', 'E') }} {{ first_name | truncate(10) }} {{ visits + 1 }}",
    ],
)
def test_ordinary_templates_validate_and_render(template):
    assert problems({"id": "hello", "kind": "send_email", "subject": "Hi", "body": template}) == []
    assert check_template(template) == []
    assert render(template, CONTEXT)


# ---- output caps per field -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field", "settings", "limit"),
    [
        ("send_email", "subject", {"body": "Hi"}, SUBJECT_MAX_CHARS),
        ("send_sms", "text", {}, SMS_TEXT_MAX_CHARS),
        ("notify_team", "subject", {"to": "owner", "message": "Hi"}, SUBJECT_MAX_CHARS),
    ],
)
def test_literal_text_over_the_field_cap_is_refused_at_validation(kind, field, settings, limit):
    at_limit = problems({"id": "s", "kind": kind, **settings, field: "x" * limit})
    assert [p.code for p in at_limit if p.field == field] == []
    over = problems(
        {"id": "s", "kind": kind, **settings, field: "x" * (limit + 1) + " {{ first_name }}"}
    )
    [problem] = [p for p in over if p.field == field]
    assert (problem.step_id, problem.code) == ("s", "too_long")
    assert f"at most {limit}" in problem.message


def test_field_caps():
    assert max_chars_for("send_email", "subject") == SUBJECT_MAX_CHARS == 998
    assert max_chars_for("send_email", "body") == BODY_MAX_CHARS == 512 * 1024
    assert max_chars_for("send_sms", "text") == SMS_TEXT_MAX_CHARS == 1600
    assert max_chars_for("webhook", "body") == WEBHOOK_BODY_MAX_CHARS == 256 * 1024
    assert max_chars_for("notify_team", "message", "sms") == SMS_TEXT_MAX_CHARS
    assert max_chars_for("notify_team", "message", "email") == BODY_MAX_CHARS


# ---- rendering ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ first_name.upper }}",  # the type is only known when rendering
        "{{ 'Hi ' ~ first_name.lower }}",
        "{{ [first_name.upper] }}",
        "{{ {'f': first_name.title} }}",
        "{{ first_name.upper | string }}",
        "{{ first_name.upper | length }}",
        "{{ tags | map(attribute='upper') | list }}",
        "{{ range }}",
        "{{ dict }}",
        "{% for t in tags %}{{ loop.cycle }}{% endfor %}",
    ],
)
def test_render_never_prints_a_function(template):
    with pytest.raises(MergeTagError, match="a merge tag rendered a function"):
        render(template, CONTEXT)


def test_render_caps_output_per_field_with_a_clear_error():
    template = "{{ first_name }}{{ 'y' * 500 }}{{ 'y' * 500 }}"
    assert len(render(template, CONTEXT)) == 1003
    with pytest.raises(MergeTagError, match="rendered more than 998 characters"):
        render(template, CONTEXT, max_chars=SUBJECT_MAX_CHARS)
    assert render("x" * 998, CONTEXT, max_chars=998) == "x" * 998


@pytest.mark.parametrize(
    "template",
    [
        "{% set a = 'x' * 400000 %}{{ a ~ a }}",
        "{% set a = 'x' * 400000 %}{{ a + a }}",
        "{% set a = 'x' * 400000 %}{{ [a, a] | join }}",
        "{% set a = 'x' * 400000 %}{{ ''.join([a, a]) }}",
        "{% set a = 'x' * 400000 %}{{ a | replace('x', 'yy') }}",
        "{% set a = 'x' * 400000 %}{{ a.replace('x', 'yy') }}",
        "{% set a = 'x' * 100000 %}{{ [a] * 100 }}",
        "{% set a = 'x' * 100000 %}{{ ([a] * 100) | tojson }}",
        "{% set a = 'x' * 100000 %}{{ ('%s' * 100) | format(*([a] * 100)) }}",
        "{% set a = 'x' * 100000 %}{% set b %}{% for i in range(100) %}{{ a }}{% endfor %}{% endset %}",
        "{% set a = 'x' * 100000 %}{{ range(100) | map('replace', '0', a) | list | length }}",
        "{{ visits * 'x' * 200000 }}",
    ],
)
def test_render_refuses_to_build_oversized_values(template):
    with pytest.raises(MergeTagError, match="build"):
        render(template, CONTEXT)
    assert MAX_BUILD_CHARS == BODY_MAX_CHARS


def test_range_is_capped():
    with pytest.raises(MergeTagError, match="at most 10000"):
        render("{{ range(1000000) | list }}", CONTEXT)


def test_render_time_is_capped():
    spin = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    with pytest.raises(MergeTagError, match=r"took longer than 0\.2 s"):
        render(spin, CONTEXT, max_seconds=0.2)


def test_render_errors_keep_their_meaning():
    with pytest.raises(MergeTagError, match="missing merge value"):
        render("{{ city ~ '!' }}", CONTEXT)
    with pytest.raises(MergeTagError, match="missing merge value"):
        render("{% for x in wishlist %}{{ x }}{% endfor %}", CONTEXT)
    assert render("{{ city | default('there') ~ '!' }}", CONTEXT) == "there!"
    with pytest.raises(MergeTagError, match="TypeError"):
        render("{{ ', '.join([1, 2]) }}", CONTEXT)


# ---- URLs: every spelling of an internal address ----------------------------------------

INTERNAL_URLS = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://127.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0x7f.0.0.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://１２７.0.0.1/", "loopback"),
    ("https://[::1]:8443/x", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://user:pw@127.0.0.1:8080/x?y=1", "loopback"),
    ("http://0.0.0.0/", "private"),
    ("http://0/", "private"),
    ("http://[::]/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://2852039166/latest/meta-data/", "link-local"),
    ("http://[fe80::1%25eth0]/", "link-local"),
    ("http://[fd00:ec2::254]/", "private"),
    ("http://10.0.0.5/", "private"),
    ("http://172.16.3.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "non-public"),
    ("http://192.0.0.192/", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 around 127.0.0.1
    ("http://localhost:8080/", "this machine"),
    ("http://api.localhost/", "this machine"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata service"),
]


@pytest.mark.parametrize(("url", "says"), INTERNAL_URLS, ids=[u for u, _ in INTERNAL_URLS])
def test_webhook_to_an_internal_address_is_refused_unless_allowed(url, says):
    hook = {"id": "hook", "kind": "webhook", "url": url + "{{ contact_id }}"}
    [problem] = problems(hook)
    assert (problem.step_id, problem.field, problem.code) == ("hook", "url", "private_target")
    assert says in problem.message and "DRIPSTONE_WEBHOOK_ALLOW_PRIVATE_TARGETS" in problem.message
    assert problems(hook, allow_private_targets=True) == []


@pytest.mark.parametrize(("url", "says"), INTERNAL_URLS, ids=[u for u, _ in INTERNAL_URLS])
def test_attachment_from_an_internal_address_is_refused_unless_allowed(url, says):
    email = {
        "id": "mail",
        "kind": "send_email",
        "subject": "Hi",
        "body": "Attached",
        "attachments": [
            {"filename": "ok.pdf", "url": "https://files.example.com/ok.pdf", "size_bytes": 10},
            {"filename": "menu.pdf", "url": url, "size_bytes": 10},
        ],
    }
    [problem] = problems(email)
    assert (problem.step_id, problem.field, problem.code) == (
        "mail",
        "attachments.1.url",
        "private_target",
    )
    assert says in problem.message and "'menu.pdf'" in problem.message
    assert problems(email, allow_private_targets=True) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/in",
        "http://93.184.216.34/x",
        "http://[2606:4700::1111]/",
        "http://[::ffff:8.8.8.8]/",
        "https://127.0.0.1.nip.io.example.com/",
        "https://0x7f000001.example.com/",
        "https://1e100.net/",
    ],
)
def test_public_hosts_pass(url):
    assert problems({"id": "hook", "kind": "webhook", "url": url}) == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://files.example.com/a", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("http://{{ website }}/x", "needs a literal host name"),
        ("http://[::1/x", "cannot be read"),
        ("http://host.example.com:99999999/", "cannot be read"),
        ("http://127.0.0.1\\@example.com/", "backslash"),
    ],
)
def test_unreadable_urls_are_bad_urls_even_when_private_targets_are_allowed(url, says):
    for allowed in (False, True):
        [problem] = problems(
            {"id": "hook", "kind": "webhook", "url": url}, allow_private_targets=allowed
        )
        assert (problem.field, problem.code) == ("url", "bad_url") and says in problem.message


def test_validate_flow_takes_the_setting_too():
    flow, _ = parse_flow(
        {
            "id": "drip",
            "trigger": {"event": "form.submitted"},
            "steps": [{"id": "hook", "kind": "webhook", "url": "http://127.1/"}],
        }
    )
    assert [p.code for p in validate_flow(flow)] == ["private_target"]
    assert validate_flow(flow, allow_private_targets=True) == []


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("fe80::1%25en0", "fe80::1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
    ],
)
def test_literal_address_reads_every_spelling(host, address):
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "08.1.1.1",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.0x100",
        "4294967296",
        "127.0.0.1.example.com",
        "",
    ],
)
def test_names_and_impossible_numbers_are_not_literal_addresses(host):
    assert literal_address(host) is None


def test_refusal_is_the_run_time_rule():
    from activities import webhook_targets

    assert webhook_targets.refusal is refusal
    assert refusal(ipaddress.ip_address("8.8.8.8")) is None
    assert refusal(ipaddress.ip_address("::ffff:8.8.8.8")) is None
    assert refusal(ipaddress.ip_address("64:ff9b::a00:1")) is not None


def test_url_problem_without_allow_private_is_the_default():
    assert url_problem("http://127.1/", "URL")[0] == "private_target"
    assert url_problem("http://127.1/", "URL", allow_private=True) is None
