/* Live diagrams: every <figure data-bpmn-diagram> loads its application's diagram version and progress,
   marks completed elements `done` and open ones `current` (app.css), and draws it at a size whose labels
   can be read: as wide as its box when that is large enough, else no smaller than READABLE_ZOOM, the box
   scrolling sideways to the open step. Zoom buttons (hidden until the diagram is drawn) change the size. */
(function () {
  "use strict";

  var READABLE_ZOOM = 0.9; // bpmn-js writes labels at 11-12 px: at 0.9 they stay about 10 px or more
  var LARGEST_ZOOM = 1.25; // a small diagram grows to its box's width up to here
  var ZOOM_STEP = 1.25;
  var PADDING = 16; // px of white around the drawing

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
    progress.done.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "done"); } });
    progress.current.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "current"); } });
    return progress.current.map(function (id) { return registry.get(id); }).filter(Boolean);
  }

  /* Draws the diagram's content box `inner` (diagram units) at `zoom`: the canvas is sized to the drawing, so
     the scroll box around it scrolls instead of the labels shrinking. Sizes are set through the CSSOM, which
     the page's Content-Security-Policy allows (style attributes in the markup it does not). */
  function Sizer(viewer, element, inner) {
    this.viewer = viewer;
    this.element = element;
    this.inner = inner;
    this.zoom = 1;
  }

  Sizer.prototype.apply = function (zoom) {
    var width = Math.ceil(this.inner.width * zoom + 2 * PADDING);
    var height = Math.ceil(this.inner.height * zoom + 2 * PADDING);
    this.zoom = zoom;
    this.element.style.width = width + "px";
    this.element.style.height = height + "px";
    var canvas = this.viewer.get("canvas");
    canvas.resized();
    canvas.viewbox({
      x: this.inner.x - PADDING / zoom,
      y: this.inner.y - PADDING / zoom,
      width: width / zoom,
      height: height / zoom
    });
  };

  Sizer.prototype.fitZoom = function (box) {
    return (box.clientWidth - 2 * PADDING) / this.inner.width;
  };

  /* 大字版 (text-size.js) enlarges the root font: the drawing's labels grow with it. */
  Sizer.prototype.readableZoom = function (box) {
    var textScale = parseFloat(getComputedStyle(document.documentElement).fontSize) / 16 || 1;
    return Math.min(Math.max(this.fitZoom(box), READABLE_ZOOM * textScale), LARGEST_ZOOM * textScale);
  };

  /* Scroll the box sideways so the first open step is in the middle. */
  function reveal(box, sizer, elements) {
    if (!elements.length) { return; }
    var element = elements[0];
    var centre = (element.x + element.width / 2 - sizer.inner.x) * sizer.zoom + PADDING;
    box.scrollLeft = Math.max(0, centre - box.clientWidth / 2);
  }

  function controls(figure, box, sizer, current) {
    var toolbar = figure.querySelector("[data-diagram-toolbar]");
    if (!toolbar) { return; }
    var level = toolbar.querySelector("[data-zoom-level]");
    function set(zoom) {
      sizer.apply(Math.min(Math.max(zoom, 0.2), 3));
      level.textContent = Math.round(sizer.zoom * 100) + "%";
      reveal(box, sizer, current);
    }
    var actions = {
      "in": function () { set(sizer.zoom * ZOOM_STEP); },
      "out": function () { set(sizer.zoom / ZOOM_STEP); },
      "fit": function () { set(sizer.fitZoom(box)); },
      "readable": function () { set(sizer.readableZoom(box)); }
    };
    toolbar.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", actions[button.dataset.zoom]);
    });
    toolbar.hidden = false;
    set(sizer.readableZoom(box));
  }

  function show(figure) {
    if (figure.dataset.ready) { return; }
    figure.dataset.ready = "1";
    var status = figure.querySelector("[data-diagram-status]");
    var element = figure.querySelector(".bpmn-canvas");
    var box = figure.querySelector("[data-diagram-scroll]") || element;
    var viewer = new window.BpmnJS({ container: element });
    Promise.all([fetchOk(figure.dataset.xmlUrl, "xml"), fetchOk(figure.dataset.progressUrl, "json")])
      .then(function (loaded) {
        return viewer.importXML(loaded[0]).then(function () { return loaded[1]; });
      })
      .then(function (progress) {
        var current = mark(viewer, progress);
        var sizer = new Sizer(viewer, element, viewer.get("canvas").viewbox().inner);
        controls(figure, box, sizer, current);
        figure.dataset.drawn = "1";
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
