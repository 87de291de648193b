"""Shared bits of the CLI: JSON input, actors, engine errors as clean exits."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from app.engine.errors import EngineError, FormValidationError
from app.services.audit import Actor


def parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"不是有效的 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise click.BadParameter("须为 JSON 对象")
    return value


def actor_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--as", "actor_name", required=True, help="办理人")(func)
    return click.option("--role", required=True, help="角色：单位 / 编办 / CONAC / 电子政务中心")(func)


def make_actor(actor_name: str, role: str) -> Actor:
    return Actor(name=actor_name, role=role, ip="cli")


def engine_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Show an engine refusal as a message and exit 1 instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FormValidationError as exc:
            for field, message in exc.errors.items():
                click.echo(f"  {field or '表单'}: {message}", err=True)
            raise SystemExit(1) from exc
        except EngineError as exc:
            click.echo(exc.message, err=True)
            raise SystemExit(1) from exc

    return wrapper


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
