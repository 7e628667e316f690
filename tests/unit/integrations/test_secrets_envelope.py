import base64
import json

import pytest
from cryptography.exceptions import InvalidTag

from mao.adapters import secrets
from mao.config import reset_settings


@pytest.fixture(autouse=True)
def local_key(monkeypatch):
    monkeypatch.delenv("MAO_KMS_KEY_ID", raising=False)
    monkeypatch.setenv("MAO_SECRETS_KEY", base64.b64encode(b"k" * 32).decode())
    yield
    reset_settings()


def test_a_secret_round_trips_and_is_not_stored_in_clear():
    envelope = secrets.encrypt("whsec_abc123", "tn_a", "webhook-secret:n8n:workflows:wf1")
    assert "whsec_abc123" not in envelope
    assert secrets.decrypt(envelope, "tn_a", "webhook-secret:n8n:workflows:wf1") == "whsec_abc123"
    again = secrets.encrypt("whsec_abc123", "tn_a", "webhook-secret:n8n:workflows:wf1")
    assert json.loads(again)["k"] != json.loads(envelope)["k"]  # a fresh data key per value


def test_a_ciphertext_moved_to_another_tenant_or_purpose_does_not_decrypt():
    envelope = secrets.encrypt("provider-key", "tn_a", "api-key:dify:instances:i1")
    with pytest.raises(InvalidTag):
        secrets.decrypt(envelope, "tn_b", "api-key:dify:instances:i1")
    with pytest.raises(InvalidTag):
        secrets.decrypt(envelope, "tn_a", "api-key:dify:instances:i2")


def test_without_a_configured_key_the_pepper_derives_one_and_nothing_at_all_refuses(monkeypatch):
    monkeypatch.delenv("MAO_SECRETS_KEY")
    monkeypatch.setenv("MAO_KEY_PEPPER", "p" * 40)
    reset_settings()
    envelope = secrets.encrypt("s", "tn", "x")
    assert secrets.decrypt(envelope, "tn", "x") == "s"
    monkeypatch.setenv("MAO_KEY_PEPPER", "")
    reset_settings()
    with pytest.raises(secrets.SecretsUnavailableError):
        secrets.encrypt("s", "tn", "x")
