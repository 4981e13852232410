"""A strict fake WeChat official-account API and the people who talk to the bot through it."""

from tests.fake_wechat.server import FakeWeChat, Sent
from tests.fake_wechat.user import Answer, WeChatUser

__all__ = ["Answer", "FakeWeChat", "Sent", "WeChatUser"]
