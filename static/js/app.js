// Small page behaviours declared with data attributes, so no page needs inline script or
// style (the Content-Security-Policy allows only our own static files):
//   data-autosubmit        a <select> that submits its form when changed
//   data-navigate          a <select> whose option values are URLs to go to
//   data-confirm="…"       a <form> that asks before it is submitted
//   data-select-on-click   an <input> whose text is selected when clicked (tokens to copy)
//   data-checkall          a checkbox that ticks every week box of the bulk-approval form
//   data-pct="42"          a progress bar's filled share, in percent
(function () {
  "use strict";

  function bars(root) {
    root.querySelectorAll("[data-pct]").forEach(function (bar) {
      var pct = Math.max(0, Math.min(100, parseFloat(bar.dataset.pct) || 0));
      bar.style.width = pct + "%";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { bars(document); });
  document.addEventListener("htmx:afterSwap", function (event) { bars(event.target); });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("select[data-autosubmit]") && el.form) {
      el.form.requestSubmit();
    } else if (el.matches("select[data-navigate]") && el.value) {
      window.location.href = el.value;
    } else if (el.matches("input[data-checkall]")) {
      document.querySelectorAll('input[name="week"][form="bulk"]').forEach(function (box) {
        box.checked = el.checked;
      });
    }
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    if (event.target.matches("input[data-select-on-click]")) event.target.select();
  });
})();
