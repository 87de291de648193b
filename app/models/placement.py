"""Placement checks: is a certificate's badge really on the unit's site (or red page)?

Each check keeps its evidence (what was fetched, what came back, which marker was found or why the
fetch was refused). `PlacementStatus` is one row per checked certificate: where to look, what the
hanging deadline decided and when the worker looks again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime, utcnow

# Outcomes of one check; only `found` means the badge hangs.
OUTCOME_LABELS = {
    "found": "已找到标识",
    "missing": "未找到标识",
    "refused": "地址不允许访问",
    "failed": "访问失败",
}
# What a check found, strongest first (DOMAIN.md §2.4).
MARKER_LABELS = {
    "code": "标识脚本地址含本证书的标识编号",
    "link": "链接含本证书的证书页编号",
    "placeholder": "标识占位 _ideConac",
}
PURPOSE_LABELS = {
    "reminder": "到期前提醒",
    "deadline": "挂标期限届满",
    "periodic": "定期复查",
    "manual": "手动检查",
}
DEADLINE_LABELS = {"compliant": "按时挂标", "overdue": "逾期未挂标"}


class PlacementCheck(db.Model):
    """One check of one certificate, with its evidence."""

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purpose: Mapped[str] = mapped_column(String(20))  # a key of PURPOSE_LABELS
    requested_by: Mapped[str] = mapped_column(String(80), default="system")
    url: Mapped[str] = mapped_column(String(500), default="")  # the address checked
    final_url: Mapped[str] = mapped_column(String(500), default="")  # after redirects
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # a key of OUTCOME_LABELS
    marker: Mapped[str] = mapped_column(String(20), default="")  # a key of MARKER_LABELS when found
    reason: Mapped[str] = mapped_column(String(300), default="")  # why refused, failed or missing
    excerpt: Mapped[str] = mapped_column(Text, default="")  # the page text around the marker
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # every address tried

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)

    @property
    def marker_label(self) -> str:
        return MARKER_LABELS.get(self.marker, "")

    @property
    def purpose_label(self) -> str:
        return PURPOSE_LABELS.get(self.purpose, self.purpose)


class PlacementStatus(db.Model):
    """Per certificate: the site to check, the deadline's verdict and the worker's next look."""

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), primary_key=True)
    location: Mapped[str] = mapped_column(String(20))  # red_page / own_site (挂标位置)
    english_domain: Mapped[str] = mapped_column(String(253), default="")
    server_ip: Mapped[str] = mapped_column(String(45), default="")
    latest_check_id: Mapped[int | None] = mapped_column(ForeignKey("placement_check.id"))
    found: Mapped[bool] = mapped_column(default=False)  # the latest check's verdict
    deadline_result: Mapped[str] = mapped_column(String(20), default="")  # a key of DEADLINE_LABELS
    deadline_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    @property
    def deadline_label(self) -> str:
        return DEADLINE_LABELS.get(self.deadline_result, "")
