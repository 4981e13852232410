"""`eqa-bot demo --look wechat`: the console demo, rendered as the official account would show it — a turn's
replies merged into as few messages as WeChat's reply quota wants, buttons as numbered menus (type the
number), files as links, pure keyboard refreshes dropped — so the rules are visible without an account."""

from __future__ import annotations

from datetime import timedelta

from bot.console import Console, _Chat, _Message
from bot.wechat.links import LinkSigner
from bot.wechat.render import Wire, plan
from conversations.events import Button, Outbound, Outcome, Toast

_DEMO_LINKS = LinkSigner(b"demo only", "http://127.0.0.1:8080")


class WeChatLook(Console):
    async def _deliver(self, outcome: Outcome) -> None:
        chats: dict[str, list[tuple[int, Outbound]]] = {}
        for row_id, action in outcome.deliveries:
            if not isinstance(action, Toast):
                chats.setdefault(str(getattr(action, "chat_id", "")), []).append((row_id, action))
        t = self.app.services.catalog.t
        now = self.app.services.clock.now()
        for chat_id, rows in chats.items():
            chat = self.chats.setdefault(chat_id, _Chat())
            rendered = plan(
                rows,
                link=lambda f: _DEMO_LINKS.url(f.stored or "(in memory)", f.filename, f.mime, now, timedelta(days=3)),
                tail=t("zh", "wx-menu-tail"),
                document_line=lambda name, url: t("zh", "wx-file-link", name=name, url=url),
            )
            for n, wire in enumerate(rendered.wires, 1):
                text = self._bubble(wire, n, len(rendered.wires))
                if chat_id == self.persona.chat_id:
                    self.print(text)
                else:
                    chat.unread.append(text)
            if rendered.menu is not None:
                mid, items = rendered.menu
                chat.messages.append(_Message(mid, "", ((*(Button(d[:60] or "-", d) for d in items),),)))
        await self.app.core.mark_sent([i for i, _ in outcome.deliveries])

    def _bubble(self, wire: Wire, n: int, total: int) -> str:
        t = self.app.services.catalog.t
        head = "┌─ " + t("zh", "wx-look-bubble", n=n, total=total)
        if wire.kind == "image":
            return f"{head}\n│ 🖼 " + t("zh", "wx-look-image", name=wire.file.filename if wire.file else "") + "\n└─"
        body = wire.body("demo")
        if body["msgtype"] == "msgmenu":
            menu = body["msgmenu"]
            lines = [menu["head_content"], *(i["content"] for i in menu["list"]), menu["tail_content"]]  # type: ignore[index]
        else:
            lines = [body["text"]["content"]]  # type: ignore[index]
        text = "\n".join(lines)
        return "\n".join(
            [
                head,
                *("│ " + line for line in text.splitlines()),
                "└─ " + t("zh", "wx-look-bytes", size=len(text.encode())),
            ]
        )
