"""Transports of the notification outbox: e-mail over SMTP (smtplib) and SMS through an adapter.

Configuration (environment, or the same keys without ROADCHIEF_ in the app config):

* ``ROADCHIEF_SMTP_HOST``, ``_PORT`` (25), ``_USER``, ``_PASSWORD``, ``_FROM``, ``_STARTTLS`` (1/0)
* ``ROADCHIEF_SMS_TRANSPORT``: ``file:PATH`` appends one JSON line per message to PATH (a gateway
  script or a test reads it), ``log`` writes it to the application log (default). A real SMS
  gateway is a class with ``send(address, subject, body)`` registered in :data:`SMS_ADAPTERS`.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

log = logging.getLogger("roadchief.notifications")


class SendError(Exception):
    """A message could not be sent (kept on the outbox row as last_error)."""


def _setting(name: str, default: str = "") -> str:
    try:
        from flask import current_app

        value = current_app.config.get(name)
    except RuntimeError:
        value = None
    if value in (None, ""):
        value = os.environ.get(f"ROADCHIEF_{name}", "")
    return str(value) if value not in (None, "") else default


class SmtpTransport:
    def __init__(self, host: str, port: int = 25, user: str = "", password: str = "", sender: str = "", starttls=False):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.sender, self.starttls = sender or "roadchief@localhost", starttls

    @classmethod
    def from_settings(cls) -> SmtpTransport:
        return cls(
            _setting("SMTP_HOST"),
            int(_setting("SMTP_PORT", "25")),
            _setting("SMTP_USER"),
            _setting("SMTP_PASSWORD"),
            _setting("SMTP_FROM"),
            _setting("SMTP_STARTTLS", "0").lower() in ("1", "true", "yes"),
        )

    def send(self, address: str, subject: str, body: str) -> None:
        if not self.host:
            raise SendError("未配置 SMTP 服务器（ROADCHIEF_SMTP_HOST）")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, address, subject
        message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid("roadchief")
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=15) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


class FileSms:
    """Appends {"to", "text"} JSON lines to a file (ROADCHIEF_SMS_TRANSPORT=file:PATH)."""

    def __init__(self, path: str):
        self.path = Path(path)

    def send(self, address: str, subject: str, body: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"to": address, "text": f"【路长制】{body}"}, ensure_ascii=False) + "\n")


class LogSms:
    """Writes the SMS to the application log (ROADCHIEF_SMS_TRANSPORT=log, the default)."""

    def send(self, address: str, subject: str, body: str) -> None:
        log.info("SMS to %s: %s", address, body)


SMS_ADAPTERS = {"file": FileSms, "log": LogSms}


def sms_transport():
    spec = _setting("SMS_TRANSPORT", "log")
    kind, _, argument = spec.partition(":")
    if kind not in SMS_ADAPTERS:
        raise SendError(f"未知短信通道：{spec}（可用 file:路径 或 log）")
    if kind == "file":
        if not argument:
            raise SendError("ROADCHIEF_SMS_TRANSPORT=file: 须给出文件路径")
        return FileSms(argument)
    return LogSms()


class _Broken:
    def __init__(self, error: str):
        self.error = error

    def send(self, address: str, subject: str, body: str) -> None:
        raise SendError(self.error)


def configured() -> dict:
    """The channel → transport map from the settings."""
    try:
        sms = sms_transport()
    except SendError as error:
        sms = _Broken(str(error))
    return {"email": SmtpTransport.from_settings(), "sms": sms}
