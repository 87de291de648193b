/* Print templates (documents/*.md and *.json) and notification texts. Templates are edited here with a
   preview the server renders from sample data through the same code that prints the PDF; the texts of
   notify.send tasks are listed and open in the diagram's properties panel, which edits and previews them. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});
  const h = Studio.h;
  const NEW_LETTER = "---\ntitle: 新文书\ncopies: 1\n---\n# 新文书\n\n| {{ office }}：\n\n{{ unit.name }}……\n\n>> {{ unit.name }}（盖章）\n>> {{ today }}\n";
  const NEW_TABLE = JSON.stringify({ title: "新表格", copies: "1", columns: [25, 75], rows: [{ section: "一、基本信息" }, { cells: ["单位名称", "{{ unit.name }}"] }] }, null, 2) + "\n";
  const NAMES = [
    ["unit.name", "单位名称"], ["unit.uscc", "统一社会信用代码"], ["unit.region", "所在地区"], ["unit.address", "单位地址"],
    ["unit.leader", "机构负责人"], ["office", "同级机构编制部门"], ["business_key", "申请编号"], ["today", "打印日期"],
    ["procedure.属性名", "流程属性"], ["display.字段名", "选项的中文名称"],
  ];

  Studio.Texts = function (root, state, urls) {
    const list = root.querySelector("[data-text-list]");
    const editor = root.querySelector("[data-text-editor]");
    const preview = root.querySelector("[data-text-preview]");
    let selected = null;

    function documents() { return Object.keys(state.files).filter((p) => p.indexOf("documents/") === 0).sort(); }

    function renderList() {
      const docs = documents().map((path) => h("button", { className: "list-group-item list-group-item-action" + (path === selected ? " active" : ""),
        attrs: { type: "button" }, on: { click: () => open(path) } }, h("code", { className: "small", text: path.slice(10) })));
      const name = h("input", { className: "form-control form-control-sm", attrs: { placeholder: "小写英文名，如 notice", "aria-label": "新文书文件名" } });
      const kind = h("select", { className: "form-select form-select-sm", attrs: { "aria-label": "文书类型" } },
        h("option", { value: ".md", text: "函（.md）" }), h("option", { value: ".json", text: "表格（.json）" }));
      const problem = h("div", { className: "invalid-feedback" });
      const create = h("button", { className: "btn btn-sm btn-outline-primary", text: "新建", attrs: { type: "button" }, on: { click: () => {
        const base = name.value.trim();
        const path = "documents/" + base + kind.value;
        if (!/^[a-z][a-z0-9_-]{0,39}$/.test(base)) { problem.textContent = "文件名须以小写字母开头，只含小写字母、数字、- 和 _"; name.classList.add("is-invalid"); return; }
        if (state.files[path] !== undefined) { problem.textContent = "已有同名文书"; name.classList.add("is-invalid"); return; }
        state.files[path] = kind.value === ".md" ? NEW_LETTER : NEW_TABLE;
        Studio.emit("files-changed", path);
        open(path);
      } } });
      const notices = (state.notifications ? state.notifications() : []).map((n) => h("button", { className: "list-group-item list-group-item-action small",
        attrs: { type: "button" }, on: { click: () => Studio.emit("locate", n.id) } },
      h("div", { className: "fw-semibold", text: n.name }), h("div", { className: "text-muted text-truncate", text: n.subject })));
      list.replaceChildren(
        h("h2", { className: "h6", text: "打印文书" }), h("div", { className: "list-group mb-2" }, docs.length ? docs : h("div", { className: "list-group-item small text-muted", text: "本流程没有打印文书" })),
        h("div", { className: "input-group input-group-sm has-validation mb-1" }, name, kind, create, problem),
        h("div", { className: "form-text mb-3", text: "新文书须列入流程属性 printDocuments（如 letter,form）才会部署和打印。" }),
        h("h2", { className: "h6", text: "通知文字" }),
        h("div", { className: "list-group" }, notices.length ? notices : h("div", { className: "list-group-item small text-muted", text: "流程中没有发送通知的步骤" })),
        h("div", { className: "form-text", text: "点击后在流程图中打开该步骤，在右侧属性中修改标题和正文，并可预览。" }));
    }

    function open(path) {
      selected = path;
      renderList();
      const box = h("textarea", { className: "form-control font-monospace studio-json", value: state.files[path],
        attrs: { rows: 26, spellcheck: "false", "aria-label": "文书模板 " + path, "data-document-text": path },
        on: { input: Studio.debounce((e) => { state.files[path] = e.target.value; Studio.emit("files-changed", path); refreshPreview(); }, 400) } });
      const names = h("details", { className: "small mt-2" }, h("summary", { text: "模板中可用的数据" }),
        h("ul", { className: "mb-0" }, NAMES.map(([n, t]) => h("li", {}, h("code", { text: "{{ " + n + " }}" }), "：" + t)),
          Studio.formFields(state.files).map((f) => h("li", {}, h("code", { text: "{{ application." + f.name + " }}" }), "：" + f.title))));
      editor.replaceChildren(h("h2", { className: "h6" }, h("code", { text: path })), box, names,
        h("p", { className: "form-text", text: "格式见 documents/README.md：函以 --- 属性块开头；# 标题，>> 右对齐，| 顶格。" }));
      refreshPreview();
    }

    const refreshPreview = Studio.debounce(() => {
      if (!selected) { preview.replaceChildren(h("p", { className: "text-muted small", text: "选择文书后在此预览（示例数据）。" })); return; }
      const path = selected;
      Studio.post(urls.document, { path, text: state.files[path], files: state.files, procedure: state.procedureProperties() }).then((result) => {
        if (path !== selected) { return; }
        if (typeof result.body === "string") { preview.innerHTML = result.body; } // server-rendered, escaped by Jinja
        else { preview.replaceChildren(h("div", { className: "alert alert-danger small", text: Studio.failure(result) })); }
      });
    }, 300);

    /** Preview of a notification text (Jinja over the application data) under `target`. */
    Studio.previewText = function (text, target) {
      target.classList.remove("d-none");
      target.replaceChildren(h("span", { className: "text-muted", text: "正在生成预览…" }));
      Studio.post(urls.text, { text, files: state.files, procedure: state.procedureProperties() }).then((result) => {
        if (!result.ok) { target.replaceChildren(h("div", { className: "text-danger", text: Studio.failure(result) })); return; }
        target.replaceChildren(h("div", {}, h("div", { className: "studio-preview-text", text: result.body.text }),
          result.body.missing.length ? h("div", { className: "text-muted mt-1", text: "示例数据中没有（办理时由前面的步骤提供）：" + result.body.missing.join("、") }) : null));
      });
    };

    renderList();
    if (documents().length) { open(documents()[0]); } else { refreshPreview(); }
    return { refresh: renderList };
  };
})();
