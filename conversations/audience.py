"""Who a broadcast reaches: all labs, the unfinished ones, or those of one review status, city or
institution type — and, for each lab, the contacts who can be written to.

"Unfinished" means exactly what /status says: the lab still has a next step (`Progress.next_step`), i.e. its
registration is neither submitted nor approved. Selection runs in SQL so a preview of thousands of labs is
instant; `tests/test_broadcast_audience.py` holds the SQL to the `conversations.progress` definition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.campaign import Campaign
from conversations.progress import Progress
from storage.models import Contact, Enrollment, Lab, UserProfile, WeChatPeer

WECHAT = "wechat"

Kind = Literal["all", "unfinished", "status", "city", "type", "followers"]
KINDS: tuple[Kind, ...] = ("all", "unfinished", "status", "city", "type", "followers")
STATUSES = ("draft", "returned", "submitted", "approved")
# Review states in which the lab has nothing left to do (Progress.next_step is None).
FINISHED_STATUSES = ("submitted", "approved")


def is_unfinished(p: Progress) -> bool:
    """The one definition: a lab is unfinished while it still has a step to take."""
    return p.next_step is not None


@dataclass(frozen=True)
class Audience:
    kind: Kind = "unfinished"
    value: str | None = None  # the status, city or institution-type code, for those kinds

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown audience {self.kind!r}")
        if (self.kind in ("status", "city", "type")) != (self.value is not None):
            raise ValueError(f"audience {self.kind!r} needs exactly one value")
        if self.kind == "status" and self.value not in STATUSES:
            raise ValueError(f"unknown status {self.value!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        return cls(kind=data.get("kind", "unfinished"), value=data.get("value"))

    def check(self, campaign: Campaign) -> None:
        """Refuse a city or type the campaign does not know (a forged or outdated choice)."""
        if self.kind == "city" and self.value not in campaign.cities:
            raise ValueError(f"unknown city {self.value!r}")
        if self.kind == "type" and self.value not in campaign.type_by_code:
            raise ValueError(f"unknown institution type {self.value!r}")


@dataclass(frozen=True)
class Recipient:
    lab_id: int | None  # None: a follower of the official account bound to no lab
    contact_id: int | None
    platform: str
    chat_id: str
    language: str
    is_backup: bool
    unanswered: int


def _status_of(year: int) -> Any:
    """The lab's review status this year; a lab without an enrollment yet is a draft."""
    return func.coalesce(Enrollment.status, "draft")


def lab_query(campaign: Campaign, audience: Audience) -> Select[tuple[Lab]]:
    status = _status_of(campaign.year)
    query = select(Lab).outerjoin(Enrollment, and_(Enrollment.lab_id == Lab.id, Enrollment.year == campaign.year))
    if audience.kind == "followers":  # the labs some follower of the official account is bound to
        following = (
            select(Contact.lab_id)
            .join(WeChatPeer, WeChatPeer.openid == Contact.user_id)
            .where(Contact.platform == WECHAT, Contact.active.is_(True), WeChatPeer.following.is_(True))
        )
        query = query.where(Lab.id.in_(following))
    elif audience.kind == "unfinished":
        query = query.where(status.not_in(FINISHED_STATUSES))
    elif audience.kind == "status":
        query = query.where(status == audience.value)
    elif audience.kind == "city":
        query = query.where(Lab.city == audience.value)
    elif audience.kind == "type":
        query = query.where(Lab.institution_type == audience.value)
    return query.order_by(Lab.id)


async def select_labs(session: AsyncSession, campaign: Campaign, audience: Audience) -> list[Lab]:
    return list(await session.scalars(lab_query(campaign, audience)))


async def recipients(
    session: AsyncSession, campaign: Campaign, audience: Audience, *, include_backups: bool = True
) -> list[Recipient]:
    """Every contact of the selected labs who can be written to: bound to a chat and not blocked.
    One person bound to two labs appears once per lab (lab-specific texts differ)."""
    if audience.kind == "followers":
        return await _followers(session)
    labs = lab_query(campaign, audience).with_only_columns(Lab.id).subquery()
    query = (
        select(Contact, UserProfile.language)
        .join(labs, labs.c.id == Contact.lab_id)
        .outerjoin(UserProfile, and_(UserProfile.platform == Contact.platform, UserProfile.user_id == Contact.user_id))
        .where(
            Contact.active.is_(True),
            Contact.user_id.is_not(None),
            or_(Contact.chat_id.is_not(None), Contact.user_id.is_not(None)),
        )
        .order_by(Contact.lab_id, Contact.is_backup, Contact.id)
    )
    if not include_backups:
        query = query.where(Contact.is_backup.is_(False))
    out = []
    for contact, chosen in (await session.execute(query)).all():
        out.append(
            Recipient(
                lab_id=contact.lab_id,
                contact_id=contact.id,
                platform=contact.platform,
                chat_id=contact.chat_id or contact.user_id,
                language=_language(chosen, contact.language),
                is_backup=contact.is_backup,
                unanswered=contact.unanswered_reminders,
            )
        )
    return out


def _language(chosen: str | None, roster: str | None) -> str:
    """A language chosen with /lang wins over the roster's."""
    return chosen if chosen in ("zh", "en") else (roster or "zh")


async def _followers(session: AsyncSession) -> list[Recipient]:
    """Everyone following the official account, bound to a lab or not (so the centre can reach new labs)."""
    query = (
        select(WeChatPeer.openid, UserProfile.language, Contact.id, Contact.lab_id, Contact.language)
        .outerjoin(UserProfile, and_(UserProfile.platform == WECHAT, UserProfile.user_id == WeChatPeer.openid))
        .outerjoin(
            Contact,
            and_(Contact.platform == WECHAT, Contact.user_id == WeChatPeer.openid, Contact.active.is_(True)),
        )
        .where(WeChatPeer.following.is_(True))
        .order_by(WeChatPeer.openid, Contact.id)
    )
    return [
        Recipient(
            lab_id=lab_id,
            contact_id=contact_id,
            platform=WECHAT,
            chat_id=openid,
            language=_language(chosen, roster),
            is_backup=False,
            unanswered=0,
        )
        for openid, chosen, contact_id, lab_id, roster in (await session.execute(query)).all()
    ]


async def has_followers(session: AsyncSession) -> bool:
    """Whether the WeChat channel has anyone to reach (the "followers" audience is offered only then)."""
    return await session.scalar(select(WeChatPeer.openid).where(WeChatPeer.following.is_(True)).limit(1)) is not None


async def count(session: AsyncSession, campaign: Campaign, audience: Audience) -> tuple[int, int]:
    """(labs, reachable contacts) for a preview."""
    labs = await session.scalar(select(func.count()).select_from(lab_query(campaign, audience).subquery()))
    people = await recipients(session, campaign, audience)
    return int(labs or 0), len({(r.platform, r.chat_id) for r in people})
