/* The form editor: the procedure's forms/*.schema.json as a list of fields (name, title, description,
   type, required, options, format, maximum length) or as raw JSON, with a live preview that the
   server renders with the unit's wizard renderer. Keys the field editor does not show (pattern,
   minLength, if/then …) are kept as they are. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});
  const h = Studio.h;
  const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
  const TYPES = [["string", "文字"], ["integer", "整数"], ["number", "数字"], ["boolean", "勾选（是/否）"], ["array", "多项（列表或多选）"]];
  const NEW_FORM = { $schema: "https://json-schema.org/draft/2020-12/schema", title: "新表单", description: "",
    type: "object", properties: {}, required: [], additionalProperties: false };

  Studio.Forms = function (root, state, previewUrl) {
    const list = root.querySelector("[data-form-list]");
    const editor = root.querySelector("[data-form-editor]");
    const preview = root.querySelector("[data-form-preview]");
    let selected = null;
    let raw = false;
    const expanded = new Set(); // fields whose further settings are open

    function paths() { return Object.keys(state.files).filter((p) => p.indexOf("forms/") === 0).sort(); }

    function schemaOf(path) { try { return JSON.parse(state.files[path]); } catch (e) { return null; } }

    function save(schema) {
      state.files[selected] = JSON.stringify(schema, null, 2) + "\n";
      Studio.emit("files-changed", selected);
      refreshPreview();
    }

    // ---- the list of forms ---------------------------------------------------------------

    function renderList() {
      const items = paths().map((path) => {
        const schema = schemaOf(path);
        return h("button", { className: "list-group-item list-group-item-action" + (path === selected ? " active" : ""),
          attrs: { type: "button", "aria-current": path === selected ? "true" : false }, on: { click: () => open(path) } },
        h("div", { className: "fw-semibold small", text: schema && schema.title ? schema.title : "（无标题）" }),
        h("code", { className: "small", text: path.slice(6) }));
      });
      const name = h("input", { className: "form-control form-control-sm", attrs: { placeholder: "英文文件名，如 site-change", "aria-label": "新表单文件名" } });
      const problem = h("div", { className: "invalid-feedback" });
      const create = h("button", { className: "btn btn-sm btn-outline-primary", text: "新建表单", attrs: { type: "button" }, on: { click: () => {
        const path = "forms/" + name.value.trim() + ".schema.json";
        if (!/^[a-z0-9][a-z0-9_-]*$/.test(name.value.trim())) { problem.textContent = "文件名只能含小写字母、数字、- 和 _"; name.classList.add("is-invalid"); return; }
        if (state.files[path] !== undefined) { problem.textContent = "已有同名表单"; name.classList.add("is-invalid"); return; }
        state.files[path] = JSON.stringify(NEW_FORM, null, 2) + "\n";
        Studio.emit("files-changed", path);
        open(path);
      } } });
      list.replaceChildren(h("div", { className: "list-group mb-3" }, items),
        h("div", { className: "small fw-semibold mb-1", text: "新建表单" }), h("div", { className: "input-group input-group-sm has-validation" }, name, create, problem),
        h("div", { className: "form-text", text: "新表单须在用户任务的“表单”中选用，部署时才会一并部署。" }));
    }

    function open(path) {
      selected = path;
      expanded.clear();
      renderList();
      renderEditor();
      refreshPreview();
    }

    // ---- field editing -----------------------------------------------------------------------

    function renderEditor() {
      if (!selected) { editor.replaceChildren(h("p", { className: "text-muted", text: "请在左侧选择一个表单。" })); return; }
      const schema = schemaOf(selected);
      const tabs = h("div", { className: "btn-group btn-group-sm mb-3", attrs: { role: "group", "aria-label": "编辑方式" } },
        h("button", { className: "btn " + (raw ? "btn-outline-secondary" : "btn-secondary"), text: "逐项编辑", attrs: { type: "button", "aria-pressed": String(!raw) },
          on: { click: () => { raw = false; renderEditor(); } } }),
        h("button", { className: "btn " + (raw ? "btn-secondary" : "btn-outline-secondary"), text: "JSON 源文件", attrs: { type: "button", "aria-pressed": String(raw) },
          on: { click: () => { raw = true; renderEditor(); } } }));
      const head = h("div", { className: "d-flex justify-content-between align-items-center flex-wrap gap-2" },
        h("h2", { className: "h6 mb-3" }, h("code", { text: selected })), tabs);
      if (raw || schema === null || typeof schema.properties !== "object") { editor.replaceChildren(head, rawEditor(schema === null)); return; }
      editor.replaceChildren(head, h("div", { className: "studio-users small text-muted mb-2", text: usedBy() }), formHeader(schema),
        h("div", { attrs: { "data-field-list": "" } }, Object.keys(schema.properties).map((name, index) => fieldCard(schema, name, index))),
        h("button", { className: "btn btn-sm btn-outline-primary", text: "＋ 添加字段", attrs: { type: "button" }, on: { click: () => addField(schema) } }));
    }

    function usedBy() {
      const name = selected.slice(6);
      const users = (state.formUsers ? state.formUsers(name) : []);
      return users.length ? "使用此表单的任务：" + users.join("、") : "尚无任务使用此表单（未选用的表单不会部署）。";
    }

    function rawEditor(broken) {
      const problem = h("div", { className: "small text-danger mt-1", attrs: { "aria-live": "polite" }, text: broken ? "当前内容不是有效的 JSON，请修正。" : "" });
      const box = h("textarea", { className: "form-control font-monospace studio-json", value: state.files[selected], attrs: { rows: 24, "aria-label": "表单 JSON", spellcheck: "false" },
        on: { input: Studio.debounce((e) => {
          state.files[selected] = e.target.value;
          Studio.emit("files-changed", selected);
          try { JSON.parse(e.target.value); problem.textContent = ""; } catch (err) { problem.textContent = "JSON 有误：" + err.message; }
          refreshPreview();
        }, 400) } });
      return h("div", {}, box, problem);
    }

    function formHeader(schema) {
      const set = (key) => (e) => { const v = e.target.value.trim(); if (v) { schema[key] = v; } else { delete schema[key]; } save(schema); renderList(); };
      return h("div", { className: "card mb-3" }, h("div", { className: "card-body py-2" },
        labelled("表单标题", h("input", { className: "form-control form-control-sm", value: schema.title || "", on: { change: set("title") } })),
        labelled("表单说明", h("textarea", { className: "form-control form-control-sm", value: schema.description || "", attrs: { rows: 2 }, on: { change: set("description") } }))));
    }

    function labelled(text, control, help, extra) {
      control.id = control.id || Studio.uid("ff");
      return h("div", { className: "mb-2 " + (extra || "") }, h("label", { className: "form-label small mb-1", attrs: { for: control.id }, text }), control,
        help ? h("div", { className: "form-text", text: help }) : null);
    }

    function target(prop) { return prop.type === "array" ? (prop.items = prop.items || { type: "string" }) : prop; }

    function setKey(object, key, value) { if (value === "" || value === undefined || value === null) { delete object[key]; } else { object[key] = value; } }

    function fieldCard(schema, name, index) {
      const prop = schema.properties[name];
      const required = (schema.required || []).indexOf(name) >= 0;
      const inner = prop.type === "array" ? prop.items || {} : prop;
      const change = (fn) => (e) => { fn(e.target); save(schema); };
      const rerender = (fn) => (e) => { fn(e.target); save(schema); renderEditor(); };
      const names = Object.keys(schema.properties);

      const nameBox = h("input", { className: "form-control form-control-sm font-monospace", value: name, attrs: { "aria-label": "字段名", "data-field-name": name },
        on: { change: (e) => rename(schema, name, e.target) } });
      const title = h("input", { className: "form-control form-control-sm", value: prop.title || "", attrs: { "data-field-title": name },
        on: { change: change((t) => setKey(prop, "title", t.value.trim())) } });
      const description = h("input", { className: "form-control form-control-sm", value: prop.description || "",
        on: { change: change((t) => setKey(prop, "description", t.value.trim())) } });
      const type = select(TYPES, prop.type || "string", rerender((t) => retype(prop, t.value)));
      const formats = [["", "（无）"]].concat(Object.entries(state.context.formats || {}).map(([k, v]) => [k, k + "：" + v.slice(0, 18)]));
      const format = select(formats, inner.format || "", change((t) => setKey(target(prop), "format", t.value)));
      const maxLength = h("input", { className: "form-control form-control-sm", value: inner.maxLength || "", attrs: { type: "number", min: 1 },
        on: { change: change((t) => setKey(target(prop), "maxLength", t.value ? parseInt(t.value, 10) : "")) } });
      const options = h("textarea", { className: "form-control form-control-sm", value: optionLines(inner), attrs: { rows: 3, placeholder: "每行一项：值=显示名称，如 approve=通过" },
        on: { change: change((t) => setOptions(target(prop), t.value)) } });
      const requiredBox = h("input", { className: "form-check-input", checked: required, attrs: { type: "checkbox", id: Studio.uid("req"), "data-field-required": name },
        on: { change: change((t) => setRequired(schema, name, t.checked)) } });
      const textual = (prop.type || "string") === "string" || prop.type === "array";
      const more = h("details", { className: "mt-1", attrs: { open: expanded.has(name) }, on: { toggle: (e) => {
        if (e.target.open) { expanded.add(name); } else { expanded.delete(name); }
      } } },
      h("summary", { className: "small text-muted", text: "更多设置：" + typeLabel(prop) + (inner.format ? " · " + inner.format : "") + (optionLines(inner) ? " · 有选项" : "") }),
      h("div", { className: "pt-2" }, labelled("说明（显示在输入框下方）", description),
        h("div", { className: "row g-2" }, labelled("类型", type, null, "col-sm-4"),
          textual ? labelled("格式", format, null, "col-sm-5") : null, textual ? labelled("最大长度", maxLength, null, "col-sm-3") : null),
        textual ? labelled("选项（可选）", options, "填写后显示为单选、下拉或多选；留空为自由填写。") : null));
      return h("div", { className: "card mb-2 studio-field", dataset: { field: name } }, h("div", { className: "card-body py-2" },
        h("div", { className: "row g-2 align-items-end" },
          labelled("字段名", nameBox, null, "col-sm-3 mb-0"), labelled("标题（填表人看到的）", title, null, "col-sm-5 mb-0"),
          h("div", { className: "col-sm-4 d-flex align-items-center justify-content-between text-nowrap" },
            h("div", { className: "form-check mb-1" }, requiredBox, h("label", { className: "form-check-label small", attrs: { for: requiredBox.id }, text: "必填" })),
            h("div", { className: "btn-group btn-group-sm mb-1" },
              h("button", { className: "btn btn-outline-secondary", text: "↑", attrs: { type: "button", title: "上移", "aria-label": "上移 " + name, disabled: index === 0 }, on: { click: () => move(schema, names, index, -1) } }),
              h("button", { className: "btn btn-outline-secondary", text: "↓", attrs: { type: "button", title: "下移", "aria-label": "下移 " + name, disabled: index === names.length - 1 }, on: { click: () => move(schema, names, index, 1) } }),
              h("button", { className: "btn btn-outline-danger", text: "✕", attrs: { type: "button", title: "删除", "aria-label": "删除字段 " + name }, on: { click: () => remove(schema, name) } })))),
        more));
    }

    function typeLabel(prop) { return (TYPES.find(([v]) => v === (prop.type || "string")) || ["", prop.type])[1]; }

    function select(options, value, onChange) {
      const node = h("select", { className: "form-select form-select-sm", on: { change: onChange } }, options.map(([v, t]) => h("option", { value: v, text: t })));
      node.value = value;
      return node;
    }

    function optionLines(prop) {
      if (Array.isArray(prop.oneOf)) { return prop.oneOf.filter((o) => o && "const" in o).map((o) => o.const + (o.title && o.title !== o.const ? "=" + o.title : "")).join("\n"); }
      return Array.isArray(prop.enum) ? prop.enum.join("\n") : "";
    }

    function setOptions(prop, text) {
      const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
      delete prop.enum;
      delete prop.oneOf;
      if (!lines.length) { return; }
      const numeric = prop.type === "integer" || prop.type === "number";
      prop.oneOf = lines.map((line) => {
        const [value, ...label] = line.split("=");
        const constant = numeric && !isNaN(Number(value)) ? Number(value) : value.trim();
        return { const: constant, title: (label.join("=") || value).trim() };
      });
    }

    function retype(prop, type) {
      if (type === "array" && prop.type !== "array") {
        const item = { type: "string" };
        ["format", "maxLength", "oneOf", "enum", "pattern"].forEach((k) => { if (k in prop) { item[k] = prop[k]; delete prop[k]; } });
        prop.items = item;
      } else if (type !== "array" && prop.type === "array") {
        Object.assign(prop, prop.items || {});
        ["items", "minItems", "maxItems", "uniqueItems"].forEach((k) => delete prop[k]);
      }
      prop.type = type;
      if (type === "boolean" || type === "integer" || type === "number") { ["format", "maxLength", "pattern", "minLength"].forEach((k) => delete prop[k]); }
    }

    function setRequired(schema, name, on) {
      const list = (schema.required || []).filter((n) => n !== name);
      if (on) { list.push(name); }
      schema.required = list;
    }

    function rename(schema, old, box) {
      const name = box.value.trim();
      if (name === old) { return; }
      if (!NAME.test(name) || schema.properties[name]) {
        box.classList.add("is-invalid");
        box.title = !NAME.test(name) ? "字段名须以字母开头，只含字母、数字和下划线" : "已有同名字段";
        return;
      }
      const properties = {};
      Object.keys(schema.properties).forEach((k) => { properties[k === old ? name : k] = schema.properties[k]; });
      schema.properties = properties;
      schema.required = (schema.required || []).map((n) => (n === old ? name : n));
      if (expanded.delete(old)) { expanded.add(name); }
      save(schema);
      renderEditor();
    }

    function move(schema, names, index, step) {
      const order = names.slice();
      const [item] = order.splice(index, 1);
      order.splice(index + step, 0, item);
      const properties = {};
      order.forEach((k) => { properties[k] = schema.properties[k]; });
      schema.properties = properties;
      save(schema);
      renderEditor();
    }

    function remove(schema, name) {
      delete schema.properties[name];
      setRequired(schema, name, false);
      save(schema);
      renderEditor();
    }

    function addField(schema) {
      let n = Object.keys(schema.properties).length + 1;
      while (schema.properties["field_" + n]) { n += 1; }
      schema.properties["field_" + n] = { type: "string", title: "新字段", maxLength: 100 };
      expanded.add("field_" + n);
      save(schema);
      renderEditor();
      const cards = editor.querySelectorAll(".studio-field");
      const last = cards[cards.length - 1];
      if (last) { last.scrollIntoView({ block: "nearest" }); last.querySelector("input").focus(); }
    }

    // ---- preview -----------------------------------------------------------------------------

    const refreshPreview = Studio.debounce(() => {
      if (!selected) { preview.replaceChildren(h("p", { className: "text-muted small", text: "选择表单后在此预览。" })); return; }
      const path = selected;
      const procedure = state.procedureProperties ? state.procedureProperties() : {};
      Studio.post(previewUrl, { name: path.slice(6), text: state.files[path], procedure }).then((result) => {
        if (path !== selected) { return; }
        if (typeof result.body === "string") { preview.innerHTML = result.body; } // server-rendered, escaped by Jinja
        else { preview.replaceChildren(h("div", { className: "alert alert-danger small", text: Studio.failure(result) })); }
      });
    }, 300);

    Studio.on("open-form", (name) => {
      if (!name || state.files["forms/" + name] === undefined) { return; }
      Studio.showTab("forms");
      open("forms/" + name);
    });

    renderList();
    renderEditor();
    if (paths().length) { open(paths()[0]); }
    return { open, refresh: () => { renderList(); renderEditor(); } };
  };
})();
