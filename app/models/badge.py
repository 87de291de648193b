"""Website badge certificates (网站标识)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import UTCDateTime, utcnow
from app.models.org import Unit

# The certificate's status as the certificate page and the badge show it (DOMAIN.md §2.4, §8.4).
STATUS_LABELS = {"valid": "有效", "revoked": "已注销", "expired": "已过期", "abnormal": "异常"}
VALID = "valid"
REVOKED = "revoked"
# The badge's colour names the kind of unit it was issued to.
KIND_LABELS = {"red": "党政机关", "blue": "事业单位"}


class Certificate(db.Model):
    """A badge (网站标识) and its 网上名称《标识证书》.

    `public_id` is the certificate page's opaque id: 32 uppercase hex digits from a random UUID, as CONAC's
    `/sitename?method=show&id=` ids, so a certificate page cannot be guessed from another.

    `code` is the human 标识编号: "CA" + the unit's GB/T 2260 region (6 digits) + the Beijing year of issue
    + the certificate's sequence number (7 digits), e.g. CA15060020260000001. We keep our own numbering
    (DOMAIN.md §8.5) rather than CONAC's CA+PP+CCC+DDDD+ID9+SEQ4: CONAC's province numbers and registration
    ids are its own, and ours already states region and year. The badge script's path takes CONAC's
    /js/PP/CCC/DDDD/ID/ segments from our code (services/badges.script_path), so tools that expect that
    path shape still find one.

    `domains` are the bound Chinese domains as the application named them (U-labels), `english_domain`
    the optional English one; the badge shows its error image on any other host. `functions` is the
    机构职能 (业务范围 for 事业单位) approved with the application; `issuer_name` the 标识发放单位 (the
    同级编办 that confirmed) as it was named on the day of issue.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(30), unique=True)  # set once the id is known
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    colour: Mapped[str] = mapped_column(String(10))  # red (党政机关) / blue (事业单位)
    site_name: Mapped[str] = mapped_column(String(120))
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    english_domain: Mapped[str] = mapped_column(String(253), default="")
    functions: Mapped[str] = mapped_column(Text, default="")
    issuer_office_code: Mapped[str | None] = mapped_column(String(40))
    issuer_name: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20), default=VALID)  # a key of STATUS_LABELS
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hang_deadline: Mapped[date | None] = mapped_column(Date)
    deadline_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 注销 by the 编办 (e.g. the site closed or the unit was merged): when, by whom and why.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str] = mapped_column(String(80), default="")
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")

    unit: Mapped[Unit] = relationship()

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.colour, self.colour)
