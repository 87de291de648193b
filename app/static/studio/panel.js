/* The properties panel: on selection, the fields of that kind of element, written through Studio.Model.
   Lanes: role and routing. User tasks: form, stage, deadline, instructions. Service tasks: operator
   from the registry and its parameters (texts of notifications as plain text, with a preview).
   Gateway flows: condition and default path. Timers, messages, scripts. The process: its name,
   guide text and properties. Every element: documentation and any other property. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});
  const h = Studio.h;

  const TYPE_LABELS = {
    "bpmn:Process": "流程", "bpmn:Collaboration": "流程", "bpmn:Participant": "流程", "bpmn:Lane": "泳道（办理角色）",
    "bpmn:UserTask": "用户任务（由人办理）", "bpmn:ServiceTask": "服务任务（系统操作）", "bpmn:ScriptTask": "脚本任务",
    "bpmn:Task": "任务（未指定类型）", "bpmn:StartEvent": "开始事件", "bpmn:EndEvent": "结束事件",
    "bpmn:IntermediateCatchEvent": "中间事件（等待）", "bpmn:IntermediateThrowEvent": "中间事件（发出）",
    "bpmn:BoundaryEvent": "边界事件", "bpmn:ExclusiveGateway": "排他网关（选一条路）",
    "bpmn:ParallelGateway": "并行网关", "bpmn:InclusiveGateway": "包容网关", "bpmn:EventBasedGateway": "事件网关",
    "bpmn:SequenceFlow": "连线", "bpmn:SubProcess": "子流程", "bpmn:TextAnnotation": "注释",
  };
  const PROCESS_FIELDS = [
    ["businessKeyPrefix", "申请编号前缀", "两个大写字母，如 KB（申请编号 KB2026000123）"],
    ["unitTypes", "可申请的单位类型", "逗号分隔：党政机关、事业单位、社会组织"],
    ["mainStages", "主要阶段（步骤条）", "逗号分隔，按办理顺序"],
  ];
  const USER_TASK_KEYS = ["formJsonSchemaFilename", "stage", "dueInWorkdays"];
  const ROUTING = [["", "按角色默认（本级编办 / 全国机构）"], ["own", "own：单位所在地区的本级机构"],
    ["province", "province：单位所在省份的机构"], ["office:", "office：指定一个机构"]];

  Studio.Panel = function (modeler, container, state) {
    const model = Studio.Model(modeler);
    const selection = modeler.get("selection");
    const canvas = modeler.get("canvas");
    let current = null;
    let writing = false;
    const textModes = {}; // parameter → "text" | "expression", while the element stays selected

    function write(fn) {
      writing = true;
      try { fn(); } finally { writing = false; }
    }

    // ---- form controls -------------------------------------------------------------------

    function field(label, control, help) {
      const target = control.labelTarget || control;
      const id = target.id || Studio.uid("f");
      target.id = id;
      return h("div", { className: "mb-2" },
        h("label", { className: "form-label small fw-semibold mb-1", attrs: { for: id }, text: label }),
        control,
        help ? h("div", { className: "form-text", text: help }) : null);
    }

    function input(value, commit, attrs) {
      return h("input", { className: "form-control form-control-sm", value: value || "", attrs: Object.assign({ type: "text" }, attrs || {}),
        on: { change: (e) => commit(e.target.value.trim()) } });
    }

    function area(value, commit, rows, mono) {
      return h("textarea", { className: "form-control form-control-sm" + (mono ? " font-monospace" : ""), value: value || "",
        attrs: { rows: rows || 3 }, on: { change: (e) => commit(e.target.value.replace(/\s+$/, "")) } });
    }

    function choose(options, value, commit) {
      const select = h("select", { className: "form-select form-select-sm", on: { change: (e) => commit(e.target.value) } },
        options.map(([v, label]) => h("option", { value: v, text: label, attrs: { selected: v === value } })));
      select.value = value || "";
      return select;
    }

    /** A drop-down that inserts a name (form field, context name, helper) at the cursor of `box`. */
    function inserter(box) {
      const groups = [
        ["表单字段", Studio.formFields(state.files).map((f) => [f.name, f.name + "（" + f.title + "）"])],
        ["流程上下文（只读）", Object.entries(state.context.names || {}).map(([n, d]) => [n, n + "（" + d.split("，")[0] + "）"])],
        ["函数", (state.context.helpers || []).map((n) => [n + "()", n + "()"])],
      ];
      const select = h("select", { className: "form-select form-select-sm mt-1", attrs: { "aria-label": "插入名称" },
        on: { change: (e) => { if (e.target.value) { Studio.insertAtCursor(box, e.target.value); } e.target.value = ""; } } },
      h("option", { value: "", text: "插入名称…" }),
      groups.map(([label, items]) => h("optgroup", { attrs: { label } }, items.map(([v, t]) => h("option", { value: v, text: t })))));
      const wrapper = h("div", {}, box, select);
      wrapper.labelTarget = box;
      return wrapper;
    }

    // ---- sections ---------------------------------------------------------------------------

    function nameSection(element) {
      return field("名称", input(element.businessObject.name, (v) => write(() => model.modeling.updateLabel(element, v))));
    }

    function documentationSection(element, bo) {
      return field("说明", area(model.documentation(bo), (v) => write(() => model.setDocumentation(element, bo, v)), 3),
        "写明此步骤做什么、依据什么，供办理人员和日后修改流程的同事参考。");
    }

    function propertyTable(element, bo, skip) {
      const props = model.properties(bo);
      const rows = Object.keys(props).filter((k) => skip.indexOf(k) < 0).map((key) =>
        h("tr", {},
          h("td", {}, input(key, (v) => write(() => { model.renameProperty(element, bo, key, v); }), { "aria-label": "属性名" })),
          h("td", {}, input(props[key], (v) => write(() => model.setProperty(element, bo, key, v)), { "aria-label": key + " 的值" })),
          h("td", {}, h("button", { className: "btn btn-sm btn-link text-danger p-0", text: "删除", attrs: { type: "button" },
            on: { click: () => { write(() => model.setProperty(element, bo, key, "")); render(current); } } }))));
      const newKey = input("", () => {}, { placeholder: "属性名", "aria-label": "新属性名" });
      const newValue = input("", () => {}, { placeholder: "值", "aria-label": "新属性值" });
      const add = h("button", { className: "btn btn-sm btn-outline-secondary text-nowrap", text: "添加", attrs: { type: "button" },
        on: { click: () => {
          if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(newKey.value.trim())) { newKey.classList.add("is-invalid"); newKey.title = "属性名须以字母开头，只含字母、数字和下划线"; return; }
          if (!newValue.value.trim()) { newValue.classList.add("is-invalid"); newValue.title = "请填写属性值"; return; }
          write(() => model.setProperty(element, bo, newKey.value.trim(), newValue.value.trim()));
          render(current);
        } } });
      return h("div", { className: "mb-2" },
        h("div", { className: "small fw-semibold mb-1", text: "其他属性" }),
        h("table", { className: "table table-sm studio-props mb-1" }, h("tbody", {}, rows,
          h("tr", {}, h("td", {}, newKey), h("td", {}, newValue), h("td", {}, add)))),
        h("div", { className: "form-text", text: "如 paperMaterials、paperCopies；文字和文书中写作 {{ procedure.属性名 }}。" }));
    }

    function formOptions() {
      return [["", "（未指定）"]].concat(Object.keys(state.files).filter((p) => p.indexOf("forms/") === 0).sort()
        .map((p) => [p.slice(6), p.slice(6) + formTitle(p)]));
    }

    function formTitle(path) {
      try { const t = JSON.parse(state.files[path]).title; return t ? "（" + t + "）" : ""; } catch (e) { return "（JSON 有误）"; }
    }

    function processSection(element) {
      const target = model.processTarget();
      if (!target) { return [h("p", { className: "text-muted small", text: "没有可执行的流程。" })]; }
      const bo = target.bo;
      const props = model.properties(bo);
      const rename = (v) => write(() => {
        model.update(target.element, bo, { name: v });
        if (target.element.type === "bpmn:Participant") { model.modeling.updateLabel(target.element, v); }
      });
      const set = (key) => (v) => write(() => model.setProperty(target.element, bo, key, v));
      return [
        field("流程名称", input(bo.name, rename)),
        field("流程标识", h("input", { className: "form-control form-control-sm", value: bo.id, attrs: { readonly: true } }), "流程标识不能修改。"),
        PROCESS_FIELDS.map(([key, label, help]) => field(label, input(props[key], set(key)), help)),
        field("开始表单（可选）", choose(formOptions(), props.startFormJsonSchemaFilename || "", set("startFormJsonSchemaFilename"))),
        field("办事指南", area(model.documentation(bo), (v) => write(() => model.setDocumentation(target.element, bo, v)), 8),
          "单位在“我要办理”中看到的说明。"),
        propertyTable(target.element, bo, PROCESS_FIELDS.map((f) => f[0]).concat(["startFormJsonSchemaFilename"])),
      ];
    }

    function laneSection(element, hint) {
      const bo = element.businessObject;
      const routing = model.properties(bo).routing || "";
      const kind = routing.indexOf("office:") === 0 ? "office:" : routing;
      const listId = Studio.uid("roles");
      const role = input(bo.name, (v) => write(() => model.modeling.updateLabel(element, v)), { list: listId });
      const code = input(kind === "office:" ? routing.slice(7) : "", (v) => write(() => model.setProperty(element, bo, "routing", v ? "office:" + v : "")),
        { placeholder: "机构代码，如 编办:150000" });
      const routingSelect = choose(ROUTING, kind, (v) => {
        if (v === "office:") { render(current, "office"); return; }
        write(() => model.setProperty(element, bo, "routing", v));
        render(current);
      });
      const office = kind === "office:" || hint === "office";
      if (office) { routingSelect.value = "office:"; }
      return [
        field("办理角色（泳道名称）", role, "泳道名即办理角色；此泳道中的任务由该角色办理。"),
        h("datalist", { attrs: { id: listId } }, (state.context.roles || []).map((r) => h("option", { value: r }))),
        field("分派给哪个机构", routingSelect),
        office ? field("指定机构代码", code) : null,
        propertyTable(element, bo, ["routing"]),
      ];
    }

    function userTaskSection(element, bo) {
      const props = model.properties(bo);
      const set = (key) => (v) => write(() => model.setProperty(element, bo, key, v));
      const instructions = model.findExtension(bo, "spiffworkflow:InstructionsForEndUser");
      const openForm = h("button", { className: "btn btn-sm btn-link p-0", text: "编辑此表单", attrs: { type: "button" },
        on: { click: () => Studio.emit("open-form", props.formJsonSchemaFilename) } });
      return [
        field("表单", choose(formOptions(), props.formJsonSchemaFilename || "", (v) => { set("formJsonSchemaFilename")(v); render(current); })),
        props.formJsonSchemaFilename ? openForm : null,
        field("阶段（单位看到的状态）", input(props.stage, set("stage")), "如 初审中、复审中。"),
        field("办理时限（工作日）", input(props.dueInWorkdays, set("dueInWorkdays"), { type: "number", min: 0, step: 1 }), "留空表示不设时限。"),
        field("办理说明", area(instructions ? instructions.value : "", (v) => write(() =>
          model.setExtensionText(element, bo, "spiffworkflow:InstructionsForEndUser", v)), 5), "显示在表单上方。"),
      ];
    }

    function serviceTaskSection(element, bo) {
      const current = model.operator(bo) || { name: "", resultVariable: "", params: {} };
      const registry = state.operators;
      const chosen = registry.find((op) => op.name === current.name);
      const options = [["", "（请选择操作）"]].concat(registry.map((op) => [op.name, op.name + "：" + op.summary]));
      if (current.name && !chosen) { options.push([current.name, current.name + "（未注册）"]); }
      const pick = choose(options, current.name, (name) => {
        const op = registry.find((o) => o.name === name);
        const types = {};
        (op ? op.params : []).forEach((p) => { types[p.name] = pythonType(p.type); });
        write(() => model.setOperator(element, bo, name, types));
        render(element);
      });
      const section = [field("服务操作", pick, chosen ? chosen.summary : "操作由平台提供，参数是基于申请数据的表达式。")];
      section.push(field("结果保存为", input(current.resultVariable, (v) => write(() => model.setResultVariable(element, bo, v))),
        "操作的结果存入此名称，后续条件和文字可以使用。"));
      // Texts first: the wording of a notification is what policy staff change most.
      const isText = (p) => p.type === "str" && Studio.literalText((current.params[p.name] || {}).value || "\"\"") !== null;
      const params = chosen ? chosen.params.filter(isText).concat(chosen.params.filter((p) => !isText(p))) : [];
      params.forEach((p) => section.push(parameterField(element, bo, p, current.params[p.name])));
      Object.keys(current.params).filter((id) => !chosen || !chosen.params.find((p) => p.name === id)).forEach((id) =>
        section.push(h("div", { className: "alert alert-warning py-1 px-2 small" }, "参数 " + id + " 不属于该操作 ",
          h("button", { className: "btn btn-sm btn-link p-0", text: "删除", attrs: { type: "button" },
            on: { click: () => { write(() => model.setParameter(element, bo, id, "", null)); render(element); } } }))));
      return section;
    }

    function pythonType(name) { return { str: "str", int: "int", list: "list", dict: "dict", bool: "bool" }[name] || "any"; }

    function parameterField(element, bo, param, given) {
      const value = given ? given.value : "";
      const key = element.id + "/" + param.name;
      const literal = Studio.literalText(value);
      const mode = textModes[key] || (param.type === "str" && (literal !== null || value === "") ? "text" : "expression");
      const label = param.name + (param.optional ? "（可选）" : "") + (mode === "text" ? " · 文字" : " · 表达式");
      const commit = (v) => write(() => model.setParameter(element, bo, param.name, pythonType(param.type),
        mode === "text" ? (v ? Studio.literal(v) : "") : v));
      const box = mode === "text" ? area(literal || "", commit, param.name === "body" ? 5 : 2)
        : input(value, commit, { class: "form-control form-control-sm font-monospace", spellcheck: "false" });
      const toggle = h("button", { className: "btn btn-sm btn-link p-0 me-2", attrs: { type: "button" },
        text: mode === "text" ? "改为表达式" : "改为文字",
        on: { click: () => { textModes[key] = mode === "text" ? "expression" : "text"; render(element); } } });
      const preview = h("div", { className: "studio-text-preview small d-none", attrs: { "aria-live": "polite" } });
      const previewButton = mode === "text" ? h("button", { className: "btn btn-sm btn-link p-0", text: "预览", attrs: { type: "button" },
        on: { click: () => Studio.previewText(box.value, preview) } }) : null;
      const help = mode === "text" ? "可用 {{ 名称 }} 插入申请数据，如 {{ domain_name }}。" : "基于申请数据的表达式，文字须加引号。";
      return h("div", { className: "mb-2" }, field(label, inserter(box), help), toggle, previewButton, preview);
    }

    function scriptSection(element, bo) {
      const box = area(bo.script || "", (v) => write(() => model.modeling.updateProperties(element, { script: v || undefined })), 6, true);
      return [field("脚本", inserter(box), "受限的 Python：只能读写申请数据，不能导入模块。")];
    }

    function flowSection(element, bo) {
      const source = element.source;
      const gateway = source && /Gateway$/.test(source.type) && source.type !== "bpmn:ParallelGateway";
      if (!gateway) { return [h("p", { className: "small text-muted", text: "只有排他网关或包容网关分出的连线可以设置条件。" })]; }
      const isDefault = source.businessObject.default === bo;
      const box = area(model.expressionText(bo.conditionExpression), (v) => write(() => model.setCondition(element, v)), 3, true);
      const check = h("input", { className: "form-check-input", attrs: { type: "checkbox", id: Studio.uid("default") }, checked: isDefault,
        on: { change: (e) => { write(() => model.setDefaultFlow(element, e.target.checked)); render(element); } } });
      return [
        isDefault ? h("p", { className: "small text-muted", text: "这是默认路径：其他连线的条件都不成立时走这里。" })
          : field("条件", inserter(box), "条件成立时走这条连线，例如 decision == \"reject\"。"),
        h("div", { className: "form-check mb-2" }, check, h("label", { className: "form-check-label small", attrs: { for: check.id }, text: "设为默认路径" })),
      ];
    }

    function eventSection(element, bo) {
      const section = [];
      (bo.get("eventDefinitions") || []).forEach((definition) => {
        if (definition.$instanceOf("bpmn:TimerEventDefinition")) { section.push(timerFields(element, definition)); }
        if (definition.$instanceOf("bpmn:MessageEventDefinition")) { section.push(messageFields(element, bo, definition)); }
      });
      if (element.type !== "bpmn:StartEvent") {
        section.push(field("阶段（单位看到的状态）", input(model.properties(bo).stage, (v) => write(() => model.setProperty(element, bo, "stage", v))),
          "等待于此或在此结束时显示的状态，如 注册成功。"));
      }
      return section;
    }

    function timerFields(element, definition) {
      const now = model.timer(definition);
      const kinds = [["timeDate", "到指定时间（表达式得出日期时间）"], ["timeDuration", "经过一段时间（ISO 8601 时长）"], ["timeCycle", "周期（ISO 8601）"]];
      const box = area(now.expression, (v) => write(() => model.setTimer(element, definition, now.kind, v)), 2, true);
      return h("div", {},
        field("定时方式", choose(kinds, now.kind, (k) => { write(() => model.setTimer(element, definition, k, now.expression)); render(element); })),
        field("定时表达式", inserter(box), "例如 start_of_day(add_workdays(today(), 1))：下一个工作日零点。"));
    }

    function messageFields(element, bo, definition) {
      const options = [["", "（未指定）"]].concat(model.messages().map((m) => [m.id, m.name || m.id]));
      const ref = definition.messageRef ? definition.messageRef.id : "";
      const variable = model.findExtension(definition, "spiffworkflow:MessageVariable");
      return h("div", {},
        field("消息", choose(options, ref, (id) => write(() => model.update(element, definition,
          { messageRef: model.messages().find((m) => m.id === id) })))),
        element.type === "bpmn:IntermediateThrowEvent" || element.type === "bpmn:EndEvent" ? null :
          field("消息内容保存为", input(variable ? variable.value : "", (v) => write(() =>
            model.setExtensionText(element, definition, "spiffworkflow:MessageVariable", v)))),
        field("关联键（表达式）", input(model.properties(bo).correlationKey, (v) => write(() => model.setProperty(element, bo, "correlationKey", v))),
          "用申请数据中的哪一项识别这条消息，如 charge_id。"));
    }

    // ---- render ------------------------------------------------------------------------------

    function body(element) {
      const bo = element.businessObject;
      const type = bo.$type;
      if (type === "bpmn:Collaboration" || type === "bpmn:Process" || type === "bpmn:Participant") { return processSection(element); }
      const parts = [nameSection(element)];
      if (type === "bpmn:UserTask") { parts.push(userTaskSection(element, bo)); }
      if (type === "bpmn:ServiceTask") { parts.push(serviceTaskSection(element, bo)); }
      if (type === "bpmn:ScriptTask") { parts.push(scriptSection(element, bo)); }
      if (type === "bpmn:SequenceFlow") { parts.push(flowSection(element, bo)); }
      if (/Event$/.test(type)) { parts.push(eventSection(element, bo)); }
      parts.push(documentationSection(element, bo));
      const skip = type === "bpmn:UserTask" ? USER_TASK_KEYS : /Event$/.test(type) ? ["stage", "correlationKey"] : [];
      parts.push(propertyTable(element, bo, skip));
      return parts;
    }

    function render(element, hint) {
      current = element && element.labelTarget ? element.labelTarget : element || canvas.getRootElement();
      const bo = current.businessObject;
      const process = /^bpmn:(Collaboration|Participant|Process)$/.test(bo.$type) ? model.processTarget() : null;
      const title = h("div", { className: "studio-panel-title" },
        h("span", { className: "fw-semibold", text: TYPE_LABELS[bo.$type] || bo.$type.replace("bpmn:", "") }),
        h("code", { className: "small ms-2", text: process ? process.bo.id : bo.id }));
      const content = current.type === "bpmn:Lane" ? laneSection(current, hint) : body(current);
      container.replaceChildren(title, h("div", { className: "studio-panel-body" }, content));
    }

    modeler.on("selection.changed", (e) => render(e.newSelection[0] || null));
    modeler.get("eventBus").on("commandStack.changed", () => { if (!writing && current) { render(selection.get()[0] || null); } });
    Studio.on("files-changed", () => { if (!writing) { render(selection.get()[0] || null); } });

    return { render, refresh: () => render(selection.get()[0] || null) };
  };
})();
