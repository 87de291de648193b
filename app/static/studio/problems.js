/* Problems of the diagram being edited: bpmnlint in the browser while drawing, and the server's deploy
   check on request. Each problem names its element; clicking it selects and shows the element, and
   every element with a problem carries the `studio-problem` marker on the canvas. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});
  const h = Studio.h;

  Studio.Problems = function (modeler, root) {
    const list = root.querySelector("[data-problem-list]");
    const summary = root.querySelector("[data-problem-summary]");
    const canvas = modeler.get("canvas");
    const registry = modeler.get("elementRegistry");
    const selection = modeler.get("selection");
    let lint = [];
    let server = [];
    let serverState = "unchecked"; // unchecked / checking / ok / problems / changed
    let marked = [];

    /** The shape that shows an element id (a process is shown by its participant). */
    function shapeOf(id) {
      const direct = registry.get(id);
      if (direct) { return direct; }
      return registry.filter((e) => e.businessObject && e.businessObject.processRef && e.businessObject.processRef.id === id)[0] || null;
    }

    function locate(id) {
      const shape = shapeOf(id);
      if (!shape) { return; }
      Studio.showTab("diagram");
      if (shape !== canvas.getRootElement()) {
        selection.select(shape);
        canvas.scrollToElement(shape);
      }
    }

    function item(problem) {
      const shape = shapeOf(problem.element);
      const name = shape ? (shape.businessObject.name || problem.element) : problem.element === "definitions" ? "整个流程图" : problem.element;
      const badge = problem.source === "server" ? ["text-bg-danger", "服务器检查"] : problem.category === "error" ? ["text-bg-danger", "错误"] : ["text-bg-warning", "提示"];
      const content = [h("span", { className: "badge me-2 " + badge[0], text: badge[1] }), h("span", { className: "fw-semibold me-1", text: name }),
        shape && name !== problem.element ? h("code", { className: "small me-2", text: problem.element }) : null, h("span", { text: problem.message })];
      if (!shape) { return h("li", { className: "list-group-item small" }, content); }
      return h("li", { className: "list-group-item small p-0" }, h("button", { className: "btn btn-link text-start text-body text-decoration-none w-100 px-3 py-2 small",
        attrs: { type: "button", "data-problem-element": problem.element }, on: { click: () => locate(problem.element) } }, content));
    }

    function mark(problems) {
      marked.forEach((id) => { if (registry.get(id)) { canvas.removeMarker(id, "studio-problem"); } });
      marked = [];
      problems.forEach((p) => {
        const shape = shapeOf(p.element);
        if (shape && shape !== canvas.getRootElement() && marked.indexOf(shape.id) < 0) { canvas.addMarker(shape.id, "studio-problem"); marked.push(shape.id); }
      });
    }

    function serverText() {
      return { unchecked: "未进行服务器检查", checking: "服务器检查中…", ok: "服务器检查通过", problems: "服务器检查发现 " + server.length + " 个问题",
        changed: "已修改，需重新检查" }[serverState];
    }

    function render() {
      const all = server.concat(lint);
      const errors = lint.filter((p) => p.category === "error").length;
      const warnings = lint.length - errors;
      summary.replaceChildren(
        h("span", { className: "me-3", text: "流程图检查：" + (lint.length ? errors + " 个错误，" + warnings + " 个提示" : "未发现问题") }),
        h("span", { className: serverState === "ok" ? "text-success fw-semibold" : serverState === "problems" ? "text-danger fw-semibold" : "text-muted",
          attrs: { "data-server-state": serverState }, text: serverText() }));
      list.replaceChildren(...(all.length ? all.map(item) : [h("li", { className: "list-group-item small text-muted", text: "没有发现问题。" })]));
      mark(all);
      Studio.emit("problems", { errors: errors + (serverState === "problems" ? server.length : 0) });
    }

    function runLint() {
      if (!window.StudioLint) { return Promise.resolve(); }
      return window.StudioLint.lint(modeler.getDefinitions()).then((found) => { lint = found; render(); });
    }

    function runServer(url, payload) {
      serverState = "checking";
      render();
      return Studio.post(url, payload).then((result) => {
        if (!result.ok) {
          server = [{ element: "definitions", message: Studio.failure(result), source: "server", category: "error" }];
        } else {
          server = result.body.problems.map((p) => ({ element: p.element, message: p.message, source: "server", category: "error" }));
        }
        serverState = result.ok && result.body.ok ? "ok" : "problems";
        render();
        return serverState === "ok";
      });
    }

    /** Problems the server gave for a refused deploy. */
    function showServer(problems) {
      server = problems.map((p) => ({ element: p.element, message: p.message, source: "server", category: "error" }));
      serverState = server.length ? "problems" : serverState;
      render();
    }

    function changed() {
      if (serverState === "ok" || serverState === "problems") { serverState = "changed"; }
      render();
    }

    Studio.on("locate", locate);
    return { runLint, runServer, showServer, changed, lintErrors: () => lint.filter((p) => p.category === "error") };
  };
})();
