"""What a step works with: the event, the person's persisted state, the services, and the replies.

A step is `async def step(ctx) -> None`: it reads `ctx.event` and `ctx.state`, may change the state
(`ctx.goto`) and the database (`ctx.session`), and appends replies (`ctx.show`, `ctx.say`, ...). The
router persists everything in one transaction, so a step never half-happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.campaign import Campaign
from conversations.clock import Clock
from conversations.events import (
    GLOBAL_MARK,
    Button,
    Edit,
    FileRef,
    Inbound,
    Keyboard,
    Outbound,
    Reply,
    Toast,
    global_button,
    keyboard,
)
from conversations.i18n import Catalog
from storage.files import DocumentStore
from storage.models import AuditLog

# Scoped buttons are written with this placeholder and stamped with the screen's final nonce when the
# turn ends, so a step may build buttons before or after it moves on.
NONCE_MARK = "~"


class FileFetcher(Protocol):
    async def __call__(self, file: FileRef) -> bytes: ...


class BindingQrs(Protocol):
    async def __call__(self, scenes: list[str]) -> list[str | None]: ...


@dataclass
class Services:
    campaign: Campaign
    clock: Clock
    catalog: Catalog
    store: DocumentStore
    fetch_file: FileFetcher | None = None
    admin_ids: frozenset[str] = frozenset()
    review_chat: str | None = None
    # The review chat's platform when it differs from the deciding person's ("telegram:-100…" in settings):
    # a WeChat official account has no group chats, so its labs' alerts go to a Telegram group.
    review_platform: str | None = None
    # Group-robot platforms with a webhook configured ("wecom", "dingtalk", "feishu"): reviewer alerts are
    # queued for them too (bot.group_robots delivers them).
    group_robots: frozenset[str] = frozenset()
    # Files above this are refused before any download (Telegram's getFile limit).
    max_download: int = 20 * 1024 * 1024
    # Reading documents at upload (storage.reading); off unless the app turns it on (EQA_READING).
    reading: bool = False
    reading_timeout: float = 12.0  # seconds; past it the upload proceeds unread
    # WeChat binding QR codes, when the official account is configured: scenes ("HN0001_CODE") in, each
    # QR's content URL out (None where WeChat refused one), for the binding-code sheet.
    binding_qrs: BindingQrs | None = None


@dataclass(frozen=True)
class Actor:
    """Who sent the event, as established by the server for this very update."""

    platform: str
    user_id: str
    chat_id: str
    name: str | None = None
    is_admin: bool = False
    is_reviewer: bool = False
    lab_id: int | None = None
    contact_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.is_admin or self.is_reviewer

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass
class ChatState:
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    nonce: int = 1


@dataclass
class Ctx:
    event: Inbound
    state: ChatState
    session: AsyncSession
    services: Services
    actor: Actor
    lang: str
    out: list[Outbound] = field(default_factory=list)
    # Set when the step already answered the button press itself (otherwise the router sends an empty
    # answer so the client stops its spinner).
    answered: bool = False
    # A file the router downloaded before the transaction began (None when none was wanted).
    prefetched: bytes | None = None
    # What the step's heavy work computed before the transaction (conversations.flow.Prepare).
    prepared: dict[str, Any] = field(default_factory=dict)
    file_too_big: bool = False
    # Domain events for the outer ring (e.g. "enrollment_submitted"): the reviewer desk listens, so the
    # flows need not know who reacts.
    signals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Rows a step reads several times within one turn (e.g. the enrollment), to save round trips.
    memo: dict[str, Any] = field(default_factory=dict)
    _edited: bool = False
    _notes: list[str] = field(default_factory=list)

    # -- facts -----------------------------------------------------------------------------------------
    @property
    def campaign(self) -> Campaign:
        return self.services.campaign

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def closed(self) -> bool:
        return self.campaign.is_closed(self.now)

    def t(self, key: str, /, **args: Any) -> str:
        return self.services.catalog.t(self.lang, key, **args)

    # -- state -----------------------------------------------------------------------------------------
    def goto(self, flow: str | None, step: str | None = None, data: Mapping[str, Any] | None = None) -> None:
        """Move to another screen. Buttons of earlier screens stop working."""
        self.state.flow, self.state.step = flow, step
        if data is not None:
            self.state.data = dict(data)
        elif flow is None:
            self.state.data = {}
        self.state.nonce += 1

    def end(self) -> None:
        self.goto(None)

    # -- buttons ---------------------------------------------------------------------------------------
    def btn(self, label: str, action: str, arg: str = "") -> Button:
        """A button of the current screen (it stops working once the person moves on)."""
        return Button(label, f"{NONCE_MARK}:{action}:{arg}")

    @staticmethod
    def gbtn(label: str, action: str, arg: str = "") -> Button:
        """A button that works whenever it is pressed (menus, FAQ topics, reviewer decisions)."""
        return global_button(label, action, arg)

    # -- replies ---------------------------------------------------------------------------------------
    def note(self, text: str) -> None:
        """A line to put on top of the next message (e.g. "step 1 saved" above the step 2 screen)."""
        self._notes.append(text)

    def _with_notes(self, text: str) -> str:
        if not self._notes:
            return text
        text = "\n\n".join([*self._notes, text])
        self._notes.clear()
        return text

    def say(self, text: str, buttons: Keyboard | list[list[Button]] = (), *, secret: bool = False) -> None:
        """A new message. `secret`: it carries a secret (a binding code), redacted from the outbox once sent."""
        self.out.append(Reply(self._with_notes(text), _kb(buttons), secret=secret))

    def show(self, text: str, buttons: Keyboard | list[list[Button]] = ()) -> None:
        """Show a screen: edit the message whose button was pressed, or send a new one."""
        text = self._with_notes(text)
        kb = _kb(buttons)
        if self.event.kind == "button" and self.event.message_id and not self._edited:
            self.out.append(Edit(self.event.message_id, text, kb))
            self._edited = True
        else:
            self.out.append(Reply(text, kb))

    def below(self) -> None:
        """Answer in new messages: the message whose button was pressed stays as it is (a return notice
        keeps the centre's reasons in view)."""
        self._edited = True

    def toast(self, text: str = "", *, alert: bool = False) -> None:
        if self.event.callback_id and not self.answered:
            self.out.append(Toast(self.event.callback_id, text, alert))
            self.answered = True

    def signal(self, name: str, **data: Any) -> None:
        self.signals.append((name, data))

    def send(self, action: Outbound) -> None:
        self.out.append(action)

    def push(self, action: Outbound) -> None:
        """Send to another chat (the action names its chat_id and platform)."""
        if getattr(action, "chat_id", None) is None:
            raise ValueError("a push needs its destination chat")
        self.out.append(action)

    # -- files and records -----------------------------------------------------------------------------
    async def download(self) -> bytes:
        if self.prefetched is not None:
            return self.prefetched
        if self.event.file is None or self.services.fetch_file is None:
            raise RuntimeError("no file to download")
        return await self.services.fetch_file(self.event.file)

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: object = None,
        *,
        lab_id: int | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditLog(
                at=self.now,
                actor=self.actor.ref,
                action=action,
                entity=entity,
                entity_id=None if entity_id is None else str(entity_id),
                lab_id=lab_id,
                before=_jsonable(before),
                after=_jsonable(after),
            )
        )


def _kb(buttons: Keyboard | list[list[Button]]) -> Keyboard:
    return buttons if isinstance(buttons, tuple) else keyboard(*buttons)


def _jsonable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in value.items()}


StepFn = Callable[[Ctx], Awaitable[None]]
TextFn = Callable[[Ctx, str], Awaitable[None]]
ButtonFn = Callable[[Ctx, str, str], Awaitable[None]]


def parse_button(data: str) -> tuple[str, int | None, str, str] | None:
    """Split button data into (scope, nonce, action, arg); None when it is not ours."""
    parts = data.split(":", 2)
    if len(parts) != 3:
        return None
    scope, action, arg = parts
    if scope == GLOBAL_MARK:
        return GLOBAL_MARK, None, action, arg
    if scope.isdigit():
        return "screen", int(scope), action, arg
    return None


def stamp_nonce(action: Outbound, nonce: int) -> Outbound:
    """Replace the placeholder in scoped buttons with the screen's nonce."""
    if isinstance(action, Toast) or not getattr(action, "buttons", ()):
        return action
    prefix = f"{NONCE_MARK}:"
    rows = tuple(
        tuple(
            Button(b.label, f"{nonce}:{b.data[len(prefix) :]}") if b.data and b.data.startswith(prefix) else b
            for b in row
        )
        for row in action.buttons  # type: ignore[union-attr]
    )
    return replace(action, buttons=rows)  # type: ignore[type-var]
