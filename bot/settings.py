"""Settings from the environment and `.env`, under names deployments and test harnesses rely on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_api_base_url: str = Field("https://api.telegram.org", validation_alias=_env("TELEGRAM_API_BASE_URL"))
    database_url: str = Field("sqlite+aiosqlite:///var/eqa.sqlite3", validation_alias=_env("EQA_DATABASE_URL"))
    data_dir: Path = Field(Path("var/data"), validation_alias=_env("EQA_DATA_DIR"))
    admin_ids: Annotated[frozenset[str], NoDecode] = Field(frozenset(), validation_alias=_env("EQA_ADMIN_IDS"))
    review_chat_id: str | None = Field(None, validation_alias=_env("EQA_REVIEW_CHAT_ID"))
    campaign: Path | None = Field(None, validation_alias=_env("EQA_CAMPAIGN"))
    timezone: str = Field("Asia/Shanghai", validation_alias=_env("EQA_TIMEZONE"))
    now: datetime | None = Field(None, validation_alias=_env("EQA_NOW"))
    transport: Literal["ptb", "aiogram", "wechat"] = Field("ptb", validation_alias=_env("EQA_TRANSPORT"))
    log_level: str = Field("INFO", validation_alias=_env("EQA_LOG_LEVEL"))
    # Webhook mode (`eqa-bot run --mode webhook`): the public HTTPS URL Telegram posts to, where this
    # process listens (behind a reverse proxy), and the secret Telegram sends back in a header.
    webhook_url: str | None = Field(None, validation_alias=_env("EQA_WEBHOOK_URL"))
    webhook_listen: str = Field("127.0.0.1", validation_alias=_env("EQA_WEBHOOK_LISTEN"))
    webhook_port: int = Field(8080, validation_alias=_env("EQA_WEBHOOK_PORT"))
    webhook_secret: SecretStr | None = Field(None, validation_alias=_env("EQA_WEBHOOK_SECRET"))
    # Documents at rest: the newest key seals, older ones (comma-separated) still open what they sealed.
    # Unset, a key file is generated under EQA_DATA_DIR (fine for the demo; production sets the key).
    document_key: SecretStr | None = Field(None, validation_alias=_env("EQA_DOCUMENT_KEY"))
    document_old_keys: SecretStr | None = Field(None, validation_alias=_env("EQA_DOCUMENT_OLD_KEYS"))
    # Uploaded documents older than this many days are purged by `eqa-bot purge` (unset: kept).
    retention_days: int | None = Field(None, gt=0, validation_alias=_env("EQA_RETENTION_DAYS"))
    # Delivered outbox rows are kept this many days (an audit trail of what went out), then deleted.
    outbox_keep_days: int = Field(30, gt=0, validation_alias=_env("EQA_OUTBOX_KEEP_DAYS"))
    log_json: bool = Field(False, validation_alias=_env("EQA_LOG_JSON"))
    # Reading uploaded licences and agreements (OCR, QR); `off` leaves only the pre-checks.
    reading: bool = Field(True, validation_alias=_env("EQA_READING"))
    reading_timeout: float = Field(12.0, gt=0, validation_alias=_env("EQA_READING_TIMEOUT"))
    # Not under var/, which holds the database and (without EQA_DOCUMENT_KEY) the document key file: whoever
    # copies the backups must not get the key with them.
    backup_dir: Path = Field(Path("backups"), validation_alias=_env("EQA_BACKUP_DIR"))
    # Group robots that also get reviewer alerts (bot.group_robots); the URLs hold access tokens.
    wecom_webhook_url: SecretStr | None = Field(None, validation_alias=_env("EQA_WECOM_WEBHOOK_URL"))
    dingtalk_webhook_url: SecretStr | None = Field(None, validation_alias=_env("EQA_DINGTALK_WEBHOOK_URL"))
    dingtalk_secret: SecretStr | None = Field(None, validation_alias=_env("EQA_DINGTALK_SECRET"))
    feishu_webhook_url: SecretStr | None = Field(None, validation_alias=_env("EQA_FEISHU_WEBHOOK_URL"))
    feishu_secret: SecretStr | None = Field(None, validation_alias=_env("EQA_FEISHU_SECRET"))
    # The web desk (`eqa-bot desk`): where it listens, the cookie-signing secret (unset: generated into a 0600
    # file under EQA_DATA_DIR), and the public URL it is reached at (https there makes cookies Secure).
    desk_listen: str = Field("127.0.0.1", validation_alias=_env("EQA_DESK_LISTEN"))
    desk_port: int = Field(8080, validation_alias=_env("EQA_DESK_PORT"))
    desk_secret: SecretStr | None = Field(None, validation_alias=_env("EQA_DESK_SECRET"))
    public_url: str | None = Field(None, validation_alias=_env("EQA_PUBLIC_URL"))
    desk_in_run: bool = Field(False, validation_alias=_env("EQA_DESK_IN_RUN"))  # `eqa-bot run` serves it too

    # The WeChat official account (bot/wechat): app id and secret, the server token and EncodingAESKey set in
    # the MP console (the key set: safe mode, encrypted only), the API root, optional template ids for pushes
    # outside the reply window, and the bot's public https base for file links.
    wechat_app_id: str | None = Field(None, validation_alias=_env("WECHAT_APP_ID"))
    wechat_app_secret: SecretStr | None = Field(None, validation_alias=_env("WECHAT_APP_SECRET"))
    wechat_token: SecretStr | None = Field(None, validation_alias=_env("WECHAT_TOKEN"))
    wechat_encoding_aes_key: SecretStr | None = Field(None, validation_alias=_env("WECHAT_ENCODING_AES_KEY"))
    wechat_api_base_url: str = Field("https://api.weixin.qq.com", validation_alias=_env("WECHAT_API_BASE_URL"))
    wechat_template_result: str | None = Field(None, validation_alias=_env("WECHAT_TEMPLATE_RESULT"))
    wechat_template_reminder: str | None = Field(None, validation_alias=_env("WECHAT_TEMPLATE_REMINDER"))
    public_url: str | None = Field(None, validation_alias=_env("EQA_PUBLIC_URL"))

    def group_robots(self) -> frozenset[str]:
        """The group-robot platforms with a webhook configured."""
        urls = (self.wecom_webhook_url, self.dingtalk_webhook_url, self.feishu_webhook_url)
        names = ("wecom", "dingtalk", "feishu")
        return frozenset(n for n, url in zip(names, urls, strict=True) if url is not None and url.get_secret_value())

    def document_keys(self) -> tuple[bytes, ...]:
        """The decoded document keys, newest first (raises `storage.crypto.KeyProblem`, naming no key)."""
        from storage.crypto import parse_keys

        def raw(value: SecretStr | None) -> str | None:
            return value.get_secret_value() if value is not None else None

        return parse_keys(raw(self.document_key), raw(self.document_old_keys))

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, int):
            return frozenset({str(value)})
        return value

    @field_validator("review_chat_id", mode="before")
    @classmethod
    def _chat_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else (value or None)

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("EQA_NOW needs a zone, e.g. 2025-02-10T10:00+08:00")
        return value

    @field_validator("telegram_api_base_url", "wechat_api_base_url")
    @classmethod
    def _root(cls, value: str) -> str:
        return value.rstrip("/")
