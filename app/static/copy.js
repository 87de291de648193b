/* 复制代码: a button with data-copy-target="<id of a textarea>" copies that text and says so for a moment.
   Without the clipboard API (plain HTTP) the text is selected and copied the older way. */
(function () {
  "use strict";
  const CONFIRM_MS = 2000;

  function confirmCopied(button) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = button.dataset.copied || "已复制";
    window.setTimeout(() => { button.textContent = button.dataset.label; }, CONFIRM_MS);
  }

  function copyBySelection(source, button) {
    source.focus();
    source.select();
    if (document.execCommand("copy")) {
      confirmCopied(button);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy-target]");
    const source = button && document.getElementById(button.dataset.copyTarget);
    if (!source) {
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(() => confirmCopied(button), () => copyBySelection(source, button));
    } else {
      copyBySelection(source, button);
    }
  });
}());
