/* Migration pages: tick every application of the page at once, and list the ticked ones in the
   confirmation before they move. The server checks every choice again. */
(function () {
  "use strict";

  function init() {
    const form = document.querySelector("[data-migration-form]");
    if (!form) { return; }
    const choices = Array.from(form.querySelectorAll("[data-choice]"));
    const all = form.querySelector("[data-choose-all]");
    if (all) {
      all.addEventListener("change", () => choices.forEach((box) => { box.checked = all.checked; }));
      choices.forEach((box) => box.addEventListener("change", () => {
        const ticked = choices.filter((b) => b.checked).length;
        all.checked = ticked === choices.length;
        all.indeterminate = ticked > 0 && ticked < choices.length;
      }));
    }
    const modal = document.getElementById("migrate-modal");
    if (!modal) { return; }
    modal.addEventListener("show.bs.modal", () => {
      const chosen = choices.filter((b) => b.checked).map((b) => b.value);
      modal.querySelector("[data-chosen-count]").textContent = String(chosen.length);
      modal.querySelector("[data-chosen-list]").replaceChildren(...chosen.map((key) => {
        const item = document.createElement("li");
        item.textContent = key;
        return item;
      }));
      modal.querySelector("[data-chosen-none]").classList.toggle("d-none", chosen.length > 0);
      modal.querySelector("[data-confirm-migrate]").disabled = chosen.length === 0;
    });
    form.addEventListener("submit", () => { form.querySelectorAll("[type=submit]").forEach((b) => { b.disabled = true; }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
