/* 试跑: the procedure being edited, replayed on the last N applications by the server. The request is
   synchronous and may take a while: the button stays disabled and the dialog counts the seconds. The
   report comes back rendered by the server (escaped by Jinja); problems that stop it go to the
   problem list under the canvas, as a check's would. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});

  /** modal: the 试跑 dialog; payload(): a promise of the editor's {xml, files, base_version}. */
  Studio.Replay = function (modal, url, payload, problems) {
    const count = modal.querySelector("[data-replay-count]");
    const run = modal.querySelector("[data-action=run-replay]");
    const progress = modal.querySelector("[data-replay-progress]");
    const progressText = modal.querySelector("[data-replay-progress-text]");
    const problem = modal.querySelector("[data-replay-problem]");
    const result = modal.querySelector("[data-replay-result]");
    let timer = null;

    function busy(on, n) {
      run.disabled = on;
      count.disabled = on;
      progress.classList.toggle("d-none", !on);
      clearInterval(timer);
      if (!on) { return; }
      const began = Date.now();
      const tick = () => { progressText.textContent = "正在试跑最近 " + n + " 件申请…已用 " + Math.round((Date.now() - began) / 1000) + " 秒"; };
      tick();
      timer = setInterval(tick, 1000);
    }

    function finished(answer) {
      busy(false);
      if (answer.ok) {
        result.innerHTML = answer.body.html; // server-rendered, escaped by Jinja
        return;
      }
      const listed = (answer.body && answer.body.problems) || [];
      if (listed.length) { problems.showServer(listed); }
      problem.textContent = Studio.failure(answer) + (listed.length ? "（已列在“检查结果”中，关闭本窗口后可逐项定位）" : "");
    }

    run.addEventListener("click", () => {
      const n = count.value.trim();
      problem.textContent = "";
      result.replaceChildren();
      busy(true, n);
      payload()
        .then((body) => Studio.post(url, Object.assign(body, { last: n })))
        .then(finished, (error) => finished({ ok: false, status: 0, body: { message: "试跑未能开始：" + (error && error.message ? error.message : error) } }));
    });
    count.addEventListener("keydown", (event) => { if (event.key === "Enter" && !run.disabled) { event.preventDefault(); run.click(); } });
  };
})();
