// Week grid keyboard use: arrows move between cells, Enter moves down, ✎ toggles the note
// popover. Tab and Shift-Tab are the browser's own. Handlers are delegated to the document
// because htmx replaces cells as they are saved.
(function () {
  "use strict";

  function cellAt(table, row, col) {
    return table.querySelector('input.hours[data-row="' + row + '"][data-col="' + col + '"]');
  }

  function move(input, dRow, dCol) {
    var table = input.closest("[data-timegrid]");
    if (!table) return false;
    var target = cellAt(table, +input.dataset.row + dRow, +input.dataset.col + dCol);
    if (!target) return false;
    target.focus();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.classList.contains("hours")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var atStart = input.selectionStart === 0 && input.selectionEnd === 0;
    var atEnd = input.selectionStart === input.value.length;
    var wholeSelected = input.selectionStart === 0 && input.selectionEnd === input.value.length;
    var moved = false;
    switch (event.key) {
      case "ArrowUp": moved = move(input, -1, 0); break;
      case "ArrowDown": moved = move(input, 1, 0); break;
      case "ArrowLeft": if (atStart || wholeSelected) moved = move(input, 0, -1); break;
      case "ArrowRight": if (atEnd || wholeSelected) moved = move(input, 0, 1); break;
      case "Enter":
        // Down, or to the next row's first cell at the bottom: leaving the cell saves it.
        moved = move(input, event.shiftKey ? -1 : 1, 0);
        if (!moved) input.blur();
        moved = true;
        break;
      case "Escape": closePopovers(); break;
    }
    if (moved) event.preventDefault();
  });

  // Select the cell's content on focus so typing replaces it.
  document.addEventListener("focusin", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.classList.contains("hours")) input.select();
  });

  function closePopovers(except) {
    document.querySelectorAll(".cellpop:not([hidden])").forEach(function (pop) {
      if (pop === except) return;
      pop.hidden = true;
      var btn = pop.parentElement.querySelector("[data-cellmore]");
      if (btn) btn.setAttribute("aria-expanded", "false");
    });
  }

  document.addEventListener("click", function (event) {
    var btn = event.target.closest("[data-cellmore]");
    if (btn) {
      var pop = btn.parentElement.querySelector(".cellpop");
      closePopovers(pop);
      pop.hidden = !pop.hidden;
      btn.setAttribute("aria-expanded", String(!pop.hidden));
      if (!pop.hidden) pop.querySelector("textarea").focus();
      return;
    }
    if (!event.target.closest(".cellpop")) closePopovers();
  });
})();
