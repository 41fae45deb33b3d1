// Filters and search of report.html. Cards carry data-status and data-search (the id and
// prompts, lower-cased when the report was written), so filtering never reads user text as HTML.
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll(".card"));
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button[data-filter]"));
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var empty = document.getElementById("empty");
  var status = "all";

  function apply() {
    var query = search.value.trim().toLowerCase();
    var count = 0;
    cards.forEach(function (card) {
      var visible = (status === "all" || card.dataset.status === status) &&
        (query === "" || card.dataset.search.indexOf(query) !== -1);
      card.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = String(count);
    empty.hidden = count !== 0;
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.filter === status));
    });
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      status = button.dataset.filter;
      apply();
    });
  });
  search.addEventListener("input", apply);
  apply();
})();
