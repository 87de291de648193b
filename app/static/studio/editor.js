/* The studio's editor page: loads the procedure (the author's draft or the newest version), wires the
   modeler, properties panel, form and text editors and the problem list, and saves drafts, checks,
   试跑 (replay.js) and deploys. Nothing here decides what may be deployed: the server checks every deploy again. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});
  const h = Studio.h;

  function start(root) {
    const urls = root.dataset;
    const state = { files: {}, operators: [], context: {}, baseVersion: null, dirty: false };
    const status = root.querySelector("[data-editor-status]");
    const message = root.querySelector("[data-editor-message]");

    Studio.showTab = function (name) {
      const button = root.querySelector('[data-bs-target="#tab-' + name + '"]');
      if (button && window.bootstrap) { window.bootstrap.Tab.getOrCreateInstance(button).show(); }
    };

    function say(kind, text, extra) {
      message.className = "alert alert-" + kind + " py-2 small mb-3";
      message.replaceChildren(h("span", { text }));
      if (extra) { message.append(extra); }
      message.classList.remove("d-none");
    }

    function setDirty(dirty) {
      state.dirty = dirty;
      status.textContent = (dirty ? "有未保存的修改 · " : "") + "基于 v" + state.baseVersion + (state.savedAt ? " · 草稿保存于 " + state.savedAt : "");
    }

    Promise.all([Studio.getJSON(urls.draftUrl), Studio.getJSON(urls.operatorsUrl), Studio.getJSON(urls.contextUrl)])
      .then(([draft, operators, context]) => {
        state.files = draft.files;
        state.baseVersion = draft.base_version;
        state.savedAt = root.dataset.savedAt || "";
        state.operators = operators;
        state.context = context;
        const modeler = new window.BpmnJS({
          container: root.querySelector("[data-canvas]"),
          moddleExtensions: { spiffworkflow: Studio.moddle },
          additionalModules: [Studio.translateModule, Studio.withoutAlignModule],
        });
        return modeler.importXML(draft.xml).then((result) => wire(modeler, result.warnings || []));
      })
      .catch((error) => say("danger", "编辑器加载失败：" + (error && error.message ? error.message : error) + "。请刷新页面重试。"));

    /** Fit the diagram into the canvas right of the palette, which would otherwise cover its left edge. */
    function fitBesidePalette(modeler) {
      const canvas = modeler.get("canvas");
      canvas.zoom("fit-viewport", "auto");
      const palette = root.querySelector(".djs-palette");
      const box = canvas.viewbox();
      const extra = palette ? (palette.offsetWidth + 24) / box.scale : 0;
      const width = box.width + extra;
      canvas.viewbox({ x: box.x - extra, y: box.y, width, height: box.height * width / box.width });
    }

    function wire(modeler, warnings) {
      fitBesidePalette(modeler);
      const registry = modeler.get("elementRegistry");
      const model = Studio.Model(modeler);
      state.procedureProperties = () => { const t = model.processTarget(); return t ? model.properties(t.bo) : {}; };
      state.formUsers = (name) => registry.filter((e) => e.type === "bpmn:UserTask" && model.properties(e.businessObject).formJsonSchemaFilename === name)
        .map((e) => e.businessObject.name || e.id);
      state.notifications = () => registry.filter((e) => e.type === "bpmn:ServiceTask" && (model.operator(e.businessObject) || {}).name === "notify.send")
        .map((e) => ({ id: e.id, name: e.businessObject.name || e.id, subject: Studio.literalText((model.operator(e.businessObject).params.subject || {}).value) || "" }));

      const panel = Studio.Panel(modeler, root.querySelector("[data-panel]"), state);
      const problems = Studio.Problems(modeler, root);
      const forms = Studio.Forms(root.querySelector("#tab-forms"), state, urls.formPreviewUrl);
      const texts = Studio.Texts(root.querySelector("#tab-texts"), state, { document: urls.documentPreviewUrl, text: urls.textPreviewUrl });
      panel.render(null);
      setDirty(false);
      if (warnings.length) { say("warning", "流程图中有 " + warnings.length + " 处内容编辑器无法识别，保存时将被略去：" + warnings.slice(0, 3).map((w) => w.message).join("；")); }

      const relint = Studio.debounce(() => problems.runLint(), 500);
      const changed = () => { setDirty(true); problems.changed(); relint(); };
      modeler.on("commandStack.changed", changed);
      Studio.on("files-changed", () => { changed(); texts.refresh(); });
      root.querySelector('[data-bs-target="#tab-texts"]').addEventListener("shown.bs.tab", () => texts.refresh());
      root.querySelector('[data-bs-target="#tab-forms"]').addEventListener("shown.bs.tab", () => forms.refresh());
      root.querySelector('[data-bs-target="#tab-diagram"]').addEventListener("shown.bs.tab", () => {
        // While the tab was hidden the canvas had no size: measure again and place the context pad anew.
        const selection = modeler.get("selection");
        const selected = selection.get();
        modeler.get("canvas").resized();
        selection.select(null);
        selection.select(selected);
      });
      wireCanvasTools(modeler);
      problems.runLint();

      function payload() {
        return modeler.saveXML({ format: true }).then(({ xml }) => ({ xml, files: state.files, base_version: state.baseVersion }));
      }

      function saveDraft() {
        return payload().then((body) => Studio.post(urls.saveUrl, body)).then((result) => {
          if (!result.ok) { say("danger", "草稿未保存：" + Studio.failure(result)); return false; }
          state.savedAt = result.body.saved_at;
          setDirty(false);
          say("success", "草稿已保存（" + result.body.saved_at + "）。草稿只有您自己能看到，部署后才对新申请生效。");
          return true;
        });
      }

      function check() {
        return problems.runLint().then(payload).then((body) => problems.runServer(urls.checkUrl, body)).then((ok) => {
          if (ok) { say("success", "服务器检查通过：可以部署。"); } else { say("danger", "服务器检查发现问题，请按下方列表逐项修改（点击可定位到图中元素）。"); }
          return ok;
        });
      }

      function deploy(comment, button) {
        button.disabled = true;
        return payload().then((body) => Studio.post(urls.deployUrl, Object.assign(body, { comment })))
          .then((result) => {
            button.disabled = false;
            if (!result.ok) {
              problems.showServer((result.body && result.body.problems) || []);
              return Studio.failure(result) + ((result.body && result.body.problems || []).length ? "（见下方问题列表）" : "");
            }
            state.baseVersion = result.body.version;
            state.savedAt = "";
            setDirty(false);
            const link = h("a", { className: "alert-link ms-2", attrs: { href: urls.versionsUrl }, text: "查看版本记录" });
            say("success", result.body.message, link);
            root.dataset.latestVersion = String(result.body.version);
            return null;
          });
      }

      wireButtons({ saveDraft, check, deploy, problems });
      Studio.Replay(document.getElementById("replay-modal"), urls.replayUrl, payload, problems);
      window.addEventListener("beforeunload", (event) => { if (state.dirty) { event.preventDefault(); event.returnValue = ""; } });
      root.classList.add("studio-ready");
    }

    function wireCanvasTools(modeler) {
      const canvas = modeler.get("canvas");
      const commands = modeler.get("commandStack");
      const tools = {
        "zoom-in": () => canvas.zoom(canvas.zoom() * 1.25),
        "zoom-out": () => canvas.zoom(canvas.zoom() / 1.25),
        "zoom-fit": () => fitBesidePalette(modeler),
        undo: () => commands.undo(),
        redo: () => commands.redo(),
      };
      Object.entries(tools).forEach(([name, act]) => root.querySelector("[data-tool=" + name + "]").addEventListener("click", act));
      const sync = () => {
        root.querySelector("[data-tool=undo]").disabled = !commands.canUndo();
        root.querySelector("[data-tool=redo]").disabled = !commands.canRedo();
      };
      modeler.on("commandStack.changed", sync);
      sync();
    }

    function wireButtons(actions) {
      root.querySelector("[data-action=save]").addEventListener("click", () => actions.saveDraft());
      root.querySelector("[data-action=check]").addEventListener("click", () => actions.check());
      const modal = document.getElementById("deploy-modal");
      const comment = modal.querySelector("textarea");
      const problem = modal.querySelector("[data-deploy-problem]");
      const confirm = modal.querySelector("[data-action=confirm-deploy]");
      modal.addEventListener("show.bs.modal", () => {
        problem.textContent = "";
        comment.classList.remove("is-invalid");
        modal.querySelector("[data-next-version]").textContent = "v" + (Number(root.dataset.latestVersion) + 1);
        const errors = actions.problems.lintErrors();
        modal.querySelector("[data-lint-note]").textContent = errors.length ? "流程图检查还有 " + errors.length + " 个错误，服务器可能拒绝部署。" : "";
      });
      confirm.addEventListener("click", () => {
        if (!comment.value.trim()) { comment.classList.add("is-invalid"); problem.textContent = "请填写部署说明：改了什么、为什么改"; comment.focus(); return; }
        actions.deploy(comment.value.trim(), confirm).then((refusal) => {
          if (refusal) { problem.textContent = refusal; return; }
          comment.value = "";
          window.bootstrap.Modal.getOrCreateInstance(modal).hide();
        });
      });
    }
  }

  function init() {
    const root = document.getElementById("studio-editor");
    if (root && window.BpmnJS) { start(root); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
