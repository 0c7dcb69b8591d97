// Hub dei Talenti: small progressive enhancements. No inline handlers anywhere (CSP).
(function () {
  "use strict";

  function init(root) {
    if (!window.bootstrap) return;
    root.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
      window.bootstrap.Tooltip.getOrCreateInstance(el);
    });
    root.querySelectorAll('.form-group input.form-control:not([type=date]):not([type=time]):not([type=hidden]), .form-group textarea')
      .forEach(function (el) { window.bootstrap.Input.getOrCreateInstance(el); });
  }

  // htmx:load fires for <body> at start and for every swapped fragment.
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });

  // After a swap, move focus to the new content's heading so screen readers follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelector) return;
    var focus = target.querySelector("[data-focus-after-swap]");
    if (focus) focus.focus();
  });

  // Errors from htmx requests (4xx/5xx) are swapped into their target so messages show.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409 || status === 403 || status === 404 || status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Autosave forms (data-autosave-failed="message"): a save that never got an answer, or got a
  // server error, says so in the status line; until a save succeeds, leaving the page asks first.
  function autosaveForm(el) {
    return el && el.closest ? el.closest("[data-autosave-failed]") : null;
  }
  function autosaveFailed(event) {
    var form = autosaveForm(event.detail.elt);
    var status = document.getElementById("autosave-status");
    if (!form || !status) return;
    status.textContent = form.getAttribute("data-autosave-failed");
    status.classList.add("text-danger", "fw-semibold");
    form.setAttribute("data-unsaved", "true");
  }
  document.addEventListener("htmx:sendError", autosaveFailed);
  document.addEventListener("htmx:responseError", autosaveFailed);
  document.addEventListener("input", function (event) {
    var form = autosaveForm(event.target);
    if (form) form.setAttribute("data-unsaved", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = autosaveForm(event.detail.elt);
    if (form && event.detail.xhr && event.detail.xhr.status === 200) form.removeAttribute("data-unsaved");
  });
  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector("[data-autosave-failed][data-unsaved]")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Confirmation for destructive buttons: data-confirm="message".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);
})();
