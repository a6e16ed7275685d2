/* The offline queue of the field app (issue #14): drafts, photos and submissions kept in
   IndexedDB (database "roadchief-offline"), so reloading or closing the browser loses nothing,
   and sent when the connection returns. Shared by the inspection form (inspect.js) and meant
   for other field uploads (patrol tracks). window.RoadchiefQueue:

   Submissions ("queue" store)
     add(item)            → Promise<item>. item = {id, kind, label, url, user, fields, files}:
                            id: the submission's client id (a UUID; the server is idempotent by it),
                            url: where to POST (multipart/form-data, X-Requested-With: fetch),
                            user: the signed-in user id (only that user's session sends it),
                            fields: [[name, value], …] (text parts),
                            files: [{id, field, idField, blob, name, sha256}] — each file is
                              sent as `field` with its client id as `idField`.
     commit(item, draftKey) → add(item) and drop that draft and its files, in one transaction.
     all(user)            → Promise<[item]> (oldest first; all users when user is undefined).
     remove(id)           → Promise.
     flush({user, csrf})  → Promise<[{item, ok, data}]>: sends the user's waiting items one by one.
                            csrf replaces the stored csrf_token (the current page's token).
                            The server must answer JSON {ok: true, receipts: [{client_id, sha256, …}]}
                            or {ok: false, error, errors}. An item is removed only when every
                            file has a receipt with its client id (and the same SHA-256 when the
                            phone could compute it); otherwise it stays, with its state:
                            "pending" 等待网络, "sending" 正在同步, "login" 需要重新登录,
                            "failed" 提交失败 (item.error), "unconfirmed" 照片未确认.
     onChange(fn)         → fn() after any change (here or in another tab).
     reopen(id, draftKey) → Promise<item>: a failed item back into an empty draft (its item.draft
                            and its files), removed from the queue, in one transaction.
     sent                 → [{id, label, url}] the items this page has sent.
     STATE_LABELS         → the Chinese label of each state.
   Drafts ("drafts" and "files" stores)
     drafts.get(key) / drafts.put(key, value) / drafts.remove(key)  (remove also drops its files)
     files.list(draftKey) / files.add(draftKey, {id, field, blob, name, sha256}) / files.remove(id)
   Helpers
     uuid4(), sha256(blob) → Promise<hex or null (no WebCrypto on plain HTTP)>,
     resizeImage(file, maxSide=1600) → Promise<Blob>: a JPEG no larger than maxSide px on its
       long side (canvas) that keeps a JPEG's EXIF block (拍摄时间; Orientation set upright);
       a JPEG/PNG/WebP already small enough is kept as it is.
   No inline script (CSP). */
(function () {
  "use strict";
  var DB = "roadchief-offline", VERSION = 1;
  var STATE_LABELS = { pending: "等待网络", sending: "正在同步", login: "需要重新登录", failed: "提交失败", unconfirmed: "照片未确认" };
  var listeners = [];
  var opening = null;
  var flushing = null;
  var channel = window.BroadcastChannel ? new BroadcastChannel("roadchief-offline") : null;

  function open() {
    if (opening) { return opening; }
    opening = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("queue")) { db.createObjectStore("queue", { keyPath: "id" }); }
        if (!db.objectStoreNames.contains("drafts")) { db.createObjectStore("drafts", { keyPath: "key" }); }
        if (!db.objectStoreNames.contains("files")) {
          db.createObjectStore("files", { keyPath: "id" }).createIndex("draft", "draft");
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { opening = null; reject(request.error); };
    });
    return opening;
  }

  function tx(stores, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode);
        var result;
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
        result = work(t);
        if (result && typeof result.then === "function") { result.then(function (v) { result = v; }); }
      });
    });
  }

  function req(r) { return new Promise(function (resolve, reject) { r.onsuccess = function () { resolve(r.result); }; r.onerror = function () { reject(r.error); }; }); }

  function changed() {
    listeners.forEach(function (fn) { try { fn(); } catch (e) { /* a listener's bug stays its own */ } });
    if (channel) { channel.postMessage("changed"); }
  }
  if (channel) { channel.onmessage = function () { listeners.forEach(function (fn) { fn(); }); }; }

  function deleteDraft(t, key) {
    t.objectStore("drafts").delete(key);
    var index = t.objectStore("files").index("draft");
    index.openCursor(IDBKeyRange.only(key)).onsuccess = function (e) {
      var cursor = e.target.result;
      if (cursor) { cursor.delete(); cursor.continue(); }
    };
  }

  function stamp(item) {
    item.created = item.created || new Date().toISOString();
    item.state = item.state || "pending";
    item.files = item.files || [];
    return item;
  }

  var api = {
    STATE_LABELS: STATE_LABELS,
    sent: [],  // [{id, label, url}] sent from this page (for "已同步" notes)

    add: function (item) {
      stamp(item);
      return tx(["queue"], "readwrite", function (t) { t.objectStore("queue").put(item); })
        .then(function () { changed(); return item; });
    },

    commit: function (item, draftKey) {
      stamp(item);
      return tx(["queue", "drafts", "files"], "readwrite", function (t) {
        t.objectStore("queue").put(item);
        if (draftKey) { deleteDraft(t, draftKey); }
      }).then(function () { changed(); return item; });
    },

    all: function (user) {
      return tx(["queue"], "readonly", function (t) { return req(t.objectStore("queue").getAll()); })
        .then(function (items) {
          return (items || []).filter(function (i) { return user === undefined || String(i.user) === String(user); })
            .sort(function (a, b) { return a.created < b.created ? -1 : 1; });
        });
    },

    remove: function (id) {
      return tx(["queue"], "readwrite", function (t) { t.objectStore("queue").delete(id); }).then(changed);
    },

    onChange: function (fn) { listeners.push(fn); },

    reopen: function (id, draftKey) {
      var found = null;
      return tx(["queue", "drafts", "files"], "readwrite", function (t) {
        return req(t.objectStore("queue").get(id)).then(function (item) {
          if (!item) { return; }
          found = item;  // the caller has emptied that draft first (drafts.remove)
          t.objectStore("drafts").put({ key: draftKey, value: item.draft || { fields: {}, segments: [], rows: [] } });
          item.files.forEach(function (file) {
            t.objectStore("files").put({ id: file.id, field: file.field, blob: file.blob, name: file.name,
                                         sha256: file.sha256, draft: draftKey, added: file.added || "" });
          });
          t.objectStore("queue").delete(id);
        });
      }).then(function () { changed(); return found; });
    },

    flush: function (options) {
      if (flushing) { return flushing; }
      options = options || {};
      flushing = api.all(options.user).then(function (items) {
        var results = [];
        return items.reduce(function (chain, item) {
          return chain.then(function () {
            if (item.state === "failed") { return; }  // the user edits or discards it
            return send(item, options).then(function (r) { results.push(r); });
          });
        }, Promise.resolve()).then(function () { return results; });
      }).then(function (results) { flushing = null; return results; },
              function (error) { flushing = null; throw error; });
      return flushing;
    },

    drafts: {
      get: function (key) {
        return tx(["drafts"], "readonly", function (t) { return req(t.objectStore("drafts").get(key)); })
          .then(function (row) { return row ? row.value : null; });
      },
      put: function (key, value) {
        return tx(["drafts"], "readwrite", function (t) { t.objectStore("drafts").put({ key: key, value: value }); });
      },
      remove: function (key) {
        return tx(["drafts", "files"], "readwrite", function (t) { deleteDraft(t, key); });
      }
    },

    files: {
      list: function (draftKey) {
        return tx(["files"], "readonly", function (t) {
          return req(t.objectStore("files").index("draft").getAll(IDBKeyRange.only(draftKey)));
        }).then(function (rows) { return (rows || []).sort(function (a, b) { return a.added < b.added ? -1 : 1; }); });
      },
      add: function (draftKey, file) {
        file.draft = draftKey;
        file.added = file.added || new Date().toISOString() + Math.random().toString(36).slice(2, 6);
        return tx(["files"], "readwrite", function (t) { t.objectStore("files").put(file); }).then(function () { return file; });
      },
      remove: function (id) {
        return tx(["files"], "readwrite", function (t) { t.objectStore("files").delete(id); });
      }
    },

    uuid4: uuid4,
    sha256: sha256,
    resizeImage: resizeImage
  };

  function save(item) {
    return tx(["queue"], "readwrite", function (t) { t.objectStore("queue").put(item); }).then(changed);
  }

  function confirmed(item, receipts) {
    return item.files.every(function (file) {
      return (receipts || []).some(function (r) {
        return r.client_id === file.id && (!file.sha256 || !r.sha256 || r.sha256 === file.sha256);
      });
    });
  }

  function send(item, options) {
    if (!navigator.onLine) { return Promise.resolve({ item: item, ok: false }); }
    var body = new FormData();
    item.fields.forEach(function (pair) {
      if (pair[0] === "csrf_token" && options.csrf) { return; }
      body.append(pair[0], pair[1]);
    });
    if (options.csrf) { body.append("csrf_token", options.csrf); }
    item.files.forEach(function (file) {
      body.append(file.field, file.blob, file.name || file.id + ".jpg");
      body.append(file.idField, file.id);
    });
    item.state = "sending";
    item.tried = new Date().toISOString();
    return save(item).then(function () {
      return fetch(item.url, { method: "POST", body: body, credentials: "same-origin",
                                headers: { "X-Requested-With": "fetch", "Accept": "application/json" } });
    }).then(function (r) {
      if (r.redirected && r.url.indexOf("/login") >= 0) { return { state: "login" }; }
      var type = r.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        if (r.status === 413) { return { state: "failed", error: "照片过大，请减少照片后重试" }; }
        if (r.status === 403) { return { state: "failed", error: "当前账号无权提交此记录" }; }
        return { state: "pending", error: r.status === 400 ? "提交被拒绝（页面可能已过期），请刷新页面后点“立即同步”"
          : "服务器暂时不可用（" + r.status + "），稍后自动重试" };
      }
      return r.json().then(function (data) {
        if (data.ok && confirmed(item, data.receipts)) { return { state: "done", data: data }; }
        if (data.ok) { return { state: "unconfirmed", data: data, error: "服务器已保存记录，但未确认全部照片" }; }
        return { state: r.status >= 500 ? "pending" : "failed", data: data,
                 error: [data.error || "提交失败"].concat(data.errors || []).join("；") };
      });
    }, function () { return { state: "pending", error: "网络不可用" }; }).then(function (outcome) {
      if (outcome.state === "done") {
        api.sent.push({ id: item.id, label: item.label, url: outcome.data.url || null });
        return api.remove(item.id).then(function () { return { item: item, ok: true, data: outcome.data }; });
      }
      item.state = outcome.state;
      item.error = outcome.error || "";
      if (outcome.data && outcome.data.url) { item.result = outcome.data.url; }
      return save(item).then(function () { return { item: item, ok: false, data: outcome.data }; });
    });
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);  // available on plain HTTP too
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function sha256(blob) {
    if (!(window.crypto && crypto.subtle && blob.arrayBuffer)) { return Promise.resolve(null); }
    return blob.arrayBuffer().then(function (buffer) { return crypto.subtle.digest("SHA-256", buffer); })
      .then(function (digest) {
        return Array.prototype.map.call(new Uint8Array(digest), function (x) { return (x + 256).toString(16).slice(1); }).join("");
      }).catch(function () { return null; });
  }

  function resizeImage(file, maxSide) {
    maxSide = maxSide || 1600;
    if (!window.createImageBitmap) { return Promise.resolve(file); }
    return createImageBitmap(file).then(function (bitmap) {
      var w = bitmap.width, h = bitmap.height, scale = Math.min(1, maxSide / Math.max(w, h));
      if (scale === 1 && /^image\/(jpeg|png|webp)$/.test(file.type)) { bitmap.close(); return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return Promise.all([
        new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.85); }),
        exifSegment(file)
      ]).then(function (parts) {
        var blob = parts[0], exif = parts[1];
        if (!blob) { return file; }
        return exif ? new Blob([blob.slice(0, 2), exif, blob.slice(2)], { type: "image/jpeg" }) : blob;
      });
    }, function () { return file; });  // not decodable here: the server decides
  }

  // The camera's EXIF block (APP1) of a JPEG, for the resized copy: it keeps the 拍摄时间 the
  // server reads. The pixels are drawn upright already, so its Orientation is set to 1.
  function exifSegment(file) {
    if (file.type !== "image/jpeg" || !file.slice) { return Promise.resolve(null); }
    return file.slice(0, 131072).arrayBuffer().then(function (buffer) {
      var view = new DataView(buffer), at = 2;
      if (view.byteLength < 4 || view.getUint16(0) !== 0xFFD8) { return null; }
      while (at + 10 <= view.byteLength) {
        var marker = view.getUint16(at), length = view.getUint16(at + 2);
        if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) { return null; }
        if (marker === 0xFFE1 && at + 2 + length <= view.byteLength && view.getUint32(at + 4) === 0x45786966) {
          var segment = new Uint8Array(buffer.slice(at, at + 2 + length));
          uprightOrientation(segment);
          return segment;
        }
        at += 2 + length;
      }
      return null;
    }).catch(function () { return null; });
  }

  function uprightOrientation(segment) {
    var view = new DataView(segment.buffer), tiff = 10;  // FFE1, length, "Exif\0\0"
    if (segment.length < tiff + 8) { return; }
    var little = view.getUint16(tiff) === 0x4949;
    var ifd = tiff + view.getUint32(tiff + 4, little);
    if (ifd + 2 > segment.length) { return; }
    for (var i = 0, n = view.getUint16(ifd, little); i < n; i++) {
      var entry = ifd + 2 + i * 12;
      if (entry + 12 > segment.length) { return; }
      if (view.getUint16(entry, little) === 0x0112) { view.setUint16(entry + 8, 1, little); return; }
    }
  }

  window.RoadchiefQueue = api;
}());
