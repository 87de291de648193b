/* Helpers shared by the studio's scripts: DOM building without inline markup, JSON requests that carry
   the CSRF token, a tiny event bus, and Python string literals (notification texts are literals). */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});

  /** An element: h("div", {className, text, attrs, dataset, on}, ...children). */
  Studio.h = function (tag, props, ...children) {
    const node = document.createElement(tag);
    const p = props || {};
    if (p.className) { node.className = p.className; }
    if (p.text !== undefined) { node.textContent = p.text; }
    Object.entries(p.attrs || {}).forEach(([k, v]) => { if (v !== undefined && v !== null && v !== false) { node.setAttribute(k, v === true ? "" : v); } });
    Object.entries(p.dataset || {}).forEach(([k, v]) => { node.dataset[k] = v; });
    Object.entries(p.on || {}).forEach(([k, fn]) => node.addEventListener(k, fn));
    if (p.value !== undefined) { node.value = p.value; }
    if (p.checked !== undefined) { node.checked = p.checked; }
    children.flat(Infinity).forEach((child) => {
      if (child === null || child === undefined || child === false) { return; }
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  };

  let uid = 0;
  Studio.uid = function (prefix) { uid += 1; return (prefix || "s") + "-" + uid; };

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /** POST JSON; resolves {ok, status, body} where body is JSON or text as the server answered. */
  Studio.post = function (url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json, text/html" },
      body: JSON.stringify(payload),
    }).then((response) => {
      const type = response.headers.get("Content-Type") || "";
      const read = type.indexOf("json") >= 0 ? response.json() : response.text();
      return read.then((body) => ({ ok: response.ok, status: response.status, body }));
    }, () => ({ ok: false, status: 0, body: { message: "无法连接服务器，请检查网络后重试" } }));
  };

  Studio.getJSON = function (url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((r) => {
      if (!r.ok) { throw new Error(url + " " + r.status); }
      return r.json();
    });
  };

  /** What a failed request means, in Chinese. */
  Studio.failure = function (result) {
    if (result.status === 413) { return "内容过大，无法提交"; }
    if (result.status === 400 && typeof result.body === "string" && result.body.indexOf("CSRF") >= 0) { return "页面已过期，请刷新后重试"; }
    if (result.body && result.body.message) { return result.body.message; }
    return "服务器未能处理请求（" + result.status + "），请稍后重试";
  };

  Studio.debounce = function (fn, ms) {
    let timer = null;
    return function (...args) { clearTimeout(timer); timer = setTimeout(() => fn.apply(this, args), ms); };
  };

  const listeners = {};
  Studio.on = function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); };
  Studio.emit = function (name, detail) { (listeners[name] || []).forEach((fn) => fn(detail)); };

  /** The text of a Python string literal such as "通知" (or null when the expression is not one). */
  Studio.literalText = function (expression) {
    const source = (expression || "").trim();
    if (!/^"(?:[^"\\\n]|\\.)*"$/.test(source)) { return null; }
    try { return JSON.parse(source); } catch (e) { return null; }
  };

  /** A Python string literal holding `text` (JSON's escapes are valid Python). */
  Studio.literal = function (text) { return JSON.stringify(text); };

  /** Form fields of the procedure's forms, for conditions and texts: [{name, title, form}]. */
  Studio.formFields = function (files) {
    const found = [];
    const seen = {};
    Object.keys(files).sort().forEach((path) => {
      if (path.indexOf("forms/") !== 0) { return; }
      let schema;
      try { schema = JSON.parse(files[path]); } catch (e) { return; }
      Object.entries((schema && schema.properties) || {}).forEach(([name, spec]) => {
        if (seen[name]) { return; }
        seen[name] = true;
        found.push({ name, title: (spec && spec.title) || name, form: path.slice(6) });
      });
    });
    return found;
  };

  /** Insert text at the cursor of a text box and announce the change. */
  Studio.insertAtCursor = function (box, text) {
    const start = box.selectionStart === undefined ? box.value.length : box.selectionStart;
    const end = box.selectionEnd === undefined ? box.value.length : box.selectionEnd;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + text.length;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  };
})();
