"""What both Telegram transports share: updates → Inbound, menus, errors (no network)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.delivery import Blocked, Rejected, RetryAfter, Transient
from bot.telegram.common import derived_webhook_secret, webhook_secret_ok
from bot.telegram.errors import delivery_error, is_not_modified, needs_new_message
from bot.telegram.inbound import api_chat_id, chat_key, is_group, update_to_inbound
from bot.telegram.menus import catalog_describer, command_menus
from conversations.i18n import catalog

USER = {"id": 42, "is_bot": False, "first_name": "王", "last_name": "检验", "language_code": "zh-hans"}
PRIVATE = {"id": 42, "type": "private", "first_name": "王"}
GROUP = {"id": -100123, "type": "supergroup", "title": "审核群"}


def message(chat: dict[str, Any] = PRIVATE, **content: Any) -> dict[str, Any]:
    return {"update_id": 7, "message": {"message_id": 3, "date": 0, "chat": chat, "from": USER, **content}}


def test_text_carries_who_where_and_language() -> None:
    ev = update_to_inbound(message(text="你好"))
    assert ev is not None
    assert (ev.kind, ev.text, ev.update_id, ev.chat_id, ev.user_id) == ("text", "你好", "7", "42", "42")
    assert (ev.platform, ev.language, ev.user_name, ev.chat_type) == ("telegram", "zh-hans", "王 检验", "private")


@pytest.mark.parametrize(
    ("text", "command", "args"),
    [
        ("/start", "start", ""),
        ("/start BIND-abc_123", "start", "BIND-abc_123"),
        ("/Status@EQA_test_bot", "status", ""),
        ("/lang@eqa_test_bot   en ", "lang", "en"),
        ("/faq 费用\n怎么交", "faq", "费用\n怎么交"),
    ],
)
def test_commands(text: str, command: str, args: str) -> None:
    ev = update_to_inbound(message(text=text), "eqa_test_bot")
    assert ev is not None and (ev.kind, ev.command, ev.args, ev.text) == ("command", command, args, text)


def test_a_command_for_another_bot_is_not_ours() -> None:
    assert update_to_inbound(message(GROUP, text="/start@other_bot"), "eqa_test_bot") is None
    assert update_to_inbound(message(text="/ start"), "eqa_test_bot").kind == "text"  # type: ignore[union-attr]
    assert update_to_inbound(message(text="/start/x"), "eqa_test_bot").kind == "text"  # type: ignore[union-attr]


def test_callback_query() -> None:
    update = {
        "update_id": 9,
        "callback_query": {
            "id": "4000000000123",
            "from": USER,
            "chat_instance": "1",
            "data": "3:pick:7",
            "message": {"message_id": 55, "date": 0, "chat": GROUP, "text": "x"},
        },
    }
    ev = update_to_inbound(update)
    assert ev is not None
    assert (ev.kind, ev.button, ev.message_id, ev.callback_id) == ("button", "3:pick:7", "55", "4000000000123")
    assert (ev.chat_id, ev.user_id, ev.chat_type) == ("-100123", "42", "supergroup")
    assert chat_key(update) == "-100123"
    del update["callback_query"]["data"]
    assert update_to_inbound(update) is None  # a game button


def test_photo_is_the_largest_size_and_documents_keep_their_details() -> None:
    sizes = [
        {"file_id": "s", "file_unique_id": "us", "width": 90, "height": 67, "file_size": 1000},
        {"file_id": "l", "file_unique_id": "ul", "width": 1280, "height": 960, "file_size": 90000},
        {"file_id": "m", "file_unique_id": "um", "width": 320, "height": 240, "file_size": 9000},
    ]
    ev = update_to_inbound(message(photo=sizes, caption="许可证", media_group_id="g1"))
    assert ev is not None and ev.kind == "photo" and ev.file is not None
    assert (ev.file.file_id, ev.file.size, ev.file.width, ev.file.height) == ("l", 90000, 1280, 960)
    assert (ev.text, ev.media_group_id) == ("许可证", "g1")
    doc = {
        "file_id": "d",
        "file_unique_id": "ud",
        "file_name": "协议.pdf",
        "mime_type": "application/pdf",
        "file_size": 5,
    }
    ev = update_to_inbound(message(document=doc))
    assert ev is not None and ev.kind == "document" and ev.file is not None
    assert (ev.file.name, ev.file.mime, ev.file.size) == ("协议.pdf", "application/pdf", 5)


def test_what_is_not_for_the_core() -> None:
    assert update_to_inbound({"update_id": 1, "edited_message": message(text="x")["message"]}) is None
    assert update_to_inbound(message(GROUP, new_chat_members=[USER])) is None
    assert update_to_inbound(message(GROUP, sticker={"file_id": "s"})) is None
    sticker = update_to_inbound(message(sticker={"file_id": "s"}))
    assert sticker is not None and (sticker.kind, sticker.text) == ("text", "")  # answered: please type
    contact = update_to_inbound(message(contact={"phone_number": "+8613800138000", "first_name": "王"}))
    assert contact is not None and contact.text == "+8613800138000"
    bot_user = {**USER, "is_bot": True}
    assert update_to_inbound({"update_id": 2, "message": {**message(text="x")["message"], "from": bot_user}}) is None


def test_chat_ids() -> None:
    assert api_chat_id("-100123") == -100123 and api_chat_id("@channel") == "@channel"
    assert is_group("-100123") and not is_group("42")


def test_menus_for_contacts_and_reviewers_in_both_languages() -> None:
    registered = {"start": "anyone", "status": "anyone", "faq": "anyone", "queue": "staff", "export": "admin"}
    describe = catalog_describer(catalog())
    menus = command_menus(registered, review_chat="-100123", staff_chats=["9001", "-100123"], describe=describe)
    by_scope: dict[str, dict[str | None, list[str]]] = {}
    for m in menus:
        by_scope.setdefault(str(m.scope), {})[m.language_code] = [c for c, _ in m.commands]
    assert set(by_scope) == {
        "{'type': 'default'}",
        "{'type': 'chat', 'chat_id': -100123}",
        "{'type': 'chat', 'chat_id': 9001}",
    }
    assert by_scope["{'type': 'default'}"][None] == ["start", "status", "faq"]
    assert by_scope["{'type': 'chat', 'chat_id': 9001}"]["en"] == ["start", "status", "faq", "export", "queue"]
    english = next(m for m in menus if m.language_code == "en" and m.scope == {"type": "default"})
    chinese = next(m for m in menus if m.language_code is None and m.scope == {"type": "default"})
    assert dict(english.commands)["status"].isascii() and not dict(chinese.commands)["status"].isascii()
    described = command_menus(registered, review_chat=None, staff_chats=[], describe=lambda lang, n: f"{lang}:{n}")
    assert dict(described[0].commands)["faq"] == "zh:faq"


def test_errors_map_to_delivery_errors() -> None:
    assert isinstance(delivery_error("retry_after", "Too Many Requests", 3), RetryAfter)
    assert delivery_error("retry_after", "x", 3).seconds == 3  # type: ignore[attr-defined]
    assert isinstance(delivery_error("forbidden", "Forbidden: bot was blocked by the user"), Blocked)
    assert isinstance(delivery_error("bad_request", "Bad Request: chat not found"), Rejected)
    assert isinstance(delivery_error("network", "timed out"), Transient)
    assert isinstance(delivery_error("server", "Bad Gateway"), Transient)
    assert is_not_modified("Bad Request: message is not modified: specified new message content ...")
    assert needs_new_message("Bad Request: there is no text in the message to edit")


def test_webhook_secret() -> None:
    assert (
        webhook_secret_ok("abc", "abc") and not webhook_secret_ok("abd", "abc") and not webhook_secret_ok(None, "abc")
    )
    secret = derived_webhook_secret("123:token")
    assert secret == derived_webhook_secret("123:token") != derived_webhook_secret("124:token")
    assert "token" not in secret and len(secret) == 64
