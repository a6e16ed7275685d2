"""Helpers every `roadchief` verb shares: error exit, JSON output, progress; imports nothing from the areas."""

from __future__ import annotations

import json
import sys

import click

from roadchief.services import ServiceError


def fail(error: ServiceError):
    click.echo(f"错误：{error}", err=True)
    for item in getattr(error, "errors", []) or []:
        click.echo(f"  {item}", err=True)
    sys.exit(1)


def echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def progress(done: int, total: int, stage: str = "") -> None:
    if total and (done == total or done % max(1, total // 20) == 0):
        click.echo(f"\r{stage} {done}/{total} ({done * 100 // total}%)", err=True, nl=done == total)
