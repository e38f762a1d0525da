// The list of parties on the registration form: "添加当事人" / "删除" and the ID label per kind.
// Without JavaScript the form still works with the rows the server rendered (one by default).
(function () {
  "use strict";

  var list = document.querySelector("[data-parties]");
  var addButton = document.querySelector("[data-add-party]");
  var template = document.getElementById("party-template");
  if (!list || !addButton || !template) return;

  var nextIndex = parseInt(list.getAttribute("data-next-index"), 10) || list.children.length;

  function rows() {
    return list.querySelectorAll("[data-party]");
  }

  function renumber() {
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      var title = all[i].querySelector("[data-party-title]");
      if (title) title.textContent = "当事人 " + (i + 1);
      var remove = all[i].querySelector("[data-remove-party]");
      if (remove) {
        remove.hidden = all.length < 2;
        remove.setAttribute("aria-label", "删除当事人 " + (i + 1));
      }
    }
  }

  function updateIdPlaceholder(row) {
    var kind = row.querySelector("[data-party-kind]");
    var id = row.querySelector("[data-party-id]");
    if (!kind || !id) return;
    id.placeholder = kind.value === "自然人" ? "18位居民身份证号码" : "18位统一社会信用代码";
  }

  // 民族 / 职业 belong to a person, 法定代表人 to a 法人 or other organisation: the other kind's
  // fields are hidden and disabled (not sent). Without JavaScript all are shown; the server checks.
  function updateKindFields(row) {
    var kind = row.querySelector("[data-party-kind]");
    if (!kind) return;
    var person = kind.value === "自然人";
    row.querySelectorAll(".kind-person, .kind-org").forEach(function (field) {
      var show = field.classList.contains("kind-person") === person;
      var hasError = field.classList.contains("has-error");
      field.hidden = !show && !hasError;
      field.querySelectorAll("input").forEach(function (input) { input.disabled = field.hidden; });
    });
  }

  function addRow() {
    var index = String(nextIndex++);
    var fragment = template.content.cloneNode(true);
    var elements = fragment.querySelectorAll("[id], [name], [for], [aria-describedby]");
    for (var i = 0; i < elements.length; i++) {
      ["id", "name", "for", "aria-describedby"].forEach(function (attr) {
        var value = elements[i].getAttribute(attr);
        if (value && value.indexOf("__INDEX__") !== -1) {
          elements[i].setAttribute(attr, value.split("__INDEX__").join(index));
        }
      });
    }
    var row = fragment.querySelector("[data-party]");
    list.appendChild(fragment);
    updateKindFields(row);
    renumber();
    var name = row.querySelector("input[name$='-name']");
    if (name) name.focus();
  }

  addButton.hidden = false;
  addButton.addEventListener("click", addRow);

  list.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-party]");
    if (!button) return;
    var row = button.closest("[data-party]");
    if (row && rows().length > 1) {
      row.parentNode.removeChild(row);
      renumber();
      addButton.focus();
    }
  });

  list.addEventListener("change", function (event) {
    if (event.target.matches("[data-party-kind]")) {
      updateIdPlaceholder(event.target.closest("[data-party]"));
      updateKindFields(event.target.closest("[data-party]"));
    }
  });

  rows().forEach(updateKindFields);
  renumber();
})();
