/* Version list: at most two versions are ticked for comparison (the oldest tick gives way). */
(function () {
  "use strict";

  function init() {
    const boxes = Array.from(document.querySelectorAll("[data-compare-choice]"));
    const order = boxes.filter((b) => b.checked);
    boxes.forEach((box) => box.addEventListener("change", () => {
      const at = order.indexOf(box);
      if (at >= 0) { order.splice(at, 1); }
      if (box.checked) { order.push(box); }
      while (order.length > 2) { order.shift().checked = false; }
    }));
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
