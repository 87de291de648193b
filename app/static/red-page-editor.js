// The red-page editor's rich text: each <textarea data-rich-text> gets a small toolbar and an editable
// area; the area's HTML goes back into the textarea on submit. The server sanitises it (nh3) whatever
// arrives, so this is only a convenience: without JavaScript the textarea takes the markup directly.
(function () {
  "use strict";

  var COMMANDS = [
    ["bold", "加粗"], ["italic", "斜体"], ["underline", "下划线"], ["h3", "小标题"], ["p", "正文"],
    ["insertUnorderedList", "项目列表"], ["insertOrderedList", "编号列表"], ["createLink", "链接"],
    ["unlink", "取消链接"], ["removeFormat", "清除格式"]
  ];

  function run(command, area) {
    area.focus();
    if (command === "h3" || command === "p") {
      document.execCommand("formatBlock", false, command);
    } else if (command === "createLink") {
      var url = window.prompt("链接地址（以 http:// 或 https:// 开头）", "https://");
      if (url && /^https?:\/\//i.test(url)) { document.execCommand("createLink", false, url); }
    } else {
      document.execCommand(command, false, null);
    }
  }

  function toolbar(area) {
    var bar = document.createElement("div");
    bar.className = "rt-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "格式");
    COMMANDS.forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-secondary";
      button.textContent = pair[1];
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () { run(pair[0], area); });
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
