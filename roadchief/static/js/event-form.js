/* The disruption event form offline (issue #14, /ops/events/new): nothing typed is lost.
   - Draft: every field (not the photos) is kept in IndexedDB (offline-queue.js, draft key
     "event-new") as it is typed, and put back when the page is reloaded or reopened.
   - Offline submit: the form goes into the offline queue with its client id (hidden
     client_uuid; the server stores one event per client id, services/events.py) and the draft
     is dropped in the same transaction; pwa.js sends it when the connection returns and the
     待同步 list (sync-list.js) shows it. Photos are not kept offline: they are added on the
     event page once it is online (the form says so).
   - Online submit: the ordinary form post, once the draft is marked sent; a page that comes
     back with the server's error keeps it, a fresh form drops it.
   - 修改 on a refused queued item (roadchief:reopen) puts it back into the form.
   Loaded before offline-guard.js, whose held submit is then the fallback without IndexedDB.
   No inline script (CSP). */
(function () {
  "use strict";
  var KEY = "event-new";

  function init() {
    var Q = window.RoadchiefQueue;
    var form = document.querySelector("form.js-event-form");
    var me = document.querySelector("meta[name=roadchief-user]");
    if (!Q || !form || !me || !window.indexedDB) { return; }
    var user = me.getAttribute("content");
    var uuidField = form.querySelector("input[name=client_uuid]");
    var status = document.getElementById("event-offline-status");
    var serverError = !!document.querySelector(".flash-error, .alert-error");
    var restoring = false;

    function say(text, kind) {
      if (!status) { return; }
      status.textContent = text;
      status.className = "alert alert-" + (kind || "info");
      status.hidden = !text;
    }

    function values() {
      var fields = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "file" || el.name === "csrf_token") { return; }
        if (el.type === "checkbox") { fields[el.name] = el.checked ? el.value : ""; } else { fields[el.name] = el.value; }
      });
      return fields;
    }

    function fill(fields) {
      restoring = true;
      Object.keys(fields || {}).forEach(function (name) {
        var el = form.elements.namedItem(name);
        if (!el || el.type === "file") { return; }
        if (el.type === "checkbox") { el.checked = !!fields[name]; } else { el.value = fields[name]; }
        el.dispatchEvent(new Event("change", { bubbles: true }));
      });
      restoring = false;
    }

    function save(extra) {
      var draft = { fields: values() };
      if (extra) { Object.keys(extra).forEach(function (k) { draft[k] = extra[k]; }); }
      return Q.drafts.put(KEY, draft).catch(function () { /* no IndexedDB: the guard holds offline submits */ });
    }

    function fresh() {
      form.reset();
      if (uuidField) { uuidField.value = Q.uuid4(); }
    }

    if (uuidField && !uuidField.value) { uuidField.value = Q.uuid4(); }

    Q.drafts.get(KEY).then(function (draft) {
      if (!draft) { return; }
      if (draft.sent && !serverError) { return Q.drafts.remove(KEY); }  // posted online and gone on
      if (!draft.sent) {
        fill(draft.fields);
        say("已从本机恢复未提交的内容。", "info");
      }
      return save();  // the server's error page shows the typed values: keep them as the draft
    }).catch(function () { /* no IndexedDB */ });

    form.addEventListener("input", function () { if (!restoring) { save(); } });
    form.addEventListener("change", function () { if (!restoring) { save(); } });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (navigator.onLine) {  // mark the draft sent before the page goes (form.submit() fires no submit event)
        var post = function () { form.submit(); };
        save({ sent: true }).then(post, post);
        return;
      }
      var fields = values();
      var photos = form.querySelector("input[type=file]");
      var hadPhotos = photos && photos.files && photos.files.length;
      var kind = form.elements.namedItem("kind");
      var label = "突发事件：" + (kind && kind.selectedOptions[0] ? kind.selectedOptions[0].textContent : "") +
        " " + (fields.occurred_at || "").replace("T", " ");
      var csrf = form.querySelector("input[name=csrf_token]");
      var pairs = Object.keys(fields).map(function (name) { return [name, fields[name]]; });
      pairs.push(["csrf_token", csrf ? csrf.value : ""]);
      var item = { id: fields.client_uuid || Q.uuid4(), kind: "event", label: label, url: form.action,
                   user: user, fields: pairs, files: [], draft: { fields: fields } };
      Q.commit(item, KEY).then(function () {
        fresh();
        say("当前无网络：事件已保存在本机（待同步），恢复网络后自动提交，关闭浏览器不会丢失。" +
            (hadPhotos ? "照片未能离线保存，请联网后在事件页补充。" : ""), "warning");
      }, function () {
        say("本机无法保存（IndexedDB 不可用），请在有网络时再提交；已填写的内容保留在本页。", "error");
      });
    });

    document.addEventListener("roadchief:reopen", function (event) {
      Q.drafts.remove(KEY).then(function () { return Q.reopen(event.detail, KEY); }).then(function (item) {
        if (!item || !item.draft) { return; }
        fill(item.draft.fields);
        say("已取回被退回的事件，请修改后重新提交：" + (item.error || ""), "warning");
        form.scrollIntoView({ block: "start" });
      });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
