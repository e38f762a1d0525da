/* Filter boxes of the unit picker (templates/disputes/_unit_picker.html); no framework.
 *
 * A unit <select>: typing in its filter box keeps only the units whose name, 简称 or code contain the
 * text (the <select> is rebuilt from a copy of its server-rendered options, which also works where
 * hidden <option>s are still shown, e.g. iOS); the first match is selected when the chosen unit is
 * filtered away. Enter in the box does not submit the form: it moves to the <select>.
 * A checkbox list: the filter hides the units that do not match (ticked ones stay visible), and
 * the unit chosen as lead (牵头) cannot also be ticked as co-handler (联办).
 * Without JS the filter boxes stay hidden and the plain <select> and checkboxes work as they are.
 */
(function () {
  "use strict";

  function norm(text) {
    return (text || "").toLowerCase().replace(/\s+/g, "");
  }

  function matches(element, query) {
    return !query || norm(element.getAttribute("data-search")).indexOf(query) !== -1;
  }

  function onEnter(input, action) {
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        action();
      }
    });
  }

  function setupSelect(input) {
    var select = document.getElementById(input.getAttribute("data-filter-for"));
    if (!select) { return; }
    var status = document.getElementById(select.id + "-status");
    var original = Array.prototype.map.call(select.children, function (node) { return node.cloneNode(true); });
    input.hidden = false;

    function apply() {
      var query = norm(input.value);
      var current = select.value;
      var first = null;
      var kept = false;
      var count = 0;
      while (select.firstChild) { select.removeChild(select.firstChild); }
      original.forEach(function (node) {
        if (node.tagName !== "OPTGROUP") {  // the "请选择" placeholder
          select.appendChild(node.cloneNode(true));
          return;
        }
        var group = node.cloneNode(false);
        Array.prototype.forEach.call(node.children, function (option) {
          if (!matches(option, query)) { return; }
          var copy = option.cloneNode(true);
          copy.selected = false;
          group.appendChild(copy);
          count += 1;
          if (!first) { first = copy; }
          if (copy.value === current) { kept = true; }
        });
        if (group.children.length) { select.appendChild(group); }
      });
      if (kept) {
        select.value = current;
      } else if (query && first) {
        select.value = first.value;
      } else {
        select.value = "";
      }
      if (status) {
        status.hidden = !query;
        status.textContent = !query ? "" : (count ? "找到 " + count + " 个单位" : "没有名称或简称包含“" + input.value.trim() + "”的单位");
      }
      if (select.value !== current) {
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }

    input.addEventListener("input", apply);
    onEnter(input, function () { select.focus(); });
  }

  function setupChecklist(fieldset) {
    var input = fieldset.querySelector("[data-checklist-filter]");
    var status = fieldset.querySelector("[data-checklist-status]");
    var items = Array.prototype.slice.call(fieldset.querySelectorAll(".check-item"));
    var groups = Array.prototype.slice.call(fieldset.querySelectorAll(".checklist-group"));
    var lead = fieldset.getAttribute("data-lead-select");
    var leadSelect = lead ? document.getElementById(lead) : null;
    if (input) { input.hidden = false; }

    function box(item) { return item.querySelector("input[type=checkbox]"); }

    function describe() {
      var chosen = items.filter(function (item) { return box(item).checked; }).map(function (item) {
        return item.querySelector("span").firstChild.textContent.trim();
      });
      if (status) {
        status.textContent = chosen.length ? "已选 " + chosen.length + " 个：" + chosen.join("、") : "可多选；勾选即可。";
      }
    }

    function filter() {
      var query = input ? norm(input.value) : "";
      items.forEach(function (item) { item.hidden = !(box(item).checked || matches(item, query)); });
      groups.forEach(function (group) {
        group.hidden = !group.querySelector(".check-item:not([hidden])");
      });
    }

    function syncLead() {
      if (!leadSelect) { return; }
      items.forEach(function (item) {
        var checkbox = box(item);
        var isLead = checkbox.value === leadSelect.value;
        if (isLead && checkbox.checked) { checkbox.checked = false; }
        checkbox.disabled = isLead;
        item.title = isLead ? "已选为牵头单位" : "";
      });
      filter();
      describe();
    }

    if (input) {
      input.addEventListener("input", filter);
      onEnter(input, function () {
        var firstVisible = items.filter(function (item) { return !item.hidden && !box(item).disabled; })[0];
        if (firstVisible) { box(firstVisible).focus(); }
      });
    }
    fieldset.addEventListener("change", function () { filter(); describe(); });
    if (leadSelect) { leadSelect.addEventListener("change", syncLead); }
    syncLead();
    filter();
    describe();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-unit-picker] [data-filter-for]"), setupSelect);
    Array.prototype.forEach.call(document.querySelectorAll("[data-unit-checklist]"), setupChecklist);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
