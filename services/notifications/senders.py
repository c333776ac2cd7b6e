"""Pluggable senders: a channel ("email", "sms") maps to an object with `send(address, subject, body)`.

- E-mail: `SmtpEmailSender` builds a real `email.message.EmailMessage` (UTF-8 body; the Chinese subject and the
  sender's display name are RFC 2047 encoded by the SMTP policy) and sends it with `smtplib` (plain, STARTTLS
  or SSL, with login when a user name is set). Without SMTP_HOST the e-mail channel only logs.
- SMS: no provider is built in (each province contracts its own); `LoggingSender` is the default and
  NOTIFY_SMS_SENDER="package.module:Class" plugs in a class taking the Flask config.
A sender raises on failure; the delivery sweep records the error and retries.
"""

from __future__ import annotations

import importlib
import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, address: str, subject: str, body: str) -> None: ...


class LoggingSender:
    """Writes the message to the log instead of sending it (the default SMS sender; e-mail without SMTP_HOST)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, address: str, subject: str, body: str) -> None:
        log.info("notification via %s to %s: %s — %s", self.channel, address, subject, body)


def build_email(config: Mapping[str, Any], address: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(str(config["SMTP_FROM_NAME"]), addr_spec=str(config["SMTP_FROM"]))
    message["To"] = address
    message["Message-ID"] = make_msgid(domain=str(config["SMTP_FROM"]).rpartition("@")[2] or None)
    message.set_content(body)
    return message


class SmtpEmailSender:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def send(self, address: str, subject: str, body: str) -> None:
        config = self.config
        message = build_email(config, address, subject, body)
        host, port, timeout = str(config["SMTP_HOST"]), int(config["SMTP_PORT"]), int(config["SMTP_TIMEOUT"])
        security = str(config.get("SMTP_SECURITY") or "")
        smtp: smtplib.SMTP = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
                              if security == "ssl" else smtplib.SMTP(host, port, timeout=timeout))
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(str(config["SMTP_USERNAME"]), str(config["SMTP_PASSWORD"]))
            smtp.send_message(message)


def _plugged(spec: str, config: Mapping[str, Any]) -> Sender:
    module_name, _, class_name = spec.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    sender: Sender = cls(config)
    return sender


def sender_for(channel: str, config: Mapping[str, Any]) -> Sender:
    if channel == "email":
        return SmtpEmailSender(config) if config.get("SMTP_HOST") else LoggingSender("email")
    spec = str(config.get("NOTIFY_SMS_SENDER") or "log")
    return LoggingSender("sms") if spec == "log" else _plugged(spec, config)
