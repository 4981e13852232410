"""A small HTTP control API under ``/_fake/`` for manual use (curl) and cross-process drivers.

GET  /_fake/calls[?method=sendMessage]         recorded calls
GET  /_fake/chats/{chat_id}/messages           the bot's messages in a chat (current state)
POST /_fake/users/{user_id}/text     {"text": "hi", "first_name": "..."}
POST /_fake/users/{user_id}/command  {"command": "start", "payload": null}
POST /_fake/users/{user_id}/press    {"label": "OK", "substring": false}
POST /_fake/updates                  a raw Update (inject_update)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .server import FakeTelegram


def _call_json(c: Any) -> dict[str, Any]:
    return {
        "method": c.method,
        "params": {k: repr(v) if isinstance(v, bytes) else v for k, v in c.params.items()},
        "status": c.status,
        "error": c.error,
        "time": c.time,
        "encoding": c.encoding,
    }


async def handle_control(tg: FakeTelegram, request: web.Request) -> web.StreamResponse:
    path = request.path.removeprefix("/_fake")
    dumps = _json_dumps
    try:
        if request.method == "GET" and path == "/calls":
            calls = tg.calls(request.query.get("method"))
            return web.json_response([_call_json(c) for c in calls], dumps=dumps)
        m = re.fullmatch(r"/chats/(-?\d+)/messages", path)
        if request.method == "GET" and m:
            return web.json_response([bm.raw for bm in tg.bot_messages(int(m[1]))], dumps=dumps)
        body: dict[str, Any] = await request.json() if request.can_read_body else {}
        if request.method == "POST" and path == "/updates":
            return web.json_response({"update_id": tg.inject_update(body)})
        m = re.fullmatch(r"/users/(\d+)/(text|command|press)", path)
        if request.method == "POST" and m:
            user = tg.user(int(m[1]), body.get("first_name", "Test"), language_code=body.get("language_code", "en"))
            if m[2] == "text":
                return web.json_response(await user.send_text(body["text"]), dumps=dumps)
            if m[2] == "command":
                return web.json_response(await user.send_command(body["command"], body.get("payload")), dumps=dumps)
            qid = await user.press(body["label"], substring=bool(body.get("substring")))
            return web.json_response({"callback_query_id": qid})
    except (LookupError, ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"error": "unknown control endpoint"}, status=404)


def _json_dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, default=repr)
