/* The ledger job page while the job runs: poll its progress, reload when it has finished. */
(function () {
  "use strict";
  var box = document.getElementById("ledger-progress");
  if (!box) return;
  var bar = document.getElementById("ledger-bar");
  function poll() {
    fetch(box.dataset.url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (p) {
        if (p.finished) { window.location.reload(); return; }
        document.getElementById("ledger-stage").textContent = p.stage || "排队";
        document.getElementById("ledger-count").textContent = p.done + (p.total ? " / " + p.total : "") + " 行";
        if (p.percent !== null) { bar.value = p.percent; bar.textContent = p.percent + "%"; }
        else { bar.removeAttribute("value"); }
        var note = document.getElementById("ledger-note");
        if (note) { note.textContent = p.note || ""; note.hidden = !p.note; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
