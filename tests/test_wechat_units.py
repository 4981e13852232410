"""The WeChat pieces on their own: rendering under WeChat's rules, signed file links, reading messages into
neutral events, platform-qualified admin ids, the demo's WeChat look, and settings without Telegram."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App, split_chat
from bot.wechat import protocol
from bot.wechat.links import LinkSigner
from bot.wechat.render import MAX_BYTES, message_id, plan, split_text
from conversations.events import Button, Edit, FileOut, Reply, SendDocument, SendPhoto, keyboard
from handlers.roles import is_settings_admin

NOW = datetime(2025, 2, 10, 2, 0, tzinfo=UTC)


def link(f: FileOut) -> str:
    return f"https://eqa.example.cn/f/{f.filename}"


# -- rendering ---------------------------------------------------------------------------------------------
def test_a_turn_is_merged_into_one_message_with_one_numbered_menu() -> None:
    p = plan(
        [
            (1, Reply("第一步已保存。")),
            (2, Reply("第二步：请输入电话。", keyboard([Button("下一步", "~:next:"), Button("返回", "~:back:")]))),
        ],
        link=link,
        tail="回复数字",
    )
    assert len(p.wires) == 1
    body = p.wires[0].body("o1")
    assert body["msgtype"] == "msgmenu"
    menu = body["msgmenu"]
    assert "第一步已保存。" in menu["head_content"] and "第二步" in menu["head_content"]  # type: ignore[index]
    assert [i["content"] for i in menu["list"]] == ["1. 下一步", "2. 返回"]  # type: ignore[index]
    assert p.wires[0].rows == [1, 2] and p.menu == (message_id("第二步：请输入电话。"), ["~:next:", "~:back:"])


def test_edits_send_only_changed_text_and_a_keyboard_refresh_only_updates_the_numbers() -> None:
    shown = "请勾选项目"
    same = plan([(5, Edit(message_id(shown), shown, keyboard([Button("☑ K 钾", "3:t:K")])))], link=link, tail="")
    assert same.wires == [] and same.dropped == [5] and same.menu == (message_id(shown), ["3:t:K"])
    changed = plan([(6, Edit(message_id(shown), "已选 1 项", ()))], link=link, tail="")
    assert len(changed.wires) == 1 and changed.wires[0].text == "已选 1 项"


def test_long_texts_are_split_under_2048_bytes_and_long_menus_become_numbered_text() -> None:
    text = "\n".join(f"第 {n} 行：临床常规化学、全血细胞计数、临床免疫学、临床微生物学" for n in range(100))
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p.encode()) <= MAX_BYTES for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    one_line = "检" * 3000  # a single line longer than a message
    assert all(len(p.encode()) <= MAX_BYTES for p in split_text(one_line)) and "".join(split_text(one_line)) == one_line
    many = keyboard(*[[Button(f"专业 {n}", f"g:s:{n}")] for n in range(16)])
    p = plan([(1, Reply(text, many))], link=link, tail="回复数字")
    assert all(len(str(w.body("o1")).encode()) < 2048 * 2 for w in p.wires)
    last = p.wires[-1].body("o1")
    assert last["msgtype"] == "text" and "16. 专业 15" in last["text"]["content"]  # type: ignore[index]
    assert len(last["text"]["content"].encode()) <= 2048  # type: ignore[index]
    assert p.menu is not None and len(p.menu[1]) == 16


def test_files_become_links_url_buttons_lines_and_photos_give_way_to_links_when_the_window_is_short() -> None:
    doc = SendDocument(FileOut("2025-缓交协议-HN0001.pdf", "application/pdf", stored="k" * 64), "请打印签字")
    photo = SendPhoto(FileOut("qr.png", "image/png", stored="p" * 64), "扫码")
    guide = Reply("操作指南", keyboard([Button("打开指南", url="https://example.cn/guide")]))
    p = plan([(1, doc), (2, photo), (3, guide)], link=link, tail="")
    assert [w.kind for w in p.wires] == ["image", "text"]
    assert "https://eqa.example.cn/f/2025-缓交协议-HN0001.pdf" in p.wires[-1].text
    assert "打开指南：https://example.cn/guide" in p.wires[-1].text
    short = plan([(1, doc), (2, photo), (3, guide)], link=link, tail="", budget=1)
    assert [w.kind for w in short.wires] == ["text"] and "qr.png" in short.wires[0].text


# -- file links --------------------------------------------------------------------------------------------
def test_file_links_expire_and_cannot_be_altered() -> None:
    signer = LinkSigner(b"secret", "https://eqa.example.cn")
    url = signer.url("a" * 64, "回执.pdf", "application/pdf", NOW)
    token = url.split("/wechat/file/")[1].split("/")[0]
    opened = signer.open(token, NOW + timedelta(days=1))
    assert opened is not None and opened.key == "a" * 64 and opened.filename == "回执.pdf"
    assert signer.open(token, NOW + timedelta(days=4)) is None  # expired
    body, mac = token.split(".")
    assert signer.open(body[:-2] + "xx." + mac, NOW) is None  # altered
    assert LinkSigner(b"other", "https://eqa.example.cn").open(token, NOW) is None


# -- reading messages --------------------------------------------------------------------------------------
def _msg(**fields: str) -> object:
    from wechatpy import parse_message

    base = {"ToUserName": "gh_1", "FromUserName": "o_x", "CreateTime": "1739152800"} | fields
    return parse_message("<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in base.items()) + "</xml>")


def test_messages_and_events_become_neutral_events() -> None:
    menu = {"mid": "wx1", "items": ["~:a:", "~:b:"]}
    assert protocol.to_event(_msg(MsgType="text", Content="2", MsgId="9"), menu).button == "~:b:"  # type: ignore[union-attr]
    assert protocol.to_event(_msg(MsgType="text", Content="3", MsgId="9"), menu).kind == "text"  # type: ignore[union-attr]
    tapped = protocol.to_event(_msg(MsgType="text", Content="1. 甲", bizmsgmenuid="1", MsgId="10"), menu)
    assert tapped.kind == "button" and tapped.button == "~:a:" and tapped.message_id == "wx1"  # type: ignore[union-attr]
    cmd = protocol.to_event(_msg(MsgType="text", Content="/status", MsgId="11"))
    assert cmd.kind == "command" and cmd.command == "status"  # type: ignore[union-attr]
    photo = protocol.to_event(_msg(MsgType="image", MediaId="M1", PicUrl="http://x/evil", MsgId="12"))
    assert photo.kind == "photo" and photo.file.file_id == "M1"  # type: ignore[union-attr]
    scan = protocol.to_event(_msg(MsgType="event", Event="subscribe", EventKey="qrscene_HN0001_ABCD2345"))
    assert scan.command == "start" and scan.args == "HN0001_ABCD2345"  # type: ignore[union-attr]
    assert scan.update_id == "ev:o_x:1739152800:subscribe_scan"  # type: ignore[union-attr]
    again = protocol.to_event(_msg(MsgType="event", Event="SCAN", EventKey="HN0001_ABCD2345"))
    assert again.args == "HN0001_ABCD2345"  # type: ignore[union-attr]
    click = protocol.to_event(_msg(MsgType="event", Event="CLICK", EventKey="btn:g:go:journey"))
    assert click.kind == "button" and click.button == "g:go:journey"  # type: ignore[union-attr]
    assert protocol.to_event(_msg(MsgType="event", Event="unsubscribe")).what == "unfollow"  # type: ignore[union-attr]
    for kind in ("voice", "video", "location", "link"):
        assert protocol.to_event(_msg(MsgType=kind, MsgId="13")).what == "unsupported"  # type: ignore[union-attr]
    assert protocol.opens(_msg(MsgType="event", Event="CLICK", EventKey="x")) == "event"
    assert protocol.opens(_msg(MsgType="text", Content="hi", MsgId="1")) == "message"


def test_admin_ids_are_platform_qualified() -> None:
    ids = frozenset({"wechat:o_admin", "telegram:123", "456"})
    assert is_settings_admin(ids, "wechat", "o_admin") and is_settings_admin(ids, "telegram", "123")
    assert is_settings_admin(ids, "telegram", "456")  # a bare number is Telegram's
    assert not is_settings_admin(ids, "wechat", "456") and not is_settings_admin(ids, "telegram", "o_admin")
    assert split_chat("telegram:-1001234") == ("-1001234", "telegram") and split_chat("-100") == ("-100", None)


async def test_the_demo_shows_the_wechat_look(app: App) -> None:
    from bot.demo_seed import seed_demo
    from bot.wechat.look import WeChatLook

    await seed_demo(app.db, app.services.clock.now())
    out = io.StringIO()
    look = WeChatLook(app, out=out)
    await look.handle_line("/start")
    shown = out.getvalue()
    assert "客服消息 1/1" in shown and "1. " in shown and "回复数字" in shown and "字节" in shown
    out.truncate(0)
    await look.handle_line("1")  # the first numbered item, typed
    assert "客服消息" in out.getvalue()


def test_a_wechat_only_deployment_needs_no_telegram_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    for name in ("TELEGRAM_BOT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/tmp")
    assert main(["run", "--transport", "wechat"]) == 2
    err = capsys.readouterr()
    assert "WECHAT_APP_ID" in err.err + err.out and "TELEGRAM" not in err.err + err.out
