/* hoagiai web chat: one WebSocket to the bot, no framework, no build step.
 *
 * Every message carries a unique id and stays "pending" until the server acknowledges it (the
 * bot has stored it). Pending messages are re-sent after a reconnect; the server treats a
 * repeated id as the same update, so a re-send never reports anything twice.
 * Message text is always inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var STRINGS = config.strings || {};
  var STORE_PREFIX = "hoagiai.chat.";
  var HISTORY_LIMIT = 200;
  var RETRY_MS = 3000;
  var MAX_BACKOFF_MS = 30000;
  var RESTORED_NOTICE_MS = 3000;
  var BUTTON_LOCK_MS = 8000;

  var els = {
    log: document.getElementById("log"),
    status: document.getElementById("status"),
    form: document.getElementById("composer"),
    text: document.getElementById("text"),
    attach: document.getElementById("attach"),
    file: document.getElementById("file")
  };

  var state = {
    clientId: null,
    ws: null,
    everConnected: false,
    lost: false,
    attempts: 0,
    reconnectTimer: null,
    pending: new Map(), // id -> message, in sending order
    bubbles: new Map(), // id -> user bubble element
    history: []
  };

  // --- small helpers ---------------------------------------------------------------------

  function t(key, params) {
    var text = STRINGS[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; a ward site on plain HTTP still has getRandomValues.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function load(name, fallback) {
    try {
      var raw = window.localStorage.getItem(STORE_PREFIX + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (error) {
      return fallback; // private mode or a corrupt value: start afresh
    }
  }

  function save(name, value) {
    try {
      window.localStorage.setItem(STORE_PREFIX + name, JSON.stringify(value));
    } catch (error) {
      /* storage full or disabled: the chat still works for this visit */
    }
  }

  function loadClientId() {
    var id = load("client", null);
    if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(id)) {
      id = newId();
      save("client", id);
    }
    return id;
  }

  function megabytes(bytes) {
    return String(Math.round((bytes / (1024 * 1024)) * 10) / 10);
  }

  // --- drawing the conversation ------------------------------------------------------------

  function scrollToEnd() {
    els.log.scrollTop = els.log.scrollHeight;
  }

  function addBubble(role, text, id, files) {
    var bubble = document.createElement("div");
    bubble.className = "msg msg-" + role;
    bubble.setAttribute("aria-label", role === "bot" ? t("web.bot") : t("web.you"));
    var hasFiles = Array.isArray(files) && files.length > 0;
    if (text || !hasFiles) {
      var body = document.createElement("div");
      body.className = "msg-text";
      body.textContent = text;
      bubble.appendChild(body);
    }
    if (hasFiles) addFiles(bubble, files);
    if (role === "user" && id) {
      var tick = document.createElement("span");
      tick.className = "tick";
      bubble.appendChild(tick);
      state.bubbles.set(id, bubble);
      markBubble(id, state.pending.has(id) ? "pending" : "sent");
    }
    els.log.appendChild(bubble);
    scrollToEnd();
    return bubble;
  }

  // Files of a bot reply: photos inline, documents as a download link. The links are signed for
  // this chat, and the server also wants this chat's cookie (setFilesCookie) before it serves one.
  function addFiles(bubble, files) {
    files.forEach(function (file) {
      if (!file || typeof file.url !== "string" || file.url.indexOf(config.filesPath + "/") !== 0) return;
      var name = typeof file.name === "string" ? file.name : "";
      var item = document.createElement("div");
      item.className = "reply-file reply-file-" + (file.kind === "photo" ? "photo" : "document");
      item.appendChild(file.kind === "photo" ? photoLink(file, name, item) : documentLink(file, name));
      if (typeof file.caption === "string" && file.caption) {
        var caption = document.createElement("div");
        caption.className = "file-caption";
        caption.textContent = file.caption;
        item.appendChild(caption);
      }
      bubble.appendChild(item);
    });
  }

  function photoLink(file, name, item) {
    var link = document.createElement("a");
    link.href = file.url;
    link.target = "_blank";
    link.rel = "noopener";
    var image = document.createElement("img");
    image.className = "reply-photo";
    image.alt = name;
    image.src = file.url;
    image.addEventListener("load", scrollToEnd);
    image.addEventListener("error", function () { fileGone(item, name); });
    link.appendChild(image);
    return link;
  }

  function documentLink(file, name) {
    var link = document.createElement("a");
    link.className = "file-link";
    link.href = file.url;
    link.setAttribute("download", name);
    var label = document.createElement("span");
    label.className = "file-name";
    label.textContent = name;
    var action = document.createElement("span");
    action.className = "file-action";
    action.textContent = t("web.download");
    link.appendChild(label);
    link.appendChild(action);
    return link;
  }

  function fileGone(item, name) {
    // Files are kept until delivered, then pruned: an old conversation's picture may be gone.
    item.classList.add("reply-file-gone");
    item.textContent = t("web.file_unavailable", { name: name });
  }

  function setFilesCookie() {
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = config.filesCookie + "=" + encodeURIComponent(state.clientId) + "; Path=" +
      config.filesPath + "; Max-Age=31536000; SameSite=Strict" + secure;
  }

  function markBubble(id, status) {
    var bubble = state.bubbles.get(id);
    if (!bubble) return;
    var tick = bubble.querySelector(".tick");
    var marks = { pending: "\u2026", sent: "\u2713", failed: "!" };
    bubble.dataset.status = status;
    tick.textContent = marks[status];
    tick.title = t("web.status." + status);
    tick.setAttribute("aria-label", tick.title);
  }

  function addNote(text, kind) {
    var note = document.createElement("div");
    note.className = "note" + (kind ? " note-" + kind : "");
    note.setAttribute("role", kind === "error" ? "alert" : "status");
    note.textContent = text;
    els.log.appendChild(note);
    scrollToEnd();
    return note;
  }

  function removeChoices() {
    var old = els.log.querySelectorAll(".choices");
    Array.prototype.forEach.call(old, function (node) { node.remove(); });
  }

  function choiceButton(label, className, onPress) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = label;
    button.addEventListener("click", onPress);
    return button;
  }

  function renderChoices(reply, bubble) {
    removeChoices();
    var rows = reply.buttons || [];
    if (!rows.length && !reply.share) return;
    var group = document.createElement("div");
    group.className = "choices";
    if (reply.share) group.appendChild(shareRow(reply.share));
    rows.forEach(function (row) {
      var line = document.createElement("div");
      line.className = "choice-row";
      row.forEach(function (choice) {
        line.appendChild(choiceButton(choice.label, "choice", function (event) {
          press(choice, group, event.currentTarget);
        }));
      });
      group.appendChild(line);
    });
    bubble.insertAdjacentElement("afterend", group);
    scrollToEnd();
  }

  function shareRow(share) {
    var line = document.createElement("div");
    line.className = "choice-row";
    var isLocation = share.kind === "location";
    var fallback = isLocation ? t("web.share_location") : t("web.share_phone");
    var button = choiceButton(share.label || fallback, "choice share share-" + share.kind,
      isLocation ? shareLocation : sharePhone);
    line.appendChild(button);
    return line;
  }

  // --- history kept in the browser, so a reload shows the conversation so far ----------------

  function remember(entry) {
    state.history.push(entry);
    if (state.history.length > HISTORY_LIMIT) {
      state.history.splice(0, state.history.length - HISTORY_LIMIT);
    }
    save("history", state.history);
  }

  function restoreHistory() {
    var lastBot = null;
    state.history.forEach(function (entry) {
      var files = entry.role === "bot" && entry.reply ? entry.reply.files : null;
      var bubble = addBubble(entry.role, entry.text, entry.id, files);
      if (entry.role === "bot") lastBot = { reply: entry.reply, bubble: bubble };
    });
    if (lastBot && lastBot.reply) renderChoices(lastBot.reply, lastBot.bubble);
  }

  // --- sending --------------------------------------------------------------------------------

  function persistPending() {
    // Files are too large for localStorage; they are re-sent only within this visit.
    var small = [];
    state.pending.forEach(function (message) {
      if (message.type !== "file") small.push(message);
    });
    save("pending", small);
  }

  function submit(message, bubbleText) {
    message.id = newId();
    state.pending.set(message.id, message);
    persistPending();
    if (bubbleText) {
      remember({ role: "user", text: bubbleText, id: message.id });
      addBubble("user", bubbleText, message.id);
    }
    transmit(message);
    return message.id;
  }

  function transmit(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify(message));
    }
  }

  function flushPending() {
    state.pending.forEach(transmit);
  }

  function press(choice, group, button) {
    var buttons = group.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    button.classList.add("chosen");
    submit({ type: "callback", callback: choice.data }, choice.label);
    window.setTimeout(function () {
      // No answer yet (slow network): let the resident tap again rather than be stuck.
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      button.classList.remove("chosen");
    }, BUTTON_LOCK_MS);
  }

  function sendText() {
    var value = els.text.value;
    if (!value.trim()) return;
    submit({ type: "text", text: value }, value);
    els.text.value = "";
    autosize();
  }

  function shareLocation() {
    if (!navigator.geolocation) {
      locationFailed();
      return;
    }
    var note = addNote(t("web.locating"));
    navigator.geolocation.getCurrentPosition(function (position) {
      note.remove();
      var latitude = position.coords.latitude;
      var longitude = position.coords.longitude;
      submit({ type: "location", location: { latitude: latitude, longitude: longitude } },
        t("web.location_bubble", { latitude: latitude.toFixed(5), longitude: longitude.toFixed(5) }));
    }, function () {
      note.remove();
      locationFailed();
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function locationFailed() {
    addNote(t("web.location_failed"), "error");
    els.text.focus();
  }

  function sharePhone() {
    var value = window.prompt(t("web.phone_prompt"), "");
    if (value === null || !value.trim()) return;
    value = value.trim();
    submit({ type: "phone", phone: value }, t("web.phone_bubble", { phone: value }));
  }

  function sendFile(file) {
    if (file.size > config.maxUploadBytes) {
      addNote(t("web.file_too_large", { name: file.name, max: megabytes(config.maxUploadBytes) }), "error");
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      var dataUrl = String(reader.result);
      var isImage = /^image\//.test(file.type);
      var id = submit({
        type: "file",
        file: { kind: isImage ? "photo" : "document", name: file.name, mime: file.type || null,
                data: dataUrl.slice(dataUrl.indexOf(",") + 1) }
      }, t("web.file_bubble", { name: file.name }));
      if (isImage) addThumbnail(id, file);
    };
    reader.onerror = function () {
      addNote(t("web.file_read_failed", { name: file.name }), "error");
    };
    reader.readAsDataURL(file);
  }

  function addThumbnail(id, file) {
    var bubble = state.bubbles.get(id);
    if (!bubble || !window.URL) return;
    var image = document.createElement("img");
    image.className = "thumb";
    image.alt = file.name;
    image.src = URL.createObjectURL(file);
    image.addEventListener("load", scrollToEnd);
    bubble.insertBefore(image, bubble.firstChild);
  }

  // --- receiving ------------------------------------------------------------------------------

  function onFrame(event) {
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (frame.reply) onReply(frame.reply);
    else if (frame.ack) onAck(frame.ack);
    else if (frame.error) onError(frame);
  }

  function onReply(reply) {
    var text = typeof reply.text === "string" ? reply.text : "";
    remember({ role: "bot", text: text, reply: reply });
    var bubble = addBubble("bot", text, null, reply.files);
    renderChoices(reply, bubble);
  }

  function onAck(id) {
    if (!state.pending.delete(id)) return;
    persistPending();
    markBubble(id, "sent");
  }

  function onError(frame) {
    var id = frame.id;
    if (id && state.pending.has(id) && frame.retry) {
      window.setTimeout(function () {
        if (state.pending.has(id)) transmit(state.pending.get(id));
      }, RETRY_MS);
      return; // the bot was briefly unable to store it; the resident need not act
    }
    if (id && state.pending.delete(id)) {
      persistPending();
      markBubble(id, "failed");
    }
    addNote(frame.error, "error");
  }

  // --- connection -------------------------------------------------------------------------------

  function setStatus(text, kind) {
    els.status.textContent = text || "";
    els.status.dataset.kind = kind || "";
    els.status.hidden = !text;
  }

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + config.wsPath +
      "?client=" + encodeURIComponent(state.clientId) + "&lang=" + encodeURIComponent(config.lang);
  }

  function connect() {
    window.clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.ws) return;
    var ws = new WebSocket(socketUrl());
    state.ws = ws;
    ws.onopen = function () { onOpen(ws); };
    ws.onmessage = onFrame;
    ws.onclose = function () { onClose(ws); };
  }

  function onOpen(ws) {
    if (state.ws !== ws) return;
    state.attempts = 0;
    if (state.lost) {
      setStatus(t("web.connection_restored"), "ok");
      window.setTimeout(function () {
        if (!state.lost && state.ws) setStatus("");
      }, RESTORED_NOTICE_MS);
    } else {
      setStatus("");
    }
    state.lost = false;
    state.everConnected = true;
    flushPending();
  }

  function onClose(ws) {
    if (state.ws !== ws) return;
    state.ws = null;
    if (state.everConnected) {
      state.lost = true;
      setStatus(t("web.connection_lost"), "lost");
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (state.reconnectTimer) return;
    var base = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, state.attempts));
    state.attempts += 1;
    var delay = base * (0.75 + Math.random() * 0.5); // jitter: many phones back at once
    state.reconnectTimer = window.setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (!state.ws) {
      state.attempts = 0;
      connect();
    }
  }

  // --- composer -----------------------------------------------------------------------------

  function autosize() {
    els.text.style.height = "auto";
    els.text.style.height = Math.min(els.text.scrollHeight, 140) + "px";
  }

  function wireComposer() {
    els.form.addEventListener("submit", function (event) {
      event.preventDefault();
      sendText();
    });
    els.text.addEventListener("keydown", function (event) {
      // isComposing: Vietnamese input methods (Telex, VNI) use Enter to finish a word.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendText();
      }
    });
    els.text.addEventListener("input", autosize);
    els.attach.addEventListener("click", function () { els.file.click(); });
    els.file.addEventListener("change", function () {
      Array.prototype.forEach.call(els.file.files, sendFile);
      els.file.value = "";
    });
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") reconnectNow();
    });
  }

  // --- start ----------------------------------------------------------------------------------

  function start() {
    state.clientId = loadClientId();
    setFilesCookie();
    state.history = load("history", []);
    if (!Array.isArray(state.history)) state.history = [];
    load("pending", []).forEach(function (message) {
      if (message && message.id) state.pending.set(message.id, message);
    });
    restoreHistory();
    wireComposer();
    var starting = false;
    state.pending.forEach(function (message) {
      if (message.type === "text" && message.text === "/start") starting = true;
    });
    if (!state.history.length && !starting) {
      submit({ type: "text", text: "/start" }, null); // first visit: the bot greets
    }
    connect();
  }

  start();
})();
