"""Settings read from environment variables; every default runs on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from app.secret_key import read_secret_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_AUDIT_RETENTION_DAYS = 180  # 网络安全法 第21条: network logs are kept at least six months


def dump_json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_default(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'platform.sqlite3'}"


def load_settings(instance_path: str) -> dict[str, object]:
    """Build the Flask config mapping from the environment."""
    env = os.environ.get
    production = env("APP_ENV", "development") == "production"
    return {
        # SQLite file under instance/ unless DATABASE_URL points elsewhere (e.g. PostgreSQL).
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL") or _sqlite_default(instance_path),
        # JSON columns (the workflow state is one) go through orjson: several times faster than json.
        "SQLALCHEMY_ENGINE_OPTIONS": {"json_serializer": dump_json, "json_deserializer": orjson.loads},
        # "production" refuses to start without a strong secret key and sends cookies over HTTPS only.
        "APP_ENV": "production" if production else env("APP_ENV", "development"),
        # Signs sessions and CSRF tokens: SECRET_KEY, else the file set-up writes into instance/ (see secret_key.py).
        "SECRET_KEY": env("SECRET_KEY") or read_secret_key(instance_path),
        # Keys that seal personal data at rest (app/field_encryption.py, docs/personal-data.md): `id:SM4-GCM:base64`,
        # comma separated, the first seals. Empty outside production: generated once into instance/field_keys.
        "FIELD_ENCRYPTION_KEYS": env("FIELD_ENCRYPTION_KEYS", ""),
        # Days after the 编办 confirmed the paper materials that an uploaded ID-card copy is deleted (PIPL 第19条).
        "ID_COPY_RETENTION_DAYS": int(env("ID_COPY_RETENTION_DAYS", "30")),
        # Folder holding workflows/, forms/ and documents/: what `flask deploy` bundles into versions.
        "PROCEDURES_ROOT": env("PROCEDURES_ROOT", str(PROJECT_ROOT)),
        # Largest diagram file accepted by deploy, in bytes.
        "MAX_DIAGRAM_BYTES": int(env("MAX_DIAGRAM_BYTES", str(2 * 1024 * 1024))),
        # Session cookies: HttpOnly always, Secure unless explicitly running on plain HTTP (local demo).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("SESSION_COOKIE_SECURE", str(production)).lower() == "true",
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Idle timeout of a login session, in seconds (等保: at most 30 minutes).
        "PERMANENT_SESSION_LIFETIME": int(env("SESSION_IDLE_SECONDS", "1800")),
        # Absolute lifetime of a login session however active it is, in seconds (8 hours).
        "SESSION_ABSOLUTE_SECONDS": int(env("SESSION_ABSOLUTE_SECONDS", str(8 * 3600))),
        # Staff passwords (reviewers, policy, admins) expire this many days after they were set (等保 practice: 90);
        # an expired account can do nothing but choose a new one. Unit accounts follow the seed's rule, no expiry.
        "PASSWORD_MAX_AGE_DAYS": int(env("PASSWORD_MAX_AGE_DAYS", "90")),
        # From this many days before a staff password expires, a notice after login and on every page header.
        "PASSWORD_WARN_DAYS": int(env("PASSWORD_WARN_DAYS", "14")),
        # A new password may not be any of the account's last this many passwords (the current one included).
        "PASSWORD_HISTORY": int(env("PASSWORD_HISTORY", "5")),
        # Largest request body in bytes; routes that take uploads raise it for themselves.
        "MAX_CONTENT_LENGTH": int(env("MAX_CONTENT_LENGTH", str(256 * 1024))),
        # Login throttling (Flask-Limiter): storage is Redis when RATELIMIT_STORAGE_URI names it, else memory.
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        # Login attempts per client address, and failed attempts per user name (existing or not).
        "LOGIN_LIMIT_PER_IP": env("LOGIN_LIMIT_PER_IP", "30 per minute;300 per hour"),
        # Login codes by SMS asked from one address (an office behind one NAT address shares it); each account
        # has its own limits besides (app/services/second_factor_sms.py).
        "SMS_LIMIT_PER_IP": env("SMS_LIMIT_PER_IP", "20 per minute;200 per hour"),
        "LOGIN_FAILURES_PER_NAME": env("LOGIN_FAILURES_PER_NAME", "5 per 15 minutes"),
        # REST API (/api/v1, docs/api.md): requests per token and per client address, the longest lifetime a
        # personal API token may be given (days), and how many unexpired tokens one account may hold.
        "API_LIMIT_PER_TOKEN": env("API_LIMIT_PER_TOKEN", "120 per minute"),
        "API_LIMIT_PER_IP": env("API_LIMIT_PER_IP", "300 per minute"),
        "API_TOKEN_MAX_DAYS": int(env("API_TOKEN_MAX_DAYS", "180")),
        "API_TOKENS_PER_ACCOUNT": int(env("API_TOKENS_PER_ACCOUNT", "5")),
        # Interface language; zh_CN first, an English catalogue follows.
        "BABEL_DEFAULT_LOCALE": env("BABEL_DEFAULT_LOCALE", "zh_CN"),
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        # Page size of lists.
        "PAGE_SIZE": int(env("PAGE_SIZE", "20")),
        # Per-script limits, enforced by the OS in the sandbox's worker processes.
        "SCRIPT_TIMEOUT_SECONDS": float(env("SCRIPT_TIMEOUT_SECONDS", "2")),
        "SCRIPT_MAX_MEMORY_MB": int(env("SCRIPT_MAX_MEMORY_MB", "64")),
        # Sandbox worker processes per web process, started on first use (~15 MB each).
        "SCRIPT_WORKERS": int(env("SCRIPT_WORKERS", "2")),
        # Items each task of `flask worker` takes per round: timers, outbox messages, placement checks. A round
        # that found work is followed by the next at once; the worker sleeps only when a round found nothing.
        "WORKER_BATCH_SIZE": int(env("WORKER_BATCH_SIZE", "50")),
        # Outgoing e-mail. An empty host leaves e-mails waiting in the outbox (the admin page says so).
        "SMTP_HOST": env("SMTP_HOST", ""),
        # Port of the SMTP server: 25 or 587 (STARTTLS) or 465 (implicit TLS).
        "SMTP_PORT": int(env("SMTP_PORT", "25")),
        # How the connection is encrypted: none, starttls (upgrade after connecting) or ssl (TLS from the start).
        "SMTP_TLS": env("SMTP_TLS", "none"),
        # Account for SMTP AUTH; empty means the server accepts the platform without logging in.
        "SMTP_USER": env("SMTP_USER", ""),
        "SMTP_PASSWORD": env("SMTP_PASSWORD", ""),
        # From address of every e-mail, optionally with a display name: 平台名称 <noreply@example.cn>.
        "SMTP_SENDER": env("SMTP_SENDER", "政务和公益机构网上名称办理平台 <noreply@localhost>"),
        # Seconds to wait for the SMTP server on connect and on each reply before the attempt counts as failed.
        "SMTP_TIMEOUT_SECONDS": float(env("SMTP_TIMEOUT_SECONDS", "10")),
        # SMS gateway as module:Class, built with (session, config). The default records each SMS in the database
        # for the administrator to read (系统管理 → 短信记录) instead of sending it.
        "SMS_GATEWAY": env("SMS_GATEWAY", "app.services.sms:RecordingSmsGateway"),
        # Attempts per message before it is given up (shown as 已放弃 with the last error).
        "OUTBOX_MAX_ATTEMPTS": int(env("OUTBOX_MAX_ATTEMPTS", "6")),
        # Wait before the 2nd attempt, doubled for each further one up to the cap (60 s, 2, 4, 8, 16 minutes).
        "OUTBOX_RETRY_BASE_SECONDS": float(env("OUTBOX_RETRY_BASE_SECONDS", "60")),
        "OUTBOX_RETRY_MAX_SECONDS": float(env("OUTBOX_RETRY_MAX_SECONDS", "3600")),
        # 域名解析 zones: their name servers (comma separated, the first is the SOA primary), the SOA
        # mailbox in DNS form (hostmaster.conac.cn = hostmaster@conac.cn) and the records' TTL in seconds.
        "DNS_NAMESERVERS": env("DNS_NAMESERVERS", "ns1.conac.cn,ns2.conac.cn"),
        "DNS_HOSTMASTER": env("DNS_HOSTMASTER", "hostmaster.conac.cn"),
        "DNS_TTL": int(env("DNS_TTL", "3600")),
        # Folder `flask dns export` writes the zone files into.
        "DNS_ZONE_DIR": env("DNS_ZONE_DIR", str(Path(instance_path) / "dns")),
        # Folder `flask backup` writes its files into (mode 0700; they hold personal data: copy them off-site).
        "BACKUP_DIR": env("BACKUP_DIR", str(Path(instance_path) / "backups")),
        # Public IPv4 address of this platform's web server: URL转发 names resolve to it, and it answers 301.
        "PLATFORM_WEB_IPV4": env("PLATFORM_WEB_IPV4", ""),
        # Host names the platform itself is reached by (comma separated, e.g. 网上名称管理.公益): never forwarded.
        "PLATFORM_HOSTS": env("PLATFORM_HOSTS", "localhost,127.0.0.1"),
        # Days after its expiry date an unrenewed domain stays published; then the worker marks it 已过期
        # (DOMAIN.md §8.2: no grace period is published, 30 days is our decision).
        "DOMAIN_GRACE_DAYS": int(env("DOMAIN_GRACE_DAYS", "30")),
        # Where units pay at 待缴费 (seed 004: bank details beside the application). An empty payee means the
        # unit's 同级编办, which collects the fee and issues the invoice; empty bank details tell the unit to
        # ask that 编办 for them.
        "PAYEE_NAME": env("PAYEE_NAME", ""),
        "PAYEE_BANK": env("PAYEE_BANK", ""),
        "PAYEE_ACCOUNT": env("PAYEE_ACCOUNT", ""),
        # Rows one Excel export holds at most (a narrower filter gets the rest).
        "EXPORT_MAX_ROWS": int(env("EXPORT_MAX_ROWS", "10000")),
        # Public address of the badge script, images and 标识证书 pages that the code units paste names
        # (e.g. https://bszs.example.cn); empty: the address the unit's 标识管理 page was opened by.
        "BADGE_BASE_URL": env("BADGE_BASE_URL", ""),
        # Seconds a badge hit reuses what it read of a certificate (a revocation shows within this time).
        "BADGE_CACHE_SECONDS": float(env("BADGE_CACHE_SECONDS", "60")),
        # Certificates whose badge state one web process keeps in memory at most.
        "BADGE_CACHE_ENTRIES": int(env("BADGE_CACHE_ENTRIES", "10000")),
        # Placement check of hung badges (services/placement.py, safe_fetch.py): timeouts in seconds, the
        # largest page read in bytes, and hours between the worker's re-checks of a certificate.
        "PLACEMENT_CONNECT_TIMEOUT": float(env("PLACEMENT_CONNECT_TIMEOUT", "3")),
        "PLACEMENT_READ_TIMEOUT": float(env("PLACEMENT_READ_TIMEOUT", "5")),
        "PLACEMENT_MAX_BYTES": int(env("PLACEMENT_MAX_BYTES", str(512 * 1024))),
        "PLACEMENT_RECHECK_HOURS": float(env("PLACEMENT_RECHECK_HOURS", "24")),
        # Networks (comma separated CIDRs) the placement check may fetch from although they are not public.
        # FOR TESTS ONLY (a local test site on 127.0.0.1): empty by default, so loopback, private,
        # link-local and every other non-public address is refused. Never set it in production.
        "PLACEMENT_ALLOWED_NETWORKS": env("PLACEMENT_ALLOWED_NETWORKS", ""),
        # Days audit rows are kept at least; `flask audit archive` moves out only older ones (start-up refuses < 180).
        "AUDIT_RETENTION_DAYS": int(env("AUDIT_RETENTION_DAYS", str(MIN_AUDIT_RETENTION_DAYS))),
        # Operations (docs/production.md). Log lines: "text" (default, as Python prints them) or "json" (one object
        # per line on stderr, with request id and account id); LOG_LEVEL applies to the JSON lines.
        "LOG_FORMAT": env("LOG_FORMAT", "text"),
        "LOG_LEVEL": env("LOG_LEVEL", "INFO"),
        # Who may read /metrics: direct (not proxied) clients from these networks, comma separated CIDRs ...
        "METRICS_ALLOWED_NETWORKS": env("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128"),
        # ... or any client sending `Authorization: Bearer <token>`; empty: no token is accepted.
        "METRICS_TOKEN": env("METRICS_TOKEN", ""),
    }
