"""The public base address (ROADCHIEF_PUBLIC_BASE_URL) printed on 公示牌 QR codes and on
account slips: a warning when it is a loopback address, which no phone can reach."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import current_app


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def is_loopback(url: str) -> bool:
    """127.0.0.0/8, ::1, localhost (and *.localhost) — or no host at all."""
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").strip("[]").lower()
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_warning(url: str | None = None) -> str | None:
    """The Chinese warning to show when the public address is a loopback one, else None."""
    url = url if url is not None else base_url()
    if not is_loopback(url):
        return None
    return (
        f"注意：对外访问地址（ROADCHIEF_PUBLIC_BASE_URL）是本机回环地址 {url}，"
        "印在公示牌二维码和账号通知单上的网址在群众和路长的手机上打不开。"
        "请先把它设为对外可访问的网址（如 https://lz.qtx.gov.cn）再打印。"
    )
