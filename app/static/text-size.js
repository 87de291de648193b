// 大字版 (适老化): the reader's choice of a larger base font, kept in localStorage on this browser.
// Loaded in <head>, not deferred, so the class is on <html> before the page is first drawn.
(function () {
  "use strict";
  var KEY = "text-size";
  var root = document.documentElement;

  function storedLarge() {
    try {
      return localStorage.getItem(KEY) === "large";
    } catch (error) {
      return false; // storage disabled: normal size
    }
  }

  function remember(large) {
    try {
      localStorage.setItem(KEY, large ? "large" : "normal");
    } catch (error) {
      // storage disabled: the choice holds for this page only
    }
  }

  function apply(large) {
    root.classList.toggle("large-text", large);
    document.querySelectorAll("[data-text-size-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(large));
    });
  }

  root.classList.toggle("large-text", storedLarge());
  document.addEventListener("DOMContentLoaded", function () {
    apply(storedLarge());
    document.querySelectorAll("[data-text-size-toggle]").forEach(function (button) {
      button.addEventListener("click", function () {
        var large = !root.classList.contains("large-text");
        remember(large);
        apply(large);
      });
    });
  });
})();
