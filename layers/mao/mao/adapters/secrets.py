"""Envelope encryption of stored secrets (webhook signing secrets, provider API keys).

Each value is encrypted with its own random 256-bit data key (AES-GCM); the data key is wrapped by a
key-encryption key: AWS KMS when ``MAO_KMS_KEY_ID`` is set (``Encrypt``/``Decrypt`` of the data key),
otherwise a local key from configuration (``MAO_SECRETS_KEY``, base64 of 32 bytes, or derived with
HKDF from the deployment's ``MAO_KEY_PEPPER``). The tenant and purpose are bound as associated data,
so a ciphertext copied to another tenant's item does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets as _secrets

from mao.config import settings

_VERSION = "v1"


class SecretsUnavailableError(RuntimeError):
    """No key-encryption key is configured."""


def _local_kek() -> bytes:
    raw = os.environ.get("MAO_SECRETS_KEY", "")
    if raw:
        key = base64.b64decode(raw)
        if len(key) != 32:
            raise SecretsUnavailableError("MAO_SECRETS_KEY must be base64 of 32 bytes")
        return key
    pepper = settings().key_pepper
    if not pepper:
        raise SecretsUnavailableError("configure MAO_SECRETS_KEY, MAO_KMS_KEY_ID or MAO_KEY_PEPPER")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mao-envelope-kek",
                info=b"mao stored secrets v1").derive(pepper.encode())


def _wrap(data_key: bytes, aad: bytes) -> tuple[str, str]:
    kms_key = os.environ.get("MAO_KMS_KEY_ID", "")
    if kms_key:
        from mao.adapters.aws import client

        out = client("kms").encrypt(KeyId=kms_key, Plaintext=data_key,
                                    EncryptionContext={"mao": hashlib.sha256(aad).hexdigest()})
        return "kms", base64.b64encode(out["CiphertextBlob"]).decode()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = _secrets.token_bytes(12)
    return "local", base64.b64encode(nonce + AESGCM(_local_kek()).encrypt(nonce, data_key, aad)).decode()


def _unwrap(scheme: str, wrapped: str, aad: bytes) -> bytes:
    blob = base64.b64decode(wrapped)
    if scheme == "kms":
        from mao.adapters.aws import client

        out = client("kms").decrypt(CiphertextBlob=blob, EncryptionContext={"mao": hashlib.sha256(aad).hexdigest()})
        return bytes(out["Plaintext"])
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(_local_kek()).decrypt(blob[:12], blob[12:], aad)


def _aad(tenant_id: str, purpose: str) -> bytes:
    return f"{tenant_id}\x1f{purpose}".encode()


def encrypt(plaintext: str, tenant_id: str, purpose: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aad = _aad(tenant_id, purpose)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = _secrets.token_bytes(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext.encode(), aad)
    scheme, wrapped = _wrap(data_key, aad)
    envelope = {"v": _VERSION, "s": scheme, "k": wrapped, "n": base64.b64encode(nonce).decode(),
                "c": base64.b64encode(ciphertext).decode()}
    return json.dumps(envelope, separators=(",", ":"))


def decrypt(envelope_text: str, tenant_id: str, purpose: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    envelope = json.loads(envelope_text)
    if envelope.get("v") != _VERSION:
        raise ValueError("unknown secret envelope version")
    aad = _aad(tenant_id, purpose)
    data_key = _unwrap(envelope["s"], envelope["k"], aad)
    plain = AESGCM(data_key).decrypt(base64.b64decode(envelope["n"]), base64.b64decode(envelope["c"]), aad)
    return plain.decode()


def new_webhook_secret() -> str:
    return "whsec_" + _secrets.token_urlsafe(32)
