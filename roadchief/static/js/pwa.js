/* The installable field app, page side (issue #14): field pages carry
   <meta name="roadchief-sw" content="/sw.js"> and register the service worker (scope "/");
   every page the worker controls tells it who is signed in (<meta name="roadchief-user">,
   absent when signed out), so it never shows one user's cached pages to another (see
   service-worker.js). When the worker has the field pages, <html data-offline-ready> is set
   and .js-offline-ready elements say so.
   It also sends the signed-in user's offline queue (offline-queue.js) on any page: on load,
   when the connection returns, and every 30 s while something waits. No inline script (CSP). */
(function () {
  "use strict";
  var sw = document.querySelector("meta[name=roadchief-sw]");
  var me = document.querySelector("meta[name=roadchief-user]");
  var user = me ? me.getAttribute("content") : "";

  function csrf() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function sync() {
    var Q = window.RoadchiefQueue;
    if (!Q || !user || !navigator.onLine) { return; }
    Q.all(user).then(function (items) {
      if (items.some(function (i) { return i.state !== "failed"; })) { return Q.flush({ user: user, csrf: csrf() }); }
    }).catch(function () { /* IndexedDB unavailable: nothing queued here */ });
  }

  if (user && window.indexedDB) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", sync); } else { sync(); }
    window.addEventListener("online", sync);
    setInterval(sync, 30000);
  }

  if (!("serviceWorker" in navigator)) { return; }

  navigator.serviceWorker.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type !== "ready" || data.user !== user) { return; }
    document.documentElement.setAttribute("data-offline-ready", String(data.pages));
    Array.prototype.forEach.call(document.querySelectorAll(".js-offline-ready"), function (el) {
      el.textContent = data.pages ? "本机已保存填报页面，无网络时也可打开" : "";
      el.hidden = !data.pages;
    });
  });

  function tell(registration) {
    var worker = registration && registration.active || navigator.serviceWorker.controller;
    if (worker) { worker.postMessage({ type: "user", user: user }); }
  }

  if (sw) {
    navigator.serviceWorker.register(sw.getAttribute("content"), { scope: "/" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(tell)
      .catch(function () { /* plain HTTP off localhost: no worker, the page still works online */ });
  } else if (navigator.serviceWorker.controller) {
    navigator.serviceWorker.ready.then(tell);
  }
}());
