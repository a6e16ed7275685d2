/* Photos of a field form kept on the phone (issue #14): every file input of the form puts what
   is chosen through RoadchiefQueue.resizeImage (≤ maxSide px, JPEG), hashes it and keeps it in
   the draft's IndexedDB files (offline-queue.js); under each input a list shows the kept photos
   (thumbnail, size, 删除). Reusable by other field forms:

     var photos = RoadchiefPhotos.attach(form, {draftKey, maxPhotos: 6, maxSide: 1600,
                                                 saved: fn → Promise (e.g. save the text draft),
                                                 say: fn(kind, text)});
     photos.queue(fn)      → Promise: runs fn after every photo step so far (one chain, in order)
     photos.idle()         → Promise: when the photo steps so far are done (a submit waits for it)
     photos.render()       → Promise<[file]>: redraws the lists from IndexedDB
     photos.removeField(n) → Promise: drops the photos of input n (a removed form row)

   A removed photo is gone from IndexedDB at once. Built with textContent only (CSP). */
(function () {
  "use strict";

  function attach(form, options) {
    var Q = window.RoadchiefQueue;
    var key = options.draftKey, maxPhotos = options.maxPhotos || 6, maxSide = options.maxSide || 1600;
    var say = options.say || function () {};
    var saved = options.saved || function () { return Promise.resolve(); };
    var chain = Promise.resolve();
    var urls = [];

    function queue(fn) {
      chain = chain.then(fn).catch(function () { say("error", "照片未能保存到本机，请重新选择。"); });
      return chain;
    }

    function listFor(input) {
      var box = input.parentNode.querySelector(".photo-list");
      if (!box) {
        box = document.createElement("ul");
        box.className = "photo-list";
        input.parentNode.appendChild(box);
      }
      return box;
    }

    function item(file, i) {
      var li = document.createElement("li");
      li.className = "photo-item";
      var img = document.createElement("img");
      var url = URL.createObjectURL(file.blob);
      urls.push(url);
      img.src = url; img.alt = "照片 " + (i + 1); img.width = 56; img.height = 56;
      var text = document.createElement("span");
      text.className = "small muted";
      text.textContent = "照片 " + (i + 1) + "（" + Math.max(1, Math.round(file.blob.size / 1024)) + " KB，已存本机）";
      var remove = document.createElement("button");
      remove.type = "button"; remove.className = "btn btn-small js-remove-photo"; remove.textContent = "删除";
      remove.setAttribute("data-photo-id", file.id);
      li.appendChild(img); li.appendChild(text); li.appendChild(remove);
      return li;
    }

    function render() {
      return Q.files.list(key).then(function (files) {
        urls.forEach(function (url) { URL.revokeObjectURL(url); });
        urls = [];
        Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
          var box = listFor(input);
          box.textContent = "";
          files.filter(function (f) { return f.field === input.name; }).forEach(function (file, i) { box.appendChild(item(file, i)); });
        });
        return files;
      });
    }

    function keep(field, file) {
      return Q.resizeImage(file, maxSide).then(function (blob) {
        return Q.sha256(blob).then(function (hash) {
          return Q.files.add(key, { id: Q.uuid4(), field: field, blob: blob, name: blob === file ? file.name : "photo.jpg", sha256: hash });
        });
      });
    }

    function add(input) {
      var chosen = Array.prototype.slice.call(input.files || []);
      var field = input.name;
      input.value = "";  // the photos live in IndexedDB now, not in the input
      if (!chosen.length) { return chain; }
      return queue(function () {
        return Q.files.list(key).then(function (have) {
          var room = Math.max(0, maxPhotos - have.filter(function (f) { return f.field === field; }).length);
          if (chosen.length > room) { say("warning", "每处最多 " + maxPhotos + " 张照片，多选的 " + (chosen.length - room) + " 张未加入。"); }
          return chosen.slice(0, room).reduce(function (steps, file) {
            return steps.then(function () { return keep(field, file); });
          }, Promise.resolve());
        }).then(saved).then(render);
      });
    }

    function removeField(field) {
      return Q.files.list(key).then(function (files) {
        return Promise.all(files.filter(function (f) { return f.field === field; }).map(function (f) { return Q.files.remove(f.id); }));
      }).then(render);
    }

    form.addEventListener("change", function (event) {
      if (event.target.type === "file") { add(event.target); }
    });
    form.addEventListener("click", function (event) {
      if (!event.target.classList.contains("js-remove-photo")) { return; }
      var id = event.target.getAttribute("data-photo-id");
      queue(function () { return Q.files.remove(id).then(render); });
    });

    return { queue: queue, idle: function () { return chain; }, render: render, removeField: removeField };
  }

  window.RoadchiefPhotos = { attach: attach };
}());
