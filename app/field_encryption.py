"""Personal data encrypted at rest (DOMAIN.md §7.5, GB/T 39786-2021): SM4-GCM by default, AES-256-GCM on request.

Columns that hold personal data (mobiles, ID numbers, ID-card copies, second-factor secrets, and the workflow
state, drafts and step log, which hold whatever a form asks, including fields a policy edit adds later) are
declared with the types in `app.models._types`; they call `seal`/`unseal` here, so no other code sees a key.

A sealed value is `pd1.<key id>.<base64url(nonce | ciphertext | tag)>`. The key id names the key that sealed
it, so several keys can be readable at once: rotation adds a new first key, `flask crypto rotate` re-seals
every value under it, and the old key is removed afterwards (docs/personal-data.md). The column's name is
the associated data: a value copied into another column does not open.

Keys come from FIELD_ENCRYPTION_KEYS (`id:ALGORITHM:base64 secret`, comma separated, the first one seals),
outside the database. Outside production a missing setting is generated once into instance/field_keys
(mode 0600), like the secret key; production refuses to start without the setting.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, has_app_context

PREFIX = "pd1"
KEY_FILE_NAME = "field_keys"
KEYRING_EXTENSION = "field_keyring"
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class FieldKeyError(RuntimeError):
    """The key setting is missing or malformed, or a value names a key that is not configured."""


def _sm4_gcm_seal(secret: bytes, nonce: bytes, plaintext: bytes, context: bytes) -> bytes:
    encryptor = Cipher(algorithms.SM4(secret), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context)
    return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag


def _sm4_gcm_open(secret: bytes, nonce: bytes, sealed: bytes, context: bytes) -> bytes:
    decryptor = Cipher(algorithms.SM4(secret), modes.GCM(nonce, sealed[-TAG_BYTES:])).decryptor()
    decryptor.authenticate_additional_data(context)
    return decryptor.update(sealed[:-TAG_BYTES]) + decryptor.finalize()


def _aes_gcm_seal(secret: bytes, nonce: bytes, plaintext: bytes, context: bytes) -> bytes:
    return AESGCM(secret).encrypt(nonce, plaintext, context)


def _aes_gcm_open(secret: bytes, nonce: bytes, sealed: bytes, context: bytes) -> bytes:
    return AESGCM(secret).decrypt(nonce, sealed, context)


@dataclass(frozen=True)
class Algorithm:
    key_bytes: int
    seal: Callable[[bytes, bytes, bytes, bytes], bytes]
    open: Callable[[bytes, bytes, bytes, bytes], bytes]


# 商用密码 first (密评); AES for installations that are not assessed. New algorithms are one more entry.
ALGORITHMS = {
    "SM4-GCM": Algorithm(16, _sm4_gcm_seal, _sm4_gcm_open),
    "AES-256-GCM": Algorithm(32, _aes_gcm_seal, _aes_gcm_open),
}
DEFAULT_ALGORITHM = "SM4-GCM"


@dataclass(frozen=True)
class FieldKey:
    key_id: str
    algorithm: str
    secret: bytes

    def describe(self) -> str:
        return f"{self.key_id}:{self.algorithm}:{base64.b64encode(self.secret).decode()}"


class Keyring:
    """The configured keys; the first seals, every one opens what it sealed."""

    def __init__(self, keys: list[FieldKey]) -> None:
        if not keys:
            raise FieldKeyError("未配置个人信息加密密钥 FIELD_ENCRYPTION_KEYS")
        self.current = keys[0]
        self.keys = {key.key_id: key for key in keys}
        if len(self.keys) != len(keys):
            raise FieldKeyError("FIELD_ENCRYPTION_KEYS 中的密钥编号重复")

    def seal(self, plaintext: bytes, context: str) -> str:
        key = self.current
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = ALGORITHMS[key.algorithm].seal(key.secret, nonce, plaintext, context.encode())
        return f"{PREFIX}.{key.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def unseal(self, value: str, context: str) -> bytes:
        prefix, key_id, body = _parts(value)
        key = self.keys.get(key_id)
        if prefix != PREFIX or key is None:
            raise FieldKeyError(f"{context} 的密文使用了未配置的密钥 {key_id!r}")
        raw = base64.urlsafe_b64decode(body)
        try:
            return ALGORITHMS[key.algorithm].open(key.secret, raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag as error:
            raise FieldKeyError(f"{context} 的密文校验失败（被改动或密钥不符）") from error

    def is_current(self, value: str) -> bool:
        return value.startswith(f"{PREFIX}.{self.current.key_id}.")


def _parts(value: str) -> tuple[str, str, str]:
    pieces = value.split(".", 2)
    if len(pieces) != 3:
        raise FieldKeyError("不是加密的个人信息")
    return pieces[0], pieces[1], pieces[2]


def parse_keys(setting: str) -> list[FieldKey]:
    """`id:ALGORITHM:base64secret` entries, comma or newline separated, the sealing key first."""
    keys = []
    for entry in re.split(r"[,\n]", setting):
        if entry.strip():
            keys.append(_parse_key(entry.strip()))
    return keys


def _parse_key(entry: str) -> FieldKey:
    try:
        key_id, algorithm, encoded = entry.split(":", 2)
        secret = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as error:
        raise FieldKeyError("FIELD_ENCRYPTION_KEYS 的格式应为 编号:算法:base64密钥") from error
    if not _KEY_ID.match(key_id):
        raise FieldKeyError(f"密钥编号 {key_id!r} 只能含字母、数字、-、_（至多 32 个）")
    if algorithm not in ALGORITHMS:
        raise FieldKeyError(f"不支持的算法 {algorithm}（可选 {'、'.join(ALGORITHMS)}）")
    if len(secret) != ALGORITHMS[algorithm].key_bytes:
        raise FieldKeyError(f"{algorithm} 的密钥应为 {ALGORITHMS[algorithm].key_bytes} 字节")
    return FieldKey(key_id, algorithm, secret)


def new_key(key_id: str, algorithm: str = DEFAULT_ALGORITHM) -> FieldKey:
    return FieldKey(key_id, algorithm, secrets.token_bytes(ALGORITHMS[algorithm].key_bytes))


def key_file(instance_path: str | Path) -> Path:
    return Path(instance_path) / KEY_FILE_NAME


def ensure_key_file(instance_path: str | Path) -> str:
    """The development key setting: generated once into instance/field_keys (mode 0600), then read."""
    path = key_file(instance_path)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this installation wrote it first
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(new_key("k1").describe())
    return path.read_text(encoding="ascii").strip()


def load_keyring(setting: str | None, instance_path: str | Path, production: bool) -> Keyring:
    if not setting:
        if production:
            raise FieldKeyError("生产环境必须以环境变量 FIELD_ENCRYPTION_KEYS 提供个人信息加密密钥（不放在数据库中）")
        setting = ensure_key_file(instance_path)
    return Keyring(parse_keys(setting))


def active_keyring() -> Keyring:
    """The keyring of the app in whose context a sealed column is read or written (set by create_app)."""
    if not has_app_context() or KEYRING_EXTENSION not in current_app.extensions:
        raise FieldKeyError("个人信息加密密钥尚未加载")
    return current_app.extensions[KEYRING_EXTENSION]  # type: ignore[no-any-return]
