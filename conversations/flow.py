"""Flows as small sets of named steps, and the registry the router looks them up in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.context import ButtonFn, Ctx, Services, StepFn, TextFn
from conversations.events import FileRef, Inbound


@dataclass(frozen=True)
class Prepare:
    """What a step's heavy work sees. It runs before the event's transaction (so no database lock is held
    while an image is decoded or a workbook read) and may run again should the transaction be retried; it
    must only compute. Its result reaches the step as ``ctx.prepared``; the step checks everything again."""

    event: Inbound
    services: Services
    step: str  # the sender's current step (or the command's name)
    files: tuple[tuple[FileRef, bytes], ...]  # the event's file(s), downloaded
    is_admin: bool
    is_staff: bool
    lang: str
    now: datetime
    # A note to the sender while the work goes on (queued in its own short transaction).
    notify: Callable[[str], Awaitable[None]]
    # A read-only session (never a write transaction: on SQLite that would hold the only write lock).
    reading: Callable[[], AbstractAsyncContextManager[AsyncSession]]
    # The sender's lab, if they are its active contact (what the step will see as `ctx.actor.lab_id`).
    lab_id: int | None = None


PrepareFn = Callable[[Prepare], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Step:
    """One screen of a flow. `show` renders it; the others take the person's answer, if the step
    expects that kind of answer at all."""

    show: StepFn
    on_text: TextFn | None = None
    on_file: StepFn | None = None
    on_button: ButtonFn | None = None
    # An album (several files at once) handled as a whole; without it each file goes to on_file.
    on_album: StepFn | None = None
    # Heavy work on the event's files done before its transaction (pre-checks, reading a workbook).
    prepare: PrepareFn | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    first: str
    steps: Mapping[str, Step] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.first not in self.steps:
            raise ValueError(f"flow {self.name}: first step {self.first!r} is not defined")


REGISTRY: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    if flow.name in REGISTRY:
        raise ValueError(f"flow {flow.name!r} registered twice")
    REGISTRY[flow.name] = flow
    return flow


def current_step(ctx: Ctx) -> Step | None:
    flow = REGISTRY.get(ctx.state.flow or "")
    if flow is None:
        return None
    return flow.steps.get(ctx.state.step or flow.first)


async def start(ctx: Ctx, flow_name: str, step: str | None = None, data: Mapping[str, object] | None = None) -> None:
    """Enter a flow at its first (or the given) step and show that screen."""
    flow = REGISTRY[flow_name]
    ctx.goto(flow.name, step or flow.first, data if data is not None else {})
    await flow.steps[step or flow.first].show(ctx)


async def go(ctx: Ctx, step: str) -> None:
    """Move to another step of the current flow and show it."""
    flow = REGISTRY[ctx.state.flow or ""]
    ctx.goto(flow.name, step, ctx.state.data)
    await flow.steps[step].show(ctx)
