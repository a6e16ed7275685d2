/* Forms marked data-offline-guard (the event form) are not posted while there is no network:
   a plain form post would end on the browser's error page and what was typed would be gone.
   The submit is held, the form says so in Chinese, and everything typed stays on the page;
   when the connection returns the note says it can be sent now. (The inspection form goes
   through the offline queue instead, see inspect.js; the event form too when IndexedDB works,
   see event-form.js, which is loaded first.) No inline script (CSP). */
(function () {
  "use strict";

  function guard(form) {
    var note = document.createElement("p");
    note.className = "alert alert-warning js-offline-note";
    note.setAttribute("role", "status");
    note.hidden = true;
    var button = form.querySelector("[type=submit]");
    form.insertBefore(note, button || null);
    form.addEventListener("submit", function (event) {
      if (navigator.onLine || event.defaultPrevented) { note.hidden = true; return; }  // online, or queued (event-form.js)
      event.preventDefault();
      note.textContent = "当前无网络，尚未提交：已填写的内容保留在本页，请勿关闭；恢复网络后再点“" +
        (button ? button.textContent.trim() : "提交") + "”。";
      note.hidden = false;
      note.scrollIntoView({ block: "nearest" });
    });
    window.addEventListener("online", function () {
      if (!note.hidden) { note.textContent = "网络已恢复，可以提交了。"; }
    });
  }

  function init() { Array.prototype.forEach.call(document.querySelectorAll("form[data-offline-guard]"), guard); }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
