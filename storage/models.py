"""What is kept: the SQLAlchemy 2 models, identical on SQLite and PostgreSQL.

Times are stored as timezone-aware UTC (`UTCDateTime`); JSON columns hold small structured values
(snapshots, answers, payloads) that are read and written whole.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# -- labs and people --------------------------------------------------------------------------------------
class Lab(Base):
    __tablename__ = "labs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    institution_type: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(32))
    licence_no: Mapped[str | None] = mapped_column(String(64))
    licence_valid_from: Mapped[date | None] = mapped_column(Date)
    licence_valid_to: Mapped[date | None] = mapped_column(Date)
    credit_code: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16), default="roster")  # roster | application | demo
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(back_populates="lab", lazy="raise")


class UserProfile(Base):
    """One person on one platform: language and binding-attempt throttling live here."""

    __tablename__ = "user_profiles"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(8))
    bind_failures: Mapped[int] = mapped_column(default=0)
    bind_locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("lab_id", "platform", "user_id"),
        Index("ix_contacts_platform_user", "platform", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(64))  # None until the person binds a chat
    chat_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    is_backup: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Reminders sent since this contact last did anything; two unanswered ones also reach the backup.
    unanswered_reminders: Mapped[int] = mapped_column(default=0)
    last_seen_at: Mapped[datetime | None]
    # Set when the person blocked the bot (HTTP 403); writing to the bot again lifts it.
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lab: Mapped[Lab] = relationship(back_populates="contacts", lazy="raise")


class Staff(Base):
    """Reviewers granted by an admin (admins themselves come from settings)."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # reviewer | admin
    name: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    granted_by: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class BindingCode(Base):
    __tablename__ = "binding_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"), index=True)
    # A salted, slow hash ("pbkdf2_sha256$<iterations>$<salt>$<hex>"); the code itself is never kept.
    code_hash: Mapped[str] = mapped_column(String(160))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[str | None] = mapped_column(String(80))
    for_backup: Mapped[bool] = mapped_column(Boolean, default=False)  # binds a backup contact
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Application(Base):
    """A new laboratory's registration request (新参评单位注册)."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    year: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|approved|rejected
    revision: Mapped[int] = mapped_column(default=1)
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


# -- the year's registration --------------------------------------------------------------------------
class Enrollment(Base):
    """One lab in one campaign year: the three steps, the submission and its review state."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("lab_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(index=True)
    # draft | submitted (awaiting review) | returned | approved
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    last_year_tests: Mapped[list[Any]] = mapped_column(default=list)  # "<specialty>.<test>" keys, as submitted
    # Ticks not yet submitted: kept in the database so nothing ticked is lost to /cancel or a restart.
    checklist_draft: Mapped[list[Any] | None] = mapped_column(JSON)
    checklist_submitted_at: Mapped[datetime | None]
    lab_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    invoice: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mailing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    specialties: Mapped[list[Any]] = mapped_column(default=list)
    # Mandatory specialties the lab explicitly declined (shown to reviewers; never dropped silently).
    mandatory_declined: Mapped[list[Any]] = mapped_column(default=list)
    # ... and why, in the lab's words: {specialty code: reason}. A declined one without a reason is refused.
    mandatory_declined_reasons: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    # Step 1 tests the lab performed that the catalogue lacks (free text), as submitted and as drafted.
    extra_tests: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    extra_tests_draft: Mapped[list[Any] | None] = mapped_column(JSON)
    plan_confirmed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(default=0)  # bumped by each submission; reviews name the revision
    returned_items: Mapped[list[Any]] = mapped_column(default=list)  # what the lab must send again
    decided_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: two contacts of one lab editing at once must not overwrite each other silently.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__: ClassVar = {"version_id_col": version}


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_lab_kind", "lab_id", "kind", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # agreement | licence
    # active | superseded (replaced by a newer upload) | refused (returned by the centre: a new file is due)
    # | purged (file deleted after retention; row kept)
    status: Mapped[str] = mapped_column(String(16), default="active")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128))
    original_name: Mapped[str | None] = mapped_column(String(200))  # shown to people, never used as a path
    precheck: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What was read on it (storage.reading: fields with confidence, findings); None when not read.
    reading: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    platform_file_id: Mapped[str | None] = mapped_column(String(256))  # lets a transport re-send without upload
    uploaded_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """A reviewer's decision. One per (subject, revision): the first decision stands."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "revision", name="uq_reviews_subject_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))  # enrollment | application
    subject_id: Mapped[int]
    revision: Mapped[int]
    decision: Mapped[str] = mapped_column(String(16))  # approved | returned | rejected
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- conversations and delivery -------------------------------------------------------------------------
class ConversationState(Base):
    """Where one person stands in one chat. `nonce` marks the screen: buttons carry it, so a press on
    an older screen is recognised and changes nothing."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nonce: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """Idempotency: an update id is handled once, whatever the transport redelivers."""

    __tablename__ = "processed_updates"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AlbumItem(Base):
    """Parts of an album (media group) collected for a moment before they are handled together."""

    __tablename__ = "album_items"
    __table_args__ = (Index("ix_album_items_group", "platform", "media_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    media_group_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder | broadcast | payment | alert
    # Scheduled reminders carry a key such as "henan-2025:d-7"; the unique key makes them run once.
    schedule_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    text: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft|sending|done|cancelled
    created_by: Mapped[str | None] = mapped_column(String(80))
    report_chat: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A message waiting to be delivered. Written in the same transaction as the change it reports,
    so a crash can delay a message but never lose it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # serialised Outbound actions
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed|blocked|cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # What the platform answered (message ids), so a later change can edit what was sent.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledRun(Base):
    """A scheduled job that has run (or is running): the unique key makes it run once across processes."""

    __tablename__ = "scheduled_runs"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(64))


class FaqVote(Base):
    __tablename__ = "faq_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), index=True)
    question: Mapped[str | None] = mapped_column(Text)
    helpful: Mapped[bool] = mapped_column(Boolean)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))  # "telegram:123", "system", ...
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id", ondelete="SET NULL"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class WeChatToken(Base):
    """The official account's access_token, shared by every worker (WeChat invalidates older tokens when
    a new one is fetched the ordinary way; the stable-token API does not, but one fetch per expiry is enough).
    A secret like the app secret: never logged."""

    __tablename__ = "wechat_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeChatPeer(Base):
    """One follower of the official account: whether they follow, and the customer-service windows their
    last interactions opened (WeChat's rules since June 2023: a message opens 5 sends within 48 h; a menu
    click, a follow or a QR scan opens 3 within 1 minute), plus the numbered menu last shown to them."""

    __tablename__ = "wechat_peers"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    message_at: Mapped[datetime | None]  # the last message they sent
    message_used: Mapped[int] = mapped_column(default=0)
    event_at: Mapped[datetime | None]  # the last click, follow or scan
    event_used: Mapped[int] = mapped_column(default=0)
    menu: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the numbered menu last shown: {"mid", "items"}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# -- the web desk ---------------------------------------------------------------------------------------
class DeskAccount(Base):
    """A member of the centre's staff who signs in to the web desk. Linked to a chat identity (platform and
    user id), the desk acts as that person: decisions and the audit log name the same reviewer either way."""

    __tablename__ = "desk_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # the login name
    role: Mapped[str] = mapped_column(String(16))  # reviewer | admin
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the password changes or the account is disabled: older session cookies stop working.
    session_epoch: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    platform: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
