/* The visible 待同步 list of the field app (issue #14): in each .js-sync-box it shows how many of
   the signed-in user's submissions wait in the offline queue (offline-queue.js), each with its
   label, when it was saved and its state (等待网络 / 正在同步 / 需要重新登录 / 提交失败 / 照片未确认),
   and what this page has just sent (已同步, with a link). Buttons: 立即同步; per item 删除 (asks
   first) and, for a refused one, 修改 — which fires "roadchief:reopen" (detail: the item id) for
   the page's form to take the item back. Built with textContent only (CSP, no user HTML). */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function when(iso) {
    try { return new Date(iso).toLocaleString("zh-CN", { hour12: false }); } catch (e) { return iso; }
  }

  function mount(box, Q, user, csrf) {
    var count = box.querySelector(".js-sync-count");
    var list = box.querySelector(".js-sync-list");
    var note = box.querySelector(".js-sync-note");
    var done = box.querySelector(".js-sync-done");
    var now = box.querySelector(".js-sync-now");

    function render() {
      Q.all(user).then(function (items) {
        count.textContent = String(items.length);
        list.textContent = "";
        items.forEach(function (item) {
          var li = el("li", "sync-item sync-" + item.state);
          li.setAttribute("data-id", item.id);
          li.appendChild(el("span", "sync-label", item.label || item.kind));
          var photos = item.files.length ? "，照片 " + item.files.length + " 张" : "";
          li.appendChild(el("span", "sync-meta small muted", "保存于 " + when(item.created) + photos));
          var state = el("span", "badge sync-state", Q.STATE_LABELS[item.state] || item.state);
          li.appendChild(state);
          if (item.error) { li.appendChild(el("span", "sync-error small", item.error)); }
          var actions = el("span", "sync-actions");
          if (item.state === "failed") {
            var edit = el("button", "btn btn-small js-sync-edit", "修改");
            edit.type = "button";
            actions.appendChild(edit);
          }
          var drop = el("button", "btn btn-small js-sync-drop", "删除");
          drop.type = "button";
          actions.appendChild(drop);
          li.appendChild(actions);
          list.appendChild(li);
        });
        note.textContent = items.length
          ? (navigator.onLine ? "恢复网络后自动提交；也可点“立即同步”。" : "当前无网络：以上记录保存在本机，恢复网络后自动提交，关闭浏览器不会丢失。")
          : "没有待同步的记录。";
        now.hidden = !items.length;
        done.textContent = "";
        Q.sent.forEach(function (s) {
          var li = el("li", "sync-sent small");
          li.appendChild(document.createTextNode("已同步：" + (s.label || "记录") + " "));
          if (s.url) { var a = el("a", "", "查看"); a.href = s.url; li.appendChild(a); }
          done.appendChild(li);
        });
        box.hidden = false;
      }).catch(function () {
        note.textContent = "此浏览器不能在本机保存记录（IndexedDB 不可用），请在有网络时提交。";
        box.hidden = false;
      });
    }

    now.addEventListener("click", function () { Q.flush({ user: user, csrf: csrf() }).then(render, render); });
    list.addEventListener("click", function (event) {
      var li = event.target.closest(".sync-item");
      if (!li) { return; }
      var id = li.getAttribute("data-id");
      if (event.target.classList.contains("js-sync-drop")) {
        if (window.confirm("删除后这条记录不会再提交，确定删除？")) { Q.remove(id); }
      } else if (event.target.classList.contains("js-sync-edit")) {
        box.dispatchEvent(new CustomEvent("roadchief:reopen", { bubbles: true, detail: id }));
      }
    });
    window.addEventListener("online", render);
    window.addEventListener("offline", render);
    Q.onChange(render);
    render();
  }

  function init() {
    var Q = window.RoadchiefQueue;
    var me = document.querySelector("meta[name=roadchief-user]");
    if (!Q || !me) { return; }
    var csrf = function () { var f = document.querySelector("input[name=csrf_token]"); return f ? f.value : ""; };
    Array.prototype.forEach.call(document.querySelectorAll(".js-sync-box"), function (box) {
      mount(box, Q, me.getAttribute("content"), csrf);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
