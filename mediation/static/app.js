/* 矛盾纠纷多元化解平台 — the small behaviours of every page (loaded by base.html; the CSP allows no
   inline scripts). Everything works without it: the navigation then wraps, the browser shows its own
   validation messages, and the server asks for confirmation on a page of its own. */
(function () {
  "use strict";

  /* ---- the menu button of narrow screens ------------------------------------------------------ */
  function setupNav() {
    var toggle = document.querySelector("[data-nav-toggle]");
    var nav = document.getElementById("main-nav");
    if (!toggle || !nav) return;
    document.documentElement.classList.add("js-nav");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && nav.classList.contains("open")) {
        nav.classList.remove("open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  /* ---- browser-side checks in Chinese ---------------------------------------------------------- */
  function isDateLike(el) {
    return ["date", "datetime-local", "month", "time", "week"].indexOf(el.type) >= 0;
  }

  function chineseMessage(el) {
    var v = el.validity;
    if (v.valueMissing) {
      if (el.type === "checkbox") return "请勾选此项。";
      if (el.type === "radio" || el.tagName === "SELECT") return "请选择一项。";
      if (el.type === "file") return "请选择文件。";
      return "请填写此项。";
    }
    if (v.badInput) {
      if (el.type === "number") return "请输入数字。";
      if (isDateLike(el)) return "请输入完整、有效的日期。";
      return "输入的内容无效。";
    }
    if (v.typeMismatch) {
      if (el.type === "email") return "请输入有效的电子邮箱地址，如 name@example.com。";
      if (el.type === "url") return "请输入有效的网址，如 https://example.com。";
      return "格式不正确。";
    }
    if (v.patternMismatch) return el.getAttribute("data-pattern-message") || el.title || "格式不正确。";
    if (v.tooShort) return "至少输入" + el.minLength + "个字符（当前" + el.value.length + "个）。";
    if (v.tooLong) return "最多输入" + el.maxLength + "个字符（当前" + el.value.length + "个）。";
    if (v.rangeUnderflow) return (isDateLike(el) ? "不能早于 " : "不能小于 ") + el.min + "。";
    if (v.rangeOverflow) return (isDateLike(el) ? "不能晚于 " : "不能大于 ") + el.max + "。";
    if (v.stepMismatch) {
      if (el.type === "number" && (el.step === "" || el.step === "1")) return "请输入整数。";
      return "数值不符合要求（步长 " + el.step + "）。";
    }
    return "输入的内容无效。";
  }

  function setupValidation() {
    document.addEventListener("invalid", function (e) {
      var el = e.target;
      if (!el || !el.validity || el.validity.customError && !el.hasAttribute("data-zh-validity")) return;
      el.setCustomValidity("");
      if (el.validity.valid) return;
      el.setCustomValidity(chineseMessage(el));
      el.setAttribute("data-zh-validity", "");
    }, true);
    function reset(e) {
      var el = e.target;
      if (el && el.hasAttribute && el.hasAttribute("data-zh-validity")) {
        el.setCustomValidity("");
        el.removeAttribute("data-zh-validity");
      }
    }
    document.addEventListener("input", reset, true);
    document.addEventListener("change", reset, true);
  }

  /* ---- confirmation before irreversible actions -------------------------------------------------
     <form data-confirm="…"> always asks; an <option data-confirm="…"> asks when it is selected.
     Confirming sets the hidden field confirmed=1, which the server requires (without it, it answers
     with a confirmation page of its own). */
  function confirmText(form) {
    var text = form.getAttribute("data-confirm") || "";
    var options = form.querySelectorAll("option[data-confirm]");
    for (var i = 0; i < options.length; i++) {
      if (options[i].selected) text = options[i].getAttribute("data-confirm");
    }
    return text;
  }

  var dialog = null;
  function confirmDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    var h = document.createElement("h2");
    h.id = "confirm-dialog-title";
    var p = document.createElement("p");
    p.className = "confirm-text";
    var actions = document.createElement("div");
    actions.className = "confirm-actions";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-ghost";
    cancel.textContent = "取消";
    cancel.setAttribute("data-confirm-cancel", "");
    var ok = document.createElement("button");
    ok.type = "button";
    ok.className = "btn btn-primary";
    ok.setAttribute("data-confirm-ok", "");
    actions.appendChild(cancel);
    actions.appendChild(ok);
    dialog.appendChild(h);
    dialog.appendChild(p);
    dialog.appendChild(actions);
    cancel.addEventListener("click", function () { dialog.close("cancel"); });
    document.body.appendChild(dialog);
    return dialog;
  }

  function setupConfirm() {
    if (typeof HTMLDialogElement === "undefined") return;  // the server's confirmation page instead
    document.addEventListener("submit", function (e) {
      var form = e.target;
      var text = confirmText(form);
      if (!text) return;
      var flag = form.querySelector("input[name=confirmed]");
      if (flag && flag.value === "1") return;
      e.preventDefault();
      var submitter = e.submitter || null;
      var d = confirmDialog();
      d.querySelector("h2").textContent = form.getAttribute("data-confirm-title") || "请确认";
      d.querySelector(".confirm-text").textContent = text;
      var ok = d.querySelector("[data-confirm-ok]");
      ok.textContent = form.getAttribute("data-confirm-ok") || "确认";
      ok.className = "btn " + (form.hasAttribute("data-confirm-danger") ? "btn-danger" : "btn-primary");
      ok.onclick = function () {
        d.close("ok");
        if (!flag) {
          flag = document.createElement("input");
          flag.type = "hidden";
          flag.name = "confirmed";
          form.appendChild(flag);
        }
        flag.value = "1";
        if (form.requestSubmit) form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
        else form.submit();
      };
      d.showModal();
      d.querySelector("[data-confirm-cancel]").focus();
    });
  }

  setupNav();
  setupValidation();
  setupConfirm();
})();
