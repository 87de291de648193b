/* Live diagrams: every <figure data-bpmn-diagram> loads its application's diagram version and
   progress, zooms to fit and marks completed elements `done`, open ones `current` (app.css). */
(function () {
  "use strict";

  function fetchOk(url, as) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: as === "json" ? "application/json" : "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(url + " " + response.status); }
        return as === "json" ? response.json() : response.text();
      });
  }

  function mark(viewer, progress) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var names = [];
    progress.done.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "done"); } });
    progress.current.forEach(function (id) {
      var element = registry.get(id);
      if (!element) { return; }
      canvas.addMarker(id, "current");
      if (element.businessObject && element.businessObject.name) { names.push(element.businessObject.name); }
    });
    return names;
  }

  function show(figure) {
    if (figure.dataset.ready) { return; }
    figure.dataset.ready = "1";
    var status = figure.querySelector("[data-diagram-status]");
    var viewer = new window.BpmnJS({ container: figure.querySelector(".bpmn-canvas") });
    Promise.all([fetchOk(figure.dataset.xmlUrl, "xml"), fetchOk(figure.dataset.progressUrl, "json")])
      .then(function (loaded) {
        return viewer.importXML(loaded[0]).then(function () { return loaded[1]; });
      })
      .then(function (progress) {
        viewer.get("canvas").zoom("fit-viewport", "auto");
        var names = mark(viewer, progress);
        status.textContent = figure.dataset.currentLabel + "：" + (names.length ? names.join("、") : figure.dataset.noneLabel);
      })
      .catch(function () { status.textContent = figure.dataset.errorLabel; });
  }

  function init() {
    if (!window.BpmnJS) { return; }
    document.querySelectorAll("figure[data-bpmn-diagram]").forEach(show);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
