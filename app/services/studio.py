"""The policy studio: procedures with their drafts, checks, deploys with a comment, and roll-backs.

What the editor sends is a `Submission`: the diagram XML and the files it may use (forms/…,
documents/…). A draft keeps it whole; a check or a deploy turns it into a `Bundle` of the files the
diagram names, as `flask deploy` does. Every deploy and roll-back is one audited new version. A
stale base version is refused by the engine; of two deploys at the same moment the unique
(process_id, version) key lets exactly one in, the other fails whole with a Chinese message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.bundles import (
    DOCUMENT_SUFFIXES,
    DOCUMENTS_FOLDER,
    FORMS_FOLDER,
    MAX_FILE_BYTES,
    Bundle,
    referenced_files,
)
from app.engine.definitions import NS, bundle_of, parse_xml_safely
from app.engine.errors import DeployError
from app.models import ProcedureDraft, ProcessInstance, WorkflowDefinition
from app.models._types import utcnow
from app.models.workflow import OPEN_STATUSES
from app.services import audit, versions
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.taskforms.text import TextRefused, clean_text

Problem = tuple[str, str]
MAX_FILES = 60
MAX_FILES_BYTES = 4 * 1024 * 1024  # all files of one submission together
MAX_COMMENT = 500
_PATH = re.compile(
    rf"{FORMS_FOLDER}/[A-Za-z0-9_.-]+\.schema\.json"
    rf"|{DOCUMENTS_FOLDER}/[a-z][a-z0-9_-]{{0,39}}({'|'.join(re.escape(s) for s in DOCUMENT_SUFFIXES)})"
)
# What each operator does, in the words the studio shows policy staff (the registry's docstrings are for
# programmers); an operator missing here shows its docstring.
OPERATOR_TITLES = {
    "domain.require_active": "要求单位持有有效的域名（否则不能申请）",
    "domain.verify_owned": "核对所填域名是否为本单位的有效域名",
    "domain.reserve": "预留申请的域名",
    "domain.check_renewable": "核对续费的域名（本单位已注册、未冻结或删除、没有未办结的续费）",
    "domain.describe": "读取一个域名的信息（名称、到期日、联系人；按单个域名续费的旧版流程）",
    "domain.activate": "域名注册成功：按年限启用",
    "domain.extend": "域名续费成功：顺延一个域名的到期日（按单个域名续费的旧版流程）",
    "domain.extend_paid": "域名续费成功：各域名按已缴年限顺延到期日",
    "charge.create": "生成缴费信息（收费标准 × 年限）",
    "charge.create_each": "为每个域名生成缴费信息（收费标准 × 年限）",
    "charge.collect": "登记编办确认收费（发票号码）",
    "charge.collect_all": "登记编办对本申请全部费用的确认收费（一张发票）",
    "charge.cancel": "撤回未缴费的申请：作废其费用",
    "badge.issue": "发放网站标识代码",
    "badge.mark_deadline": "记录挂标期限已过",
    "placement.track": "登记挂标位置，算出到期前提醒日",
    "placement.check": "检查单位网站或网络红页是否已挂标（保存检查证据）",
    "placement.record_deadline": "记录挂标期限届满时的结果（按时挂标或逾期未挂标）",
    "notify.send": "发送短信和电子邮件通知单位",
    "notify.office": "通知办理机构（如催办提醒）",
}
CONCURRENT = "另一位同事刚刚部署了本流程的新版本，本次部署未生效，草稿已保留；请查看最新版本后再部署"
ROLLBACK_COMMENT = "回滚到 v{version}"


@dataclass(frozen=True)
class Submission:
    """The diagram and files as the editor holds them."""

    xml: str
    files: dict[str, str]

    @classmethod
    def from_json(cls, payload: Any) -> Submission:
        """Checked shape, file names and sizes; anything else is a Chinese refusal."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("xml"), str):
            raise ServiceRefusal("提交的内容不完整：缺少流程图")
        files = payload.get("files") or {}
        if not isinstance(files, Mapping) or not all(isinstance(v, str) for v in files.values()):
            raise ServiceRefusal("提交的内容格式不正确：文件须为文字")
        _check_files(files)
        return cls(payload["xml"], dict(files))


def _check_files(files: Mapping[str, str]) -> None:
    if len(files) > MAX_FILES:
        raise ServiceRefusal(f"文件不能超过 {MAX_FILES} 个")
    for path, text in files.items():
        if not _PATH.fullmatch(path):
            raise ServiceRefusal(
                f"文件名 {path} 不合法：表单须为 forms/英文名.schema.json，文书须为 documents/小写英文名.md 或 .json"
            )
        if len(text.encode("utf-8")) > MAX_FILE_BYTES:
            raise ServiceRefusal(f"{path} 超过 {MAX_FILE_BYTES // 1024} KB")
    if sum(len(t.encode("utf-8")) for t in files.values()) > MAX_FILES_BYTES:
        raise ServiceRefusal(f"文件合计超过 {MAX_FILES_BYTES // 1024 // 1024} MB")


# ---- procedures and what is being edited ----------------------------------------------------


@dataclass(frozen=True)
class ProcedureRow:
    latest: WorkflowDefinition
    running: int  # applications under way, on any version
    draft: ProcedureDraft | None  # the viewer's own draft


def procedures(session: Session, author: str) -> list[ProcedureRow]:
    """Every deployed procedure by its newest version, with running applications and the author's draft."""
    newest = select(WorkflowDefinition.process_id, func.max(WorkflowDefinition.version).label("version"))
    newest_sub = newest.group_by(WorkflowDefinition.process_id).subquery()
    latest = session.scalars(
        select(WorkflowDefinition)
        .join(
            newest_sub,
            (WorkflowDefinition.process_id == newest_sub.c.process_id)
            & (WorkflowDefinition.version == newest_sub.c.version),
        )
        .order_by(WorkflowDefinition.name)
    ).all()
    running = dict(
        session.execute(
            select(WorkflowDefinition.process_id, func.count(ProcessInstance.id))
            .join(ProcessInstance, ProcessInstance.definition_id == WorkflowDefinition.id)
            .where(ProcessInstance.status.in_(OPEN_STATUSES))
            .group_by(WorkflowDefinition.process_id)
        ).all()
    )
    drafts = {d.process_id: d for d in session.scalars(select(ProcedureDraft).where(ProcedureDraft.author == author))}
    return [ProcedureRow(row, int(running.get(row.process_id, 0)), drafts.get(row.process_id)) for row in latest]


@dataclass(frozen=True)
class Editable:
    """What the editor opens: the author's draft if there is one, else the newest version."""

    latest: WorkflowDefinition
    xml: str
    files: dict[str, str]
    base_version: int
    draft_saved_at: datetime | None

    @property
    def stale(self) -> bool:
        """The draft started from an older version than the newest: deploying it would be refused."""
        return self.base_version != self.latest.version


def editable(session: Session, process_id: str, author: str) -> Editable | None:
    latest = versions.find(session, process_id)
    if latest is None:
        return None
    draft = draft_of(session, process_id, author)
    if draft is None:
        return Editable(latest, latest.xml, dict(latest.files or {}), latest.version, None)
    base = draft.base_version if draft.base_version is not None else latest.version
    return Editable(latest, draft.xml, dict(draft.files or {}), base, draft.updated_at)


def draft_of(session: Session, process_id: str, author: str) -> ProcedureDraft | None:
    return session.scalar(
        select(ProcedureDraft).where(ProcedureDraft.process_id == process_id, ProcedureDraft.author == author)
    )


def save_draft(
    session: Session, process_id: str, author: str, submission: Submission, base_version: int
) -> ProcedureDraft:
    """Keep the author's edit (one draft per procedure and author), whatever state it is in."""
    if len(submission.xml.encode("utf-8")) > get_engine().definitions.max_bytes:
        raise ServiceRefusal("流程图过大，不能保存")
    latest = versions.find(session, process_id)
    if latest is None:
        raise ServiceRefusal("没有该流程")
    draft = draft_of(session, process_id, author)
    if draft is None:
        draft = ProcedureDraft(process_id=process_id, author=author, file_name=latest.file_name)
        session.add(draft)
    draft.base_version, draft.xml, draft.files = base_version, submission.xml, submission.files
    draft.updated_at = utcnow()
    session.flush()
    return draft


def discard_draft(session: Session, process_id: str, author: str) -> None:
    session.execute(
        delete(ProcedureDraft).where(ProcedureDraft.process_id == process_id, ProcedureDraft.author == author)
    )


def rebase_draft(session: Session, process_id: str, author: str) -> ProcedureDraft:
    """The author has looked at the newer version and keeps the draft: it now continues from the newest."""
    draft, latest = draft_of(session, process_id, author), versions.find(session, process_id)
    if draft is None or latest is None:
        raise ServiceRefusal("没有草稿")
    draft.base_version = latest.version
    session.flush()
    return draft


# ---- check, deploy, roll back ----------------------------------------------------------------


def bundle(process_id: str, file_name: str, submission: Submission) -> Bundle:
    """The deployable bundle: the diagram and the files it names; DeployError for a diagram refused outright."""
    data = submission.xml.encode("utf-8")
    root = parse_xml_safely(data, get_engine().definitions.max_bytes)
    found = _executable_process_ids(root)
    if len(found) == 1 and found[0] != process_id:  # none or several: the compile names that problem
        raise DeployError([(found[0], f"流程标识（id）须保持为 {process_id}；新流程请另行建立")])
    named = set()
    for reference in referenced_files(root):
        candidates = [reference] if reference.startswith(FORMS_FOLDER + "/") else []
        candidates += [reference + s for s in DOCUMENT_SUFFIXES if reference.startswith(DOCUMENTS_FOLDER + "/")]
        named.update(c for c in candidates if c in submission.files)
    return Bundle(file_name, data, {p: submission.files[p] for p in sorted(named)})


def _executable_process_ids(root: etree._Element) -> list[str]:
    return [p.get("id") for p in root.xpath("bpmn:process[@isExecutable='true']", namespaces=NS)]


def check(session: Session, process_id: str, file_name: str, submission: Submission) -> list[Problem]:
    """Every problem the deploy would refuse the submission for (element id, Chinese reason); [] when none."""
    try:
        get_engine().definitions.check(bundle(process_id, file_name, submission), session)
    except DeployError as refused:
        return list(refused.problems)
    return []


@dataclass(frozen=True)
class Deployed:
    row: WorkflowDefinition
    created: bool  # False: the content equals the newest version, nothing stored


def deploy(
    session: Session, process_id: str, submission: Submission, comment: str, base_version: int, actor: Actor
) -> Deployed:
    """Deploy the submission as the next version with the author's comment; refused whole on any problem."""
    latest = versions.find(session, process_id)
    if latest is None:
        raise ServiceRefusal("没有该流程")
    ready = bundle(process_id, latest.file_name, submission)
    result = _store(session, ready, _comment(comment), base_version, actor)
    if result.created:
        discard_draft(session, process_id, actor.name)
    return result


def rollback(session: Session, process_id: str, version: int, actor: Actor) -> Deployed:
    """Deploy an earlier version's bundle again as the newest version ("回滚到 vN")."""
    old, latest = versions.find(session, process_id, version), versions.find(session, process_id)
    if old is None or latest is None:
        raise ServiceRefusal("没有该版本")
    if old.version == latest.version:
        raise ServiceRefusal(f"v{version} 已是最新版本，无需回滚")
    comment = ROLLBACK_COMMENT.format(version=version)
    return _store(session, bundle_of(old), comment, latest.version, actor, rollback_of=version)


def _store(
    session: Session, ready: Bundle, comment: str, base_version: int, actor: Actor, rollback_of: int | None = None
) -> Deployed:
    try:
        row, created = get_engine().definitions.deploy(session, ready, actor.name, comment, base_version)
    except IntegrityError as exc:  # the same version number was stored meanwhile by another deploy
        raise DeployError([("definitions", CONCURRENT)]) from exc
    if created:
        detail: dict[str, Any] = {"process": row.process_id, "version": row.version, "comment": comment}
        if rollback_of is not None:
            detail["rollback_of"] = rollback_of
        audit.record(session, actor, "deploy", detail=detail)
    return Deployed(row, created)


def _comment(comment: str) -> str:
    try:
        text = clean_text(comment or "", multiline=True, max_length=MAX_COMMENT)
    except TextRefused as refusal:
        raise ServiceRefusal(f"部署说明{refusal.message}") from refusal
    if not text:
        raise ServiceRefusal("请填写部署说明：改了什么、为什么改")
    return text
