/* Read-only diagrams of the studio: a stored version (click an element to see what it says) and the
   two versions of a comparison, with added, removed and changed elements marked (studio.css). */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});
  const h = Studio.h;
  const viewers = [];

  function fetchXml(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/xml" } }).then((r) => {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.text();
    });
  }

  function markChanges(viewer, marks) {
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    Object.entries(marks).forEach(([kind, ids]) => ids.forEach((id) => { if (registry.get(id)) { canvas.addMarker(id, "studio-" + kind); } }));
  }

  function showDetails(figure, elements, element) {
    const target = document.querySelector("[data-element-details]");
    if (!target) { return; }
    const id = element.labelTarget ? element.labelTarget.id : element.id;
    const aspects = elements[id] || (element.businessObject && element.businessObject.processRef ? elements[element.businessObject.processRef.id] : null);
    if (!aspects) { target.replaceChildren(h("p", { className: "text-muted mb-0", text: "在流程图中点击一个任务、连线、泳道或事件。" })); return; }
    target.replaceChildren(h("p", { className: "mb-2" }, h("code", { text: id })),
      h("dl", { className: "studio-aspects mb-0" }, aspects.map(([k, v]) => [h("dt", { text: k }), h("dd", { className: "studio-text", text: v })])));
  }

  function show(figure) {
    const viewer = new window.BpmnJS({ container: figure.querySelector(".bpmn-canvas") });
    viewers.push(viewer);
    const status = figure.querySelector("[data-viewer-status]");
    fetchXml(figure.dataset.xmlUrl)
      .then((xml) => viewer.importXML(xml))
      .then(() => {
        viewer.get("canvas").zoom("fit-viewport", "auto");
        if (figure.dataset.marks) { markChanges(viewer, JSON.parse(figure.dataset.marks)); }
        if (figure.dataset.elements) {
          const elements = JSON.parse(figure.dataset.elements);
          viewer.on("element.click", (e) => showDetails(figure, elements, e.element));
        }
      })
      .catch(() => { status.textContent = figure.dataset.errorLabel; });
  }

  /** Scroll every diagram of the page to an element and flash it. */
  function locate(id) {
    viewers.forEach((viewer) => {
      const element = viewer.get("elementRegistry").get(id);
      if (!element) { return; }
      const canvas = viewer.get("canvas");
      canvas.scrollToElement(element);
      canvas.addMarker(id, "studio-focus");
      setTimeout(() => canvas.removeMarker(id, "studio-focus"), 1600);
    });
  }

  function init() {
    if (!window.BpmnJS) { return; }
    document.querySelectorAll("[data-studio-viewer]").forEach(show);
    document.querySelectorAll("[data-locate]").forEach((link) => link.addEventListener("click", (e) => {
      e.preventDefault();
      locate(link.dataset.locate);
      document.querySelector("[data-studio-viewer]").scrollIntoView({ behavior: "smooth", block: "start" });
    }));
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
