/* Actions that cannot be taken back (撤回, 认款) ask first: a form with data-confirm="question" is
   submitted only when the user agrees. The server does not rely on it. */
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
}());
