// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // GOV.UK pattern: move focus to the error summary so screen readers announce it first.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
    // A fragment still in the address (the skip link, an error link followed earlier: a form
    // is sent back to its own address, fragment and all) makes the browser move the focus to
    // its target once the page has loaded; the summary must still be read first.
    if (window.location.hash) {
      window.addEventListener("load", function () {
        var active = document.activeElement;
        if (!summary.contains(active) &&
            (active === document.body || "#" + active.id === window.location.hash)) {
          summary.focus();
        }
      });
    }
    // An error link puts the focus into its field (a group: its first option) and shows the
    // field's label, without adding a fragment to the address.
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) { return; }
      var input = target.matches("input, select, textarea") ? target
        : target.querySelector("input, select, textarea");
      if (!input) { return; }
      event.preventDefault();
      var label = target.matches("fieldset") ? target.querySelector("legend")
        : document.querySelector("label[for='" + CSS.escape(input.id) + "']");
      (label || input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }
  // WCAG 2.1.1: a table wider than the screen scrolls inside its box, and only a box that can
  // take the focus can be scrolled without a mouse. Only boxes that really overflow become a
  // tab stop, named after their table's caption.
  function scrollBoxesFocusable() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      var overflows = box.scrollWidth > box.clientWidth;
      if (overflows && !box.hasAttribute("tabindex")) {
        var caption = box.querySelector("caption");
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "");
        if (caption && caption.textContent.trim()) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", caption.textContent.trim());
        }
      } else if (!overflows && box.hasAttribute("data-scroll-focus")) {
        ["tabindex", "data-scroll-focus", "role", "aria-label"].forEach(function (name) {
          box.removeAttribute(name);
        });
      }
    });
  }
  scrollBoxesFocusable();
  // Web fonts arriving later can widen a table; so can a narrower window.
  window.addEventListener("load", scrollBoxesFocusable);
  window.addEventListener("resize", scrollBoxesFocusable);
  // Ask before a destructive action (the server asks again where it matters).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
