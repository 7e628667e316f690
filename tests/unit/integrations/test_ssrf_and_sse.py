import pytest

from mao.domain.integrations import sse
from mao.domain.integrations.ssrf import UnsafeUrlError, check_url, parse_networks


def resolver(table):
    return lambda host, port: table[host]


@pytest.mark.parametrize(("url", "addr", "label"), [
    ("http://n8n.internal:5678", "10.0.3.7", "private"),
    ("http://metadata.example", "169.254.169.254", "link-local"),
    ("http://localhost:5678", "127.0.0.1", "loopback"),
    ("http://v6.example", "::1", "loopback"),
    ("http://mapped.example", "::ffff:192.168.1.4", "private"),
    ("http://cgnat.example", "100.64.0.9", "non-public"),
])
def test_internal_addresses_are_refused_after_resolution(url, addr, label):
    host = url.split("//")[1].split(":")[0]
    with pytest.raises(UnsafeUrlError, match=label):
        check_url(url, resolver=resolver({host: [addr]}))


def test_a_host_with_any_internal_address_is_refused():
    with pytest.raises(UnsafeUrlError, match="private"):
        check_url("https://mixed.example", resolver=resolver({"mixed.example": ["93.184.216.34", "10.1.1.1"]}))


def test_literal_ips_are_checked_without_dns():
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_url("http://127.0.0.1:8080/", resolver=resolver({}))


def test_public_hosts_pass_and_are_normalised():
    checked = check_url("https://n8n.example.com/", resolver=resolver({"n8n.example.com": ["93.184.216.34"]}))
    assert checked.url == "https://n8n.example.com" and checked.port == 443


def test_an_operator_allowance_admits_only_the_allowed_networks():
    allowed = parse_networks("127.0.0.0/8, 10.9.0.0/16")
    assert check_url("http://127.0.0.1:5678", allowed, resolver=resolver({})).port == 5678
    assert check_url("http://10.9.3.3", allowed, resolver=resolver({})).host == "10.9.3.3"
    with pytest.raises(UnsafeUrlError):
        check_url("http://10.8.3.3", allowed, resolver=resolver({}))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x", "http://user:pw@example.com", "http://",
                                 "http://example.com:99999"])
def test_other_schemes_credentials_and_bad_urls_are_refused(url):
    with pytest.raises(UnsafeUrlError):
        check_url(url, resolver=resolver({"example.com": ["93.184.216.34"], "x": ["93.184.216.34"]}))


def test_sse_events_round_trip_with_ids_and_multiline_data():
    stream = sse.retry(1500) + sse.event("e1", "execution", {"a": 1}) + sse.comment("keep") + \
        sse.event("e2", "note", "line one\nline two")
    assert stream.startswith("retry: 1500\n\n")
    assert sse.parse(stream) == [{"id": "e1", "event": "execution", "data": '{"a":1}'},
                                 {"id": "e2", "event": "note", "data": "line one\nline two"}]
