// Filters and search of report.html. Cards carry data-status, data-model, data-group and
// data-search (the id and prompts, lower-cased when the report was written), so filtering never
// reads user text as HTML. A group's section is hidden when none of its cards is shown.
(function () {
  "use strict";
  function all(selector) {
    return Array.prototype.slice.call(document.querySelectorAll(selector));
  }
  var cards = all(".card");
  var groups = all("section.group");
  var states = all("button[data-filter]");
  var models = all("button[data-model-filter]");
  var groupFilter = document.getElementById("group-filter");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var empty = document.getElementById("empty");
  var chosen = {status: "all", model: "all", group: "all"};

  function matches(wanted, value) {
    return wanted === "all" || wanted === value;
  }

  function apply() {
    var query = search.value.trim().toLowerCase();
    var count = 0;
    cards.forEach(function (card) {
      var visible = matches(chosen.status, card.dataset.status) &&
        matches(chosen.model, card.dataset.model) &&
        matches(chosen.group, card.dataset.group) &&
        (query === "" || card.dataset.search.indexOf(query) !== -1);
      card.hidden = !visible;
      if (visible) { count += 1; }
    });
    groups.forEach(function (group) {
      group.hidden = group.querySelector(".card:not([hidden])") === null;
    });
    shown.textContent = String(count);
    empty.hidden = count !== 0;
    states.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.filter === chosen.status));
    });
    models.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.modelFilter === chosen.model));
    });
  }

  states.forEach(function (button) {
    button.addEventListener("click", function () {
      chosen.status = button.dataset.filter;
      apply();
    });
  });
  models.forEach(function (button) {
    button.addEventListener("click", function () {
      chosen.model = button.dataset.modelFilter;
      apply();
    });
  });
  if (groupFilter !== null) {
    groupFilter.addEventListener("change", function () {
      chosen.group = groupFilter.value;
      apply();
    });
  }
  search.addEventListener("input", apply);
  apply();
})();
