/* The field app's service worker (issue #14). web/pwa.py serves it at /sw.js (scope: the whole
   site) with one line before this code: self.ROADCHIEF_SW = {version, precache, pages, data, static}.
   - Static files (app css/js, Leaflet, icons, the manifest) are precached on install in
     "roadchief-static-<version>" and answered cache first. The version is a hash of every
     static file, so any change installs a new worker, which deletes the old caches.
   - The field pages (inspection form, event form) and the field form's JSON look-ups go to the
     network first; the last good copy is kept in "roadchief-user-<version>" for use offline.
     They are one user's pages (CSRF token, their segments), so the pages tell the worker who is
     signed in ({type: "user", user: id or ""}, see pwa.js): when that changes — another user,
     or signed out (the login page says "") — this cache is emptied before anything new is kept.
   - Everything else is left alone: non-GET requests, /api/, downloads and other pages go to
     the network exactly as without a worker. */
/* global self, caches, fetch, Response, URL */
(function () {
  "use strict";
  var cfg = self.ROADCHIEF_SW;
  var STATIC = "roadchief-static-" + cfg.version;
  var USER = "roadchief-user-" + cfg.version;
  var META = "roadchief-meta";
  var USER_KEY = "/__roadchief/user";
  var known = null;  // the signed-in user as last told (also kept in META: the worker may restart)

  function offlinePage() {
    var html = "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\">" +
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>无网络</title>" +
      "<body style=\"font-family:sans-serif;padding:1rem;line-height:1.6\"><h1>当前无网络</h1>" +
      "<p>此页面尚未保存到本机。请在有网络时打开一次“新建检查记录”或“登记突发事件”，之后即可离线使用。</p>" +
      "<p><a href=\"" + cfg.pages[0] + "\">新建检查记录</a></p></body></html>";
    return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }

  function storedUser() {
    if (known !== null) { return Promise.resolve(known); }
    return caches.open(META).then(function (c) { return c.match(USER_KEY); })
      .then(function (r) { return r ? r.text() : ""; })
      .then(function (u) { known = u; return u; });
  }

  function fillPages(force) {
    return caches.open(USER).then(function (cache) {
      return Promise.all(cfg.pages.map(function (path) {
        return cache.match(path).then(function (hit) {
          if (hit && !force) { return true; }
          return fetch(path, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
            if (r.ok && !r.redirected) { return cache.put(path, r).then(function () { return true; }); }
            return false;
          }).catch(function () { return !!hit; });
        });
      }));
    }).then(function (done) { return done.filter(Boolean).length; });
  }

  function setUser(user) {
    return storedUser().then(function (old) {
      if (old === user) { return user ? fillPages(false) : 0; }
      known = user;
      return caches.delete(USER)
        .then(function () { return caches.open(META); })
        .then(function (c) { return c.put(USER_KEY, new Response(user)); })
        .then(function () { return user ? fillPages(true) : 0; });
    });
  }

  function keep(request, response) {
    if (!response || !response.ok || response.redirected || response.type !== "basic") { return; }
    var copy = response.clone();
    return storedUser().then(function (user) {
      if (user) { return caches.open(USER).then(function (c) { return c.put(request, copy); }); }
    });
  }

  function networkFirst(event, key, fallback, store) {
    event.respondWith(fetch(event.request).then(function (response) {
      if (store !== false) { event.waitUntil(Promise.resolve(keep(key, response)).catch(function () {})); }
      return response;
    }).catch(function () {
      return caches.open(USER).then(function (c) { return c.match(key); })
        .then(function (hit) { return hit || fallback(); });
    }));
  }

  self.addEventListener("install", function (event) {
    event.waitUntil(caches.open(STATIC).then(function (c) { return c.addAll(cfg.precache); })
      .then(function () { return self.skipWaiting(); }));
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("roadchief-") === 0 && [STATIC, USER, META].indexOf(n) < 0;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); }));
  });

  self.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type !== "user") { return; }
    var user = String(data.user || "");
    event.waitUntil(setUser(user).then(function (pages) {
      if (event.source) { event.source.postMessage({ type: "ready", user: user, pages: pages, version: cfg.version }); }
    }).catch(function () {}));
  });

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") { return; }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) { return; }
    if (url.pathname.indexOf(cfg.static) === 0) {
      event.respondWith(caches.open(STATIC).then(function (c) {
        return c.match(request, { ignoreSearch: true }).then(function (hit) { return hit || fetch(request); });
      }));
      return;
    }
    if (cfg.pages.indexOf(url.pathname) >= 0) {
      // kept only without a query (?segment_id=… preselects): offline any query gets the kept form
      networkFirst(event, url.pathname, offlinePage, !url.search);
      return;
    }
    if (cfg.data.indexOf(url.pathname) >= 0) {
      networkFirst(event, request.url, function () {
        return new Response(JSON.stringify({ error: "当前无网络，且本机没有这次查询的结果。" }),
          { status: 503, headers: { "Content-Type": "application/json" } });
      });
    }
  });
}());
