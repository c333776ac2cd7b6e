"""Configuration from the environment; the embedded default is an SQLite file in instance/."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/ and reused."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


def engine_options(database_url: str) -> dict[str, object]:
    """The connection pool of one process (README, "Production": size it for N web + M job workers).

    Each gunicorn sync worker and each Celery worker process has its own pool; a request or a job item holds one
    connection for its transaction, so DATABASE_POOL_SIZE is the number of threads that work at once in one
    process (1 for sync workers and prefork Celery children; the default 5 suits gthread workers), and
    DATABASE_MAX_OVERFLOW the extra connections it may open in a burst, closed again when returned. A process
    that waits DATABASE_POOL_TIMEOUT seconds for a connection fails the request. pool_pre_ping checks a pooled
    connection before handing it out (one light round trip per checkout) so a database restart or a dropped idle
    connection costs a reconnect, not a 500; DATABASE_POOL_PRE_PING=0 turns it off when the network is reliable.
    Connections are replaced after DATABASE_POOL_RECYCLE seconds (below any firewall's idle cut-off)."""
    options: dict[str, object] = {"pool_pre_ping": os.environ.get("DATABASE_POOL_PRE_PING", "1") != "0"}
    if not database_url.startswith("sqlite"):
        options.update(pool_size=_int_env("DATABASE_POOL_SIZE", 5),
                       max_overflow=_int_env("DATABASE_MAX_OVERFLOW", 5),
                       pool_timeout=_int_env("DATABASE_POOL_TIMEOUT", 30),
                       pool_recycle=_int_env("DATABASE_POOL_RECYCLE", 1800))
    threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "").strip().lower()
    if threshold and database_url.startswith("postgresql+psycopg"):
        # psycopg prepares a statement server-side after this many uses on a connection; "none" never (PgBouncer).
        options["connect_args"] = {"prepare_threshold": None if threshold == "none"
                                   else _int_env("DATABASE_PREPARE_THRESHOLD", 5)}
    return options


def build_config(instance_path: Path, overrides: dict[str, object] | None = None) -> dict[str, object]:
    instance_path.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'zhiping.db'}"
    config: dict[str, object] = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        "UPLOAD_FOLDER": str(Path(os.environ.get("UPLOAD_FOLDER", instance_path / "uploads"))),
        "ADMIN_CONFIG_DIR": str(Path(__file__).resolve().parent.parent / "admin_config"),
        # A10: lock sign-in for 15 minutes after 5 consecutive failures.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 15,
        # Signed-in sessions end after this long without a request, and this long after sign-in in any case.
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(os.environ.get("SESSION_MAX_HOURS", "8")),
        "PAGE_SIZE": 20,
        # An export of more rows than this runs as a background job instead of inside the request.
        "EXPORT_INLINE_ROWS": int(os.environ.get("EXPORT_INLINE_ROWS", "3000")),
        # Background jobs (services/jobs): the embedded broker is kombu's SQLAlchemy transport on SQLite files in
        # instance/; production sets Redis or RabbitMQ (README, "Production").
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL")
        or f"sqla+sqlite:///{instance_path / 'celery-broker.sqlite'}",
        "CELERY_RESULT_BACKEND": os.environ.get("CELERY_RESULT_BACKEND")
        or f"db+sqlite:///{instance_path / 'celery-results.sqlite'}",
        "CELERY_TASK_ALWAYS_EAGER": os.environ.get("CELERY_TASK_ALWAYS_EAGER") == "1",
        "CELERY_QUEUE": os.environ.get("CELERY_QUEUE", "zhiping"),
        # A running job whose heartbeat is older than this is taken for dead and run again by another worker;
        # a job queued for longer than JOB_REQUEUE_SECONDS is queued again (its message was lost).
        "JOB_STALE_SECONDS": int(os.environ.get("JOB_STALE_SECONDS", "300")),
        "JOB_REQUEUE_SECONDS": int(os.environ.get("JOB_REQUEUE_SECONDS", "600")),
        "WORKFLOW_TICK_SECONDS": int(os.environ.get("WORKFLOW_TICK_SECONDS", "30")),
        "HISTORY_RISK_CHECK": os.environ.get("HISTORY_RISK_CHECK", ""),
        # Notifications (services/notifications): beat sends what is pending this often; e-mail goes through SMTP
        # when SMTP_HOST is set (else it is only logged); SMS through NOTIFY_SMS_SENDER ("log" or "module:Class").
        "NOTIFY_DELIVER_SECONDS": int(os.environ.get("NOTIFY_DELIVER_SECONDS", "15")),
        "NOTIFY_MAX_ATTEMPTS": int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "5")),
        "NOTIFY_SMS_SENDER": os.environ.get("NOTIFY_SMS_SENDER", "log"),
        # 消息推送 to more recipients than this runs as a background job (services/messages).
        "MESSAGE_INLINE_RECIPIENTS": int(os.environ.get("MESSAGE_INLINE_RECIPIENTS", "500")),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_SECURITY": os.environ.get("SMTP_SECURITY", ""),  # "" (plain), "starttls" or "ssl"
        "SMTP_FROM": os.environ.get("SMTP_FROM", "noreply@zhiping.local"),
        "SMTP_FROM_NAME": os.environ.get("SMTP_FROM_NAME", "职称评审管理平台"),
        "SMTP_TIMEOUT": int(os.environ.get("SMTP_TIMEOUT", "20")),
        # The address the certificates' QR codes point to (/verify/<code>); jobs have no request to read it from.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # 电子证照 证照类型代码 (GB/T 36904) in the certificates' identifier; empty: no identifier is issued.
        "CERTIFICATE_LICENSE_TYPE": os.environ.get("CERTIFICATE_LICENSE_TYPE", "ZCZS"),
    }
    if overrides:
        config.update(overrides)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance_path)
    return config
