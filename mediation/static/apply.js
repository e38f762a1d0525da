// 网上申请调解 (/apply): an enhancement only — the form works without it. Choosing a level of the
// place picker asks for the next level at once (the same "下一级" submit button the page offers).
(function () {
  "use strict";
  var form = document.getElementById("apply-form");
  if (!form) return;
  var next = form.querySelector("[data-place-next]");
  form.querySelectorAll("[data-place-level]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (!next) return;
      if (form.requestSubmit) form.requestSubmit(next);
      else next.click();
    });
  });
})();
