/* Site-wide behaviour: collapsible nav on phones, dismissible flash messages,
   the user menu, confirmation prompts and auto-submitting filters.
   Loaded in <head> (no defer) so the "js" class is set before first paint;
   everything else waits for DOMContentLoaded. No inline scripts (CSP). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function closest(el, selector) {
    while (el && el.nodeType === 1) {
      if (el.matches(selector)) { return el; }
      el = el.parentElement;
    }
    return null;
  }

  function setupNav() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) { return; }
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        nav.classList.remove("open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  function setupUserMenu() {
    var menu = document.querySelector(".user-menu");
    if (!menu) { return; }
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
  }

  function setupFlashes() {
    document.addEventListener("click", function (event) {
      var button = closest(event.target, ".flash-close");
      if (button) {
        var flash = closest(button, ".flash");
        if (flash) { flash.parentNode.removeChild(flash); }
      }
    });
  }

  function setupConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var message = form.getAttribute && form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) { event.preventDefault(); }
    }, true);
  }

  // <select data-autosubmit> submits its form on change (filters); a changed town
  // clears the village, which belongs to the old town.
  function setupAutosubmit() {
    document.addEventListener("change", function (event) {
      var el = event.target;
      if (!el.hasAttribute || !el.hasAttribute("data-autosubmit") || !el.form) { return; }
      var clear = el.getAttribute("data-clears");
      if (clear && el.form.elements[clear]) { el.form.elements[clear].value = ""; }
      var page = el.form.elements.page;
      if (page) { page.value = "1"; }
      el.form.submit();
    });
  }

  // Role-dependent fields on the user form: town for town offices/inspectors, chief id for chiefs.
  function setupRoleFields() {
    var select = document.querySelector("select[data-role-select]");
    if (!select) { return; }
    var form = select.form;
    function update() {
      var role = select.value;
      var rows = form.querySelectorAll("[data-for-roles]");
      for (var i = 0; i < rows.length; i++) {
        var roles = rows[i].getAttribute("data-for-roles").split(" ");
        rows[i].hidden = roles.indexOf(role) === -1;
      }
    }
    select.addEventListener("change", update);
    update();
  }

  // <button data-details="open|close" data-target="selector"> opens or closes every matching <details>.
  function setupDetailsButtons() {
    document.addEventListener("click", function (event) {
      var button = closest(event.target, "[data-details]");
      if (!button) { return; }
      var open = button.getAttribute("data-details") === "open";
      var all = document.querySelectorAll(button.getAttribute("data-target") || "details");
      for (var i = 0; i < all.length; i++) { all[i].open = open; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupDetailsButtons();
    setupNav();
    setupUserMenu();
    setupFlashes();
    setupConfirm();
    setupAutosubmit();
    setupRoleFields();
  });
}());
