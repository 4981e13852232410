"""Sample data for `eqa-bot desk --demo` and the desk benchmark: a province of labs at every stage of the
registration, with documents (a photo taken sideways, with its EXIF orientation; a PDF scan), reviews and
contacts, and the demo's reviewer and admin accounts."""

from __future__ import annotations

import io
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select

from bot.app import App
from bot.desk.security import hash_password
from storage.models import AuditLog, Contact, DeskAccount, Document, Enrollment, Lab, Review

DEMO_PLATFORM = "console"
_NAMES = ("人民医院", "中心医院", "中医院", "妇幼保健院", "第二人民医院", "骨科医院", "肿瘤医院", "中心血站")
_TYPES = (
    "general_hospital",
    "general_hospital",
    "tcm_hospital",
    "maternal_child",
    "general_hospital",
    "specialty_hospital",
    "specialty_hospital",
    "blood_centre",
)


def page_image(title: str, *, seal: bool = True, rotate: bool = False) -> bytes:
    """A document photo: a page with lines of text and a red seal; `rotate` stores it sideways with an EXIF
    orientation, as phones do, so the viewer must turn it upright."""
    im = Image.new("RGB", (1240, 1754), "white")
    d = ImageDraw.Draw(im)
    d.rectangle((60, 60, 1180, 1694), outline=(40, 40, 40), width=4)
    d.text((120, 120), title, fill=(0, 0, 0))
    for n in range(28):
        d.line((120, 220 + n * 48, 1100 - (n % 5) * 60, 220 + n * 48), fill=(90, 90, 90), width=6)
    if seal:
        d.ellipse((760, 1300, 1060, 1600), outline=(210, 20, 30), width=18)
        d.regular_polygon((910, 1450, 60), 5, fill=(210, 20, 30))
    out = io.BytesIO()
    if rotate:
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90° clockwise to view": the pixels are stored turned left
        im.rotate(90, expand=True).save(out, "JPEG", quality=80, exif=exif)
    else:
        im.save(out, "JPEG", quality=80)
    return out.getvalue()


def pdf_scan(title: str) -> bytes:
    pages = [Image.open(io.BytesIO(page_image(f"{title} {n}", seal=n == 2))) for n in (1, 2)]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return out.getvalue()


@dataclass(frozen=True)
class DemoAccounts:
    reviewer: str
    reviewer_password: str
    admin: str
    admin_password: str


async def demo_accounts(app: App) -> DemoAccounts:
    """The demo's reviewer and admin, with fresh passwords each start (printed on screen)."""
    out = DemoAccounts("reviewer", secrets.token_urlsafe(9), "admin", secrets.token_urlsafe(9))
    async with app.db.transaction() as s:
        for name, role, password in (
            (out.reviewer, "reviewer", out.reviewer_password),
            (out.admin, "admin", out.admin_password),
        ):
            account = await s.scalar(select(DeskAccount).where(DeskAccount.name == name))
            if account is None:
                account = DeskAccount(name=name, role=role, password_hash="", session_epoch=1)
                s.add(account)
            account.password_hash = hash_password(password)
            account.active, account.failed_logins, account.locked_until = True, 0, None
    return out


async def seed_labs(app: App, count: int = 48, *, seed: int = 7, prefix: str = "HN1", documents: bool = True) -> int:
    """`count` labs with registrations spread over the window; idempotent (nothing is added twice)."""
    c = app.campaign
    rnd = random.Random(seed)
    now = app.services.clock.now()
    store = app.services.store
    blobs: dict[str, tuple[str, int, str]] = {}
    if documents:
        for key, data, mime in (
            ("agreement", page_image("质评费用缓交协议"), "image/jpeg"),
            ("agreement_sideways", page_image("质评费用缓交协议", rotate=True), "image/jpeg"),
            ("licence", page_image("医疗机构执业许可证", seal=False), "image/jpeg"),
            ("licence_pdf", pdf_scan("医疗机构执业许可证"), "application/pdf"),
        ):
            blobs[key] = (store.put(data), len(data), mime)
    specialties = [s.code for s in c.specialties]
    tests = list(c.test_index)
    # The notice gives no opening date; without one the demo spreads registrations over the last 30 days.
    opened = datetime.combine(c.opens, datetime.min.time(), tzinfo=c.tz) if c.opens else now - timedelta(days=30)
    span = max(1, int((now - opened).total_seconds() // 3600))
    async with app.db.transaction() as s:
        if await s.scalar(select(Lab.id).where(Lab.code == f"{prefix}{1:03d}")) is not None:
            return 0
        for n in range(1, count + 1):
            i = rnd.randrange(len(_NAMES))
            city = rnd.choice(c.cities)
            kind = _TYPES[i] if _TYPES[i] in c.type_by_code else c.institution_types[0].code
            lab = Lab(
                code=f"{prefix}{n:03d}",
                name=f"{city.removesuffix('市')}市{_NAMES[i]}" + ("检验科" if kind != "blood_centre" else ""),
                institution_type=kind,
                level=None if kind == "blood_centre" else rnd.choice(["L2", "L3"]),
                city=city,
                licence_no=f"4101{rnd.randrange(10**9, 10**10)}",
                licence_valid_from=date(2021, 1, 1),
                licence_valid_to=date(2028, 12, 31),
                credit_code=None,
                address=f"{city}示范路 {n} 号",
                source="demo",
            )
            s.add(lab)
            await s.flush()
            s.add(
                Contact(
                    lab_id=lab.id,
                    platform=DEMO_PLATFORM,
                    user_id=f"demo-contact-{prefix}{n}",
                    chat_id=f"demo-contact-{prefix}{n}",
                    name=rnd.choice(["王", "李", "张", "刘", "陈"]) + rnd.choice(["老师", "主任", "医生"]),
                    mobile=f"138{rnd.randrange(10**7, 10**8)}",
                )
            )
            stage = rnd.random()
            if stage < 0.12:
                continue  # not started
            at = opened + timedelta(hours=rnd.randrange(span))
            status = (
                "draft" if stage < 0.3 else "submitted" if stage < 0.7 else "approved" if stage < 0.9 else "returned"
            )
            enr = Enrollment(
                lab_id=lab.id,
                year=c.year,
                status=status,
                last_year_tests=rnd.sample(tests, min(len(tests), rnd.randrange(3, 12))),
                checklist_submitted_at=at,
                lab_info={"name": lab.name, "address": lab.address, "phone": "0371-66661234", "head": "赵主任"},
                invoice={"title": lab.name.removesuffix("检验科"), "taxpayer_id": ""},
                mailing={"recipient": "王老师", "phone": "13800138000", "address": lab.address, "postcode": "450000"},
                specialties=rnd.sample(specialties, rnd.randrange(2, 7)),
                plan_confirmed_at=at if status != "draft" or stage > 0.22 else None,
                submitted_at=at + timedelta(hours=2) if status != "draft" else None,
                revision=1 if status != "draft" else 0,
                decided_at=at + timedelta(hours=30) if status in ("approved", "returned") else None,
                returned_items=["agreement"] if status == "returned" else [],
            )
            s.add(enr)
            await s.flush()
            if status == "draft":
                continue
            if documents:
                agreement = blobs["agreement_sideways" if n % 3 == 0 else "agreement"]
                licence = blobs["licence_pdf" if n % 4 == 0 else "licence"]
                for kind_, (key, size, mime) in (("agreement", agreement), ("licence", licence)):
                    s.add(
                        Document(
                            lab_id=lab.id,
                            enrollment_id=enr.id,
                            kind=kind_,
                            sha256=key,
                            size=size,
                            mime=mime,
                            storage_key=key,
                            uploaded_by=f"{DEMO_PLATFORM}:demo-contact-{prefix}{n}",
                            created_at=at,
                            precheck={
                                "advice": ["pre-blurry"] if n % 7 == 0 else [],
                                "pages": 2 if mime == "application/pdf" else 1,
                                "width": 1240,
                                "height": 1754,
                            },
                        )
                    )
            s.add(
                AuditLog(
                    at=at + timedelta(hours=2),
                    actor=f"{DEMO_PLATFORM}:demo-contact-{prefix}{n}",
                    action="submitted",
                    entity="enrollment",
                    entity_id=str(enr.id),
                    lab_id=lab.id,
                )
            )
            if status in ("approved", "returned"):
                s.add(
                    Review(
                        subject="enrollment",
                        subject_id=enr.id,
                        revision=1,
                        decision=status,
                        reasons=["no_seal"] if status == "returned" else [],
                        reviewer="desk:reviewer",
                        created_at=at + timedelta(hours=30),
                    )
                )
    return count
