import pytest

from mao.domain.integrations.signing import SignatureError, SignedHeaders, sign_headers, signature, verify

SECRET = "whsec_test_0123456789"
BODY = b'{"executionId":"1","workflowId":"wf"}'
NOW = 1_767_000_000


def headers(body=BODY, secret=SECRET, ts=NOW, nonce="nonce-0001"):
    h = sign_headers(secret, body, ts, nonce)
    return SignedHeaders(h["X-MAO-Timestamp"], h["X-MAO-Signature"], h["X-MAO-Nonce"])


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, NOW, BODY) == "sha256=" + expected


def test_a_correctly_signed_fresh_request_passes_and_yields_its_nonce():
    assert verify(headers(), BODY, [SECRET], now=NOW + 10) == "nonce-0001"


def test_a_rotated_out_secret_still_in_grace_is_accepted_among_candidates():
    assert verify(headers(secret="old-secret-value"), BODY, [SECRET, "old-secret-value"], now=NOW)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: (headers(), BODY + b" "), "does not match"),
    (lambda: (headers(secret="wrong-secret-123"), BODY), "does not match"),
    (lambda: (headers(ts=NOW - 301), BODY), "tolerance"),
    (lambda: (headers(ts=NOW + 301), BODY), "tolerance"),
    (lambda: (SignedHeaders(None, "sha256=00", "nonce-0001"), BODY), "missing X-MAO-Timestamp"),
    (lambda: (SignedHeaders(str(NOW), None, "nonce-0001"), BODY), "missing X-MAO-Signature"),
    (lambda: (SignedHeaders(str(NOW), "sha256=00", None), BODY), "missing X-MAO-Nonce"),
    (lambda: (SignedHeaders(str(NOW), "md5=00", "nonce-0001"), BODY), "sha256="),
    (lambda: (SignedHeaders("yesterday", "sha256=00", "nonce-0001"), BODY), "unix seconds"),
    (lambda: (headers(nonce="short"), BODY), "X-MAO-Nonce"),
])
def test_bad_requests_are_refused_with_the_reason(make, reason):
    hdrs, body = make()
    with pytest.raises(SignatureError, match=reason):
        verify(hdrs, body, [SECRET], now=NOW)
