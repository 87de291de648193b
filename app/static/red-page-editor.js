// The red-page editor's rich text: each <textarea data-rich-text> gets a small toolbar and an editable
// area; the area's HTML goes back into the textarea on submit. The server sanitises it (nh3) whatever
// arrives, so this is only a convenience: without JavaScript the textarea takes the markup directly.
// The buttons' words come translated from the page (data-labels on the script tag).
(function () {
  "use strict";

  var LABELS = JSON.parse(document.currentScript.dataset.labels);
  var COMMANDS = [
    "bold", "italic", "underline", "h3", "p", "insertUnorderedList", "insertOrderedList", "createLink",
    "unlink", "removeFormat"
  ];

  function run(command, area) {
    area.focus();
    if (command === "h3" || command === "p") {
      document.execCommand("formatBlock", false, command);
    } else if (command === "createLink") {
      var url = window.prompt(LABELS.linkPrompt, "https://");
      if (url && /^https?:\/\//i.test(url)) { document.execCommand("createLink", false, url); }
    } else {
      document.execCommand(command, false, null);
    }
  }

  function toolbar(area) {
    var bar = document.createElement("div");
    bar.className = "rt-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", LABELS.toolbar);
    COMMANDS.forEach(function (command) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-secondary";
      button.textContent = LABELS[command];
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () { run(command, area); });
      bar.appendChild(button);
    });
    return bar;
  }

  function enhance(textarea) {
    var area = document.createElement("div");
    area.className = "rt-area";
    area.contentEditable = "true";
    area.setAttribute("role", "textbox");
    area.setAttribute("aria-multiline", "true");
    var label = document.querySelector("label[for='" + textarea.id + "']");
    if (label) { area.setAttribute("aria-label", label.textContent.trim()); }
    area.innerHTML = textarea.value;  // the server's sanitised markup
    textarea.hidden = true;
    textarea.parentNode.insertBefore(toolbar(area), textarea);
    textarea.parentNode.insertBefore(area, textarea);
    textarea.form.addEventListener("submit", function () { textarea.value = area.innerHTML; });
  }

  document.execCommand("defaultParagraphSeparator", false, "p");
  document.querySelectorAll("textarea[data-rich-text]").forEach(enhance);
})();
