"""The OpenAPI 3.1 document of /api/v1: the one description of the API, served as /api/v1/openapi.json and
rendered as /api/v1/docs. tests/test_api.py checks that it names exactly the routes of routes.py, and
tests/test_api_schema.py (schemathesis) that every answer conforms to it. reference.py renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERSION = "1.0.0"
TAG_WORK, TAG_APPLICATIONS, TAG_DOMAINS, TAG_CERTIFICATES, TAG_ACCOUNT = "待办", "申请", "域名", "标识证书", "账号"
MAX_ID = 2_147_483_647  # ids are 32-bit integers on every database

# ---- schema helpers --------------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def obj(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object whose properties are all present unless listed as optional."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
MOMENT = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
PAGING = {"total": INTEGER, "page": INTEGER, "page_size": INTEGER, "pages": INTEGER}

SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {"type": "string", "description": "机器可读的错误代码，如 token_expired"},
                    "message": {"type": "string", "description": "中文说明，可直接展示给用户"},
                    "fields": {"type": "object", "additionalProperties": STRING, "description": "字段 → 中文错误"},
                },
                optional=("fields",),
            )
        }
    ),
    "Account": obj(
        {
            "username": STRING,
            "display_name": STRING,
            "role": {"type": "string", "description": "单位、编办、CONAC 或其他审核角色"},
            "audience": {"type": "string", "enum": ["unit", "reviewer"]},
            "office": nullable("string", description="审核人员所在机构代码"),
            "unit": {"anyOf": [obj({"id": INTEGER, "name": STRING}), {"type": "null"}]},
        }
    ),
    "WorkItem": obj(
        {
            "id": INTEGER,
            "task": {"type": "string", "description": "流程图中任务的元素 id"},
            "title": STRING,
            "stage": STRING,
            "form": nullable("string", description="任务表单文件名"),
            "role": STRING,
            "assignee": nullable("string", description="签收人；未签收为 null"),
            "created_at": MOMENT,
            "due_at": nullable("string", format="date-time"),
            "overdue": BOOLEAN,
            "business_key": {"type": "string", "description": "申请编号（提交前为 draft- 开头的临时编号）"},
            "unit": STRING,
            "region_code": STRING,
            "procedure": STRING,
            "domain": {"type": "string", "description": "申请涉及的域名（仅列表中给出）"},
        },
        optional=("domain",),
    ),
    "WorkItemPage": obj(
        {
            **PAGING,
            "items": array(ref("WorkItem")),
            "by_stage": array(obj({"stage": STRING, "count": INTEGER})),
            "by_procedure": array(obj({"procedure": STRING, "name": STRING, "count": INTEGER})),
        }
    ),
    "WorkItemDetail": {
        "allOf": [
            ref("WorkItem"),
            obj(
                {
                    "instructions": STRING,
                    "form_schema": {"type": "object", "description": "任务表单（JSON Schema 2020-12），data 按此填写"},
                    "version": {"type": "integer", "description": "申请的版本号，可作为 expected_version 提交"},
                    "values": {"type": "object", "description": "草稿或预填的表单内容（如收费任务的年限）"},
                    "reason": nullable("string", description="（单位）上次审核不通过的原因"),
                    "sections": array(obj({"title": STRING, "rows": array(obj({"label": STRING, "value": STRING}))})),
                },
                optional=("reason", "sections"),
            ),
        ]
    },
    "Application": obj(
        {
            "business_key": STRING,
            "numbered": {"type": "boolean", "description": "是否已提交并分配正式申请编号"},
            "procedure": STRING,
            "stage": STRING,
            "status": {"type": "string", "description": "running 办理中；completed 已办结；error 异常"},
            "unit": STRING,
            "created_at": MOMENT,
            "updated_at": MOMENT,
            "version": INTEGER,
            "steps": array(obj({"name": STRING, "state": {"type": "string", "enum": ["done", "current", "todo"]}})),
            "waiting": array(obj({"title": STRING, "text": STRING, "due_at": nullable("string", format="date-time")})),
            "reason": nullable("string"),
            "open_items": {"type": "array", "items": INTEGER, "description": "调用者在该申请上的待办任务 id"},
            "certificates": array(obj({"code": nullable("string"), "public_id": STRING})),
        }
    ),
    "History": obj(
        {
            "business_key": STRING,
            "events": array(
                obj(
                    {
                        "at": MOMENT,
                        "action": STRING,
                        "task": nullable("string"),
                        "decision": nullable("string"),
                        "reason": nullable("string"),
                        "actor": nullable("string", description="办理人用户名（单位看不到审核人员的用户名）"),
                        "role": STRING,
                    }
                )
            ),
        }
    ),
    "Domain": obj(
        {
            "id": INTEGER,
            "name": STRING,
            "suffix": {"type": "string", "enum": ["政务", "公益"]},
            "status": {"type": "string", "enum": ["active", "expired", "frozen", "deleted"]},
            "status_label": STRING,
            "unit": STRING,
            "region_code": STRING,
            "registered_on": nullable("string", format="date"),
            "expires_on": nullable("string", format="date"),
            "renewal": nullable("string", description="正在办理的续费申请编号"),
            "renewable": BOOLEAN,
        }
    ),
    "DomainPage": obj(
        {
            **PAGING,
            "items": array(ref("Domain")),
            "by_status": array(obj({"status": STRING, "label": STRING, "count": INTEGER})),
        }
    ),
    "Certificate": obj(
        {
            "code": nullable("string", description="标识编号"),
            "public_id": STRING,
            "colour": {"type": "string", "enum": ["red", "blue"]},
            "site_name": STRING,
            "unit": STRING,
            "unit_kind": STRING,
            "address": STRING,
            "functions_title": STRING,
            "functions": STRING,
            "domains": array(STRING),
            "issuer": STRING,
            "status": STRING,
            "status_label": STRING,
            "issued_at": MOMENT,
            "hang_deadline": nullable("string", format="date"),
            "page": {"type": "string", "description": "公开的标识证书页面地址"},
        }
    ),
    "FormSubmission": {
        "type": "object",
        "properties": {
            "data": {"type": "object", "description": "表单字段（见任务的 form_schema），校验规则与网页相同"},
            "expected_version": nullable("integer", description="可选：申请版本号，不一致时返回 409"),
        },
    },
    "StartRequest": {
        "type": "object",
        "properties": {
            "procedure": {"type": "string", "description": "办理事项的流程 id，如 party_site_review"},
            "data": {"type": "object", "description": "首个表单的内容（办理事项有启动表单时）"},
        },
        "required": ["procedure"],
    },
    "RenewalRequest": {
        "type": "object",
        "properties": {
            "data": {
                "type": "object",
                "properties": {"domains": array(STRING), "years": INTEGER},
                "description": "续费表单：勾选的域名（同一单位）和年限",
            }
        },
        "required": ["data"],
    },
}

# ---- operations ------------------------------------------------------------------------------

ERRORS = {
    400: "请求参数或请求体不正确",
    401: "缺少令牌，或令牌无效、过期、已吊销",
    403: "账号角色不能使用该接口，或账号不可用",
    404: "对象不存在或不在您的管辖范围内",
    409: "冲突：已被他人签收或办理，或流程规则拒绝",
    422: "表单校验未通过（fields 给出每个字段的中文错误）",
    429: "请求过于频繁",
}


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # query or path
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: str  # the Flask endpoint that serves it
    tag: str
    summary: str
    response: str  # component name of the success body, or "" for HTML
    description: str = ""
    params: tuple[Param, ...] = ()
    body: str = ""  # component name of the request body
    status: int = 200
    errors: tuple[int, ...] = (400, 401, 403, 429)
    public: bool = False


ITEM_ID = Param("item_id", "path", {"type": "integer", "minimum": 0, "maximum": MAX_ID}, "待办任务 id")
BUSINESS_KEY = Param("business_key", "path", {"type": "string", "pattern": "^[A-Za-z0-9-]{1,20}$"}, "申请编号")
PAGE = Param("page", "query", {"type": "integer", "minimum": 1, "maximum": 100000}, "页码，从 1 开始")
PAGE_SIZE = Param("page_size", "query", {"type": "integer", "minimum": 1, "maximum": 100}, "每页条数，默认 20")
SORTS = ["created", "-created", "due", "-due", "key", "-key"]
INBOX_PARAMS = (
    Param("procedure", "query", {"type": "string", "maxLength": 80}, "办理事项的流程 id"),
    Param("stage", "query", {"type": "string", "maxLength": 40}, "阶段，如 初审中"),
    Param("region", "query", {"type": "string", "pattern": "^[0-9]{6}$"}, "单位所在地区代码（含下级）"),
    Param("submitted_from", "query", DAY, "提交日期起（北京时间，含）"),
    Param("submitted_to", "query", DAY, "提交日期止（北京时间，含）"),
    Param("overdue", "query", {"type": "string", "enum": ["true", "false"]}, "只看已超期"),
    Param("claimed", "query", {"type": "string", "enum": ["mine", "unclaimed"]}, "mine 我签收的；unclaimed 未签收"),
    Param("sort", "query", {"type": "string", "enum": SORTS}, "排序：created、due、key，前加 - 为倒序"),
    PAGE,
    PAGE_SIZE,
)
DOMAIN_PARAMS = (
    Param("expires_from", "query", DAY, "到期日起（含）"),
    Param("expires_to", "query", DAY, "到期日止（含）"),
    Param("region", "query", {"type": "string", "pattern": "^[0-9]{6}$"}, "（编办）单位所在地区代码"),
    Param("suffix", "query", {"type": "string", "enum": ["政务", "公益"]}, "后缀"),
    Param("status", "query", {"type": "string", "enum": ["active", "expired", "frozen", "deleted"]}, "状态"),
    Param("q", "query", {"type": "string", "maxLength": 60}, "域名或单位名称的一部分"),
    PAGE,
    PAGE_SIZE,
)
CERTIFICATE_REFERENCE = Param(
    "reference", "path", {"type": "string", "pattern": "^[0-9A-Za-z]{1,40}$"}, "公开 id（32位）或标识编号（CA 开头）"
)
ACTION_ERRORS = (400, 401, 403, 404, 409, 422, 429)

OPERATIONS = (
    Operation("get", "/openapi.json", "api.openapi", TAG_ACCOUNT, "本接口的 OpenAPI 3.1 文档", "", public=True),
    Operation("get", "/docs", "api.docs", TAG_ACCOUNT, "接口参考（网页）", "", public=True),
    Operation("get", "/me", "api.me", TAG_ACCOUNT, "令牌所属账号", "Account"),
    Operation(
        "get", "/work-items", "api.list_work_items", TAG_WORK, "我的待办", "WorkItemPage",
        "审核人员：本机构本角色的待办，筛选与排序同“待办”页面；单位：需要本单位办理的任务。", INBOX_PARAMS,
    ),
    Operation(
        "get", "/work-items/{item_id}", "api.show_work_item", TAG_WORK, "一个待办任务及其表单", "WorkItemDetail",
        params=(ITEM_ID,), errors=(400, 401, 403, 404, 429),
    ),
    Operation(
        "post", "/work-items/{item_id}/claim", "api.claim_work_item", TAG_WORK, "签收", "WorkItemDetail",
        "仅审核人员。已被他人签收时返回 409（claim_conflict）。", (ITEM_ID,), errors=ACTION_ERRORS,
    ),
    Operation(
        "post", "/work-items/{item_id}/release", "api.release_work_item", TAG_WORK, "释放", "WorkItemDetail",
        "仅签收人本人可以释放。", (ITEM_ID,), errors=ACTION_ERRORS,
    ),
    Operation(
        "post", "/work-items/{item_id}/complete", "api.complete_work_item", TAG_WORK, "办理（提交表单）", "Application",
        "与网页提交相同：同一表单校验（中文错误），同一流程推进与审计记录。单位提交时，未通过的内容保存为草稿。",
        (ITEM_ID,), "FormSubmission", errors=ACTION_ERRORS,
    ),
    Operation(
        "post", "/applications", "api.start_application", TAG_APPLICATIONS, "发起申请（单位）", "Application",
        "与“我要办理 → 立即申请”相同：有启动表单的事项随 data 提交；否则创建申请，其首个表单为单位的待办"
        "（open_items），经 /work-items/{item_id}/complete 提交。",
        body="StartRequest", status=201, errors=ACTION_ERRORS,
    ),
    Operation(
        "get", "/applications/{business_key}", "api.show_application", TAG_APPLICATIONS, "申请状态", "Application",
        params=(BUSINESS_KEY,), errors=(400, 401, 403, 404, 429),
    ),
    Operation(
        "get", "/applications/{business_key}/history", "api.application_history", TAG_APPLICATIONS, "办理记录",
        "History", params=(BUSINESS_KEY,), errors=(400, 401, 403, 404, 429),
    ),
    Operation(
        "get", "/domains", "api.query_domains", TAG_DOMAINS, "到期域名查询", "DomainPage",
        "单位查询本单位的域名；编办查询所辖单位的域名。", DOMAIN_PARAMS,
    ),
    Operation(
        "post", "/domains/renewals", "api.renew_domains", TAG_DOMAINS, "域名续费", "Application",
        "与到期域名查询页的“续费”相同：勾选同一单位的一个或多个域名与年限；编办可为所辖单位续费。",
        body="RenewalRequest", status=201, errors=ACTION_ERRORS,
    ),
    Operation(
        "get", "/certificates/{reference}", "api.show_certificate", TAG_CERTIFICATES, "查询标识证书", "Certificate",
        "按公开 id 或标识编号查询，内容与公开的标识证书页面相同。", (CERTIFICATE_REFERENCE,),
        errors=(400, 401, 403, 404, 429),
    ),
)  # fmt: skip


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "政务和公益机构网上名称办理平台 API",
            "version": VERSION,
            "description": "令牌在“API 令牌”页面创建，以 Authorization: Bearer <令牌> 发送。错误均为 JSON："
            "error.code 供程序判断，error.message 为中文说明。详见 docs/api.md。",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "个人 API 令牌"}},
        },
    }


def _operation(operation: Operation) -> dict[str, Any]:
    found: dict[str, Any] = {
        "operationId": operation.endpoint.removeprefix("api."),
        "tags": [operation.tag],
        "summary": operation.summary,
        "responses": {str(operation.status): _success(operation)},
    }
    if operation.description:
        found["description"] = operation.description
    if operation.params:
        found["parameters"] = [_parameter(p) for p in operation.params]
    if operation.body:
        content = {"application/json": {"schema": ref(operation.body)}}
        found["requestBody"] = {"required": True, "content": content}
    if operation.public:
        found["security"] = []
    for status in operation.errors if not operation.public else ():
        found["responses"][str(status)] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    return found


def _success(operation: Operation) -> dict[str, Any]:
    if operation.endpoint == "api.openapi":
        return {"description": "OpenAPI 文档", "content": {"application/json": {"schema": {"type": "object"}}}}
    if not operation.response:
        return {"description": "HTML 页面", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {"description": "成功", "content": {"application/json": {"schema": ref(operation.response)}}}


def _parameter(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": param.where,
        "required": param.where == "path",
        "schema": param.schema,
        "description": param.description,
    }
