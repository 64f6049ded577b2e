/*! Conversation hub live chat widget. Plain JavaScript, no build step.
 * Embed: <script src="https://HUB/static/chat/widget.js" data-endpoint="PUBLIC_KEY" async></script>
 * Everything anyone types is rendered with textContent, never as HTML. The UI lives in a shadow
 * root, so the page's CSS does not reach it and its CSS does not leak into the page.
 */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector("script[data-endpoint][src*='chat/widget']");
  if (!script) return;
  var KEY = script.getAttribute("data-endpoint");
  var FLAG = "__hubChat_" + KEY;
  if (!KEY || window[FLAG]) return;
  window[FLAG] = true;

  var SRC = new URL(script.src, location.href);
  var HUB = SRC.origin;
  var WS_URL = (SRC.protocol === "https:" ? "wss://" : "ws://") + SRC.host + "/ws/chat/" +
    encodeURIComponent(KEY) + "/";
  var STORE = "hubchat:" + KEY;
  var LANG = /^it\b/i.test(document.documentElement.lang || "") ? "it" : "en";
  var T = {
    en: {
      open: "Chat with us", close: "Close chat", placeholder: "Write a message…", send: "Send",
      label: "Message", name: "Your name", email: "Your email", optional: " (optional)",
      typing: "is typing…", typingAnon: "Typing…", thanks: "Thanks! If we get cut off, we'll reply by email.",
      tooLong: "Your message is too long.", tooFast: "You're sending messages too fast. Try again in a moment.",
      badEmail: "That doesn't look like an email address.", required: "Please fill in the required fields.",
      failed: "Message not sent. Select it to try again.", reconnecting: "Reconnecting…", you: "You",
      team: "Support", dismiss: "Dismiss", intro: "Hi! How can we help?", unread: "new messages",
      emailAsk: "Email address", unavailable: "The chat is not available on this site.",
      attach: "Attach a file", tooBig: "The file is too large (at most {size}).",
      noFiles: "This chat does not take files.",
      codeAsk: "To confirm {email} is yours, enter the code we emailed you.", code: "Code",
      confirm: "Confirm", newCode: "Send a new code", codeSent: "We sent a new code.",
      verified: "Thanks, your email is confirmed.", wrongCode: "That code is not right.",
      codeExpired: "The code expired: ask for a new one.", codeLocked: "Too many tries: ask for a new code.",
      codeWait: "Wait a minute before asking for another code.", codeLimit: "Too many codes for this address; try later."
    },
    it: {
      open: "Scrivici", close: "Chiudi la chat", placeholder: "Scrivi un messaggio…", send: "Invia",
      label: "Messaggio", name: "Il tuo nome", email: "La tua email", optional: " (facoltativo)",
      typing: "sta scrivendo…", typingAnon: "Sta scrivendo…", thanks: "Grazie! Se la chat si interrompe, ti rispondiamo via email.",
      tooLong: "Il messaggio è troppo lungo.", tooFast: "Stai inviando troppi messaggi. Riprova tra poco.",
      badEmail: "Questo indirizzo email non sembra valido.", required: "Compila i campi obbligatori.",
      failed: "Messaggio non inviato. Selezionalo per riprovare.", reconnecting: "Riconnessione…", you: "Tu",
      team: "Assistenza", dismiss: "Chiudi", intro: "Ciao! Come possiamo aiutarti?", unread: "nuovi messaggi",
      emailAsk: "Indirizzo email", unavailable: "La chat non è disponibile su questo sito.",
      attach: "Allega un file", tooBig: "Il file è troppo grande (al massimo {size}).",
      noFiles: "Questa chat non accetta file.",
      codeAsk: "Per confermare che {email} è tuo, inserisci il codice che ti abbiamo inviato via email.", code: "Codice",
      confirm: "Conferma", newCode: "Invia un nuovo codice", codeSent: "Ti abbiamo inviato un nuovo codice.",
      verified: "Grazie, la tua email è confermata.", wrongCode: "Il codice non è corretto.",
      codeExpired: "Il codice è scaduto: chiedine uno nuovo.", codeLocked: "Troppi tentativi: chiedi un nuovo codice.",
      codeWait: "Aspetta un minuto prima di chiedere un altro codice.", codeLimit: "Troppi codici per questo indirizzo; riprova più tardi."
    }
  }[LANG];

  var S = {
    token: null, cursor: 0, conf: null, ws: null, ready: false, failures: 0, polling: null,
    heartbeat: null, open: false, byId: {}, pending: {}, seenUpTo: 0, unread: 0,
    hasEmail: false, hasName: false, conversation: null, landed: Date.now(), pageView: null,
    typingSent: 0, typingTimer: null, agentTypingTimer: null, greetingShown: false, dead: false
  };
  try { S.token = localStorage.getItem(STORE); } catch (e) { /* storage blocked: memory only */ }

  function save() {
    try { localStorage.setItem(STORE, S.token || ""); } catch (e) { /* memory only */ }
  }

  // --- DOM helpers: elements and text nodes only, never markup strings ------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;
  function linkify(node, text) {
    var last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text))) {
      node.appendChild(document.createTextNode(text.slice(last, m.index)));
      node.appendChild(el("a", { href: m[0], target: "_blank", rel: "noopener noreferrer nofollow", text: m[0] }));
      last = m.index + m[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  // --- UI -------------------------------------------------------------------------------------
  var host = el("div", { id: "hub-chat-" + KEY.slice(0, 8) });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = ":host{all:initial}" +
    "*{box-sizing:border-box;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430}" +
    ".w{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;flex-direction:column;align-items:flex-end;gap:10px}" +
    "button{cursor:pointer;border:0;border-radius:8px;background:#2456d3;color:#fff;padding:8px 14px;font-weight:600}" +
    "button:focus-visible,textarea:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #f5a623;outline-offset:2px}" +
    ".launch{border-radius:24px;padding:12px 18px;box-shadow:0 4px 14px rgba(0,0,0,.25);position:relative}" +
    ".badge{position:absolute;top:-6px;right:-6px;background:#d93025;color:#fff;border-radius:10px;padding:0 6px;font-size:12px}" +
    ".panel{width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 110px));background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden}" +
    "[hidden]{display:none!important}" +
    ".head{background:#2456d3;padding:10px 12px;display:flex;align-items:center;justify-content:space-between}" +
    ".head h2{margin:0;font-size:15px;font-weight:600;color:#fff}.x{background:transparent;font-size:18px;padding:2px 8px;color:#fff}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}" +
    ".m{max-width:85%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;background:#fff;border:1px solid #e1e4ea;align-self:flex-start}" +
    ".m.in{align-self:flex-end;background:#2456d3;border-color:#2456d3}.m.in,.m.in *{color:#fff}.m.in a{color:#fff}" +
    ".m a.file{display:block;margin-top:4px;color:inherit}.m a.file::before{content:'\\2193\\00a0'}" +
    ".m.pending{opacity:.6}.m.failed{border:2px dashed #d93025;cursor:pointer}.who{display:block;font-size:12px;opacity:.75}" +
    ".m form{margin-top:6px;display:flex;gap:6px}.m input{flex:1;min-width:0}" +
    ".status{min-height:18px;padding:0 12px;font-size:12px;color:#555;background:#f6f7f9}" +
    ".pre{padding:8px 12px 0;display:flex;flex-direction:column;gap:6px}.pre label,.compose label{font-size:12px}" +
    "input,textarea{border:1px solid #b8bfcc;border-radius:6px;padding:7px 8px;width:100%;background:#fff}" +
    ".compose{display:flex;gap:8px;padding:10px 12px;align-items:flex-end;border-top:1px solid #e1e4ea}" +
    ".verify{display:flex;gap:6px}.verify input{flex:1;min-width:0}" +
    ".compose textarea{resize:none;height:44px}.err{color:#b3261e;font-size:12px;padding:0 12px}" +
    ".compose .clip{background:transparent;color:#2456d3;border:1px solid #b8bfcc;padding:8px 10px;font-size:16px;line-height:1}" +
    ".greet{max-width:300px;background:#fff;border-radius:12px;padding:10px 12px;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;gap:8px;align-items:flex-start}" +
    ".greet button{background:transparent;color:#1d2430;padding:0 4px;font-weight:400}" +
    ".greet .gtext{flex:1;text-align:left;white-space:pre-wrap;padding:0}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    "@media (prefers-reduced-motion:no-preference){.panel{transition:opacity .15s}}";
  root.appendChild(el("style", { text: css }));

  var ids = "hc" + Math.random().toString(36).slice(2, 8);
  var logEl = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.open });
  var statusEl = el("div", { class: "status", "aria-live": "polite" });
  var errEl = el("div", { class: "err", role: "alert" });
  var nameIn = el("input", { id: ids + "n", type: "text", autocomplete: "name", maxlength: "200" });
  var emailIn = el("input", { id: ids + "e", type: "email", autocomplete: "email", maxlength: "320" });
  var nameLab = el("label", { for: ids + "n" });
  var emailLab = el("label", { for: ids + "e" });
  var preEl = el("div", { class: "pre", hidden: "" }, [nameLab, nameIn, emailLab, emailIn]);
  // The code that proves an email the visitor gave is theirs (until then it joins nothing).
  var codeText = el("span", { class: "who" });
  var codeIn = el("input", { id: ids + "c", type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", pattern: "[0-9]{6}" });
  var codeBtn = el("button", { type: "submit", text: T.confirm });
  var newCodeBtn = el("button", { type: "button", class: "clip", text: T.newCode });
  var codeForm = el("form", { class: "verify" }, [el("label", { for: ids + "c", class: "sr", text: T.code }), codeIn, codeBtn, newCodeBtn]);
  var verifyEl = el("div", { class: "pre", hidden: "" }, [codeText, codeForm]);
  var textIn = el("textarea", { id: ids + "t", rows: "2", placeholder: T.placeholder, maxlength: "100000" });
  var sendBtn = el("button", { type: "submit", text: T.send });
  // Files: a visible button opens the (hidden) file picker; shown when the hub takes files.
  var fileIn = el("input", { id: ids + "u", type: "file", class: "sr", tabindex: "-1", "aria-hidden": "true" });
  var clipBtn = el("button", { type: "button", class: "clip", "aria-label": T.attach, title: T.attach, text: "\ud83d\udcce", hidden: "" });
  var form = el("form", { class: "compose" }, [
    el("label", { for: ids + "t", class: "sr", text: T.label }), clipBtn, fileIn, textIn, sendBtn
  ]);
  var titleEl = el("h2", { id: ids + "h", text: T.team });
  var closeBtn = el("button", { type: "button", class: "x", "aria-label": T.close, text: "×" });
  var panel = el("div", { class: "panel", role: "dialog", "aria-labelledby": ids + "h", hidden: "" }, [
    el("div", { class: "head" }, [titleEl, closeBtn]), logEl, statusEl, preEl, verifyEl, errEl, form
  ]);
  var badge = el("span", { class: "badge", hidden: "" });
  var launch = el("button", { type: "button", class: "launch", "aria-expanded": "false", text: T.open });
  launch.appendChild(badge);
  var greetText = el("button", { type: "button", class: "gtext" });
  var greetClose = el("button", { type: "button", "aria-label": T.dismiss, text: "×" });
  var greetEl = el("div", { class: "greet", role: "status", hidden: "" }, [greetText, greetClose]);
  root.appendChild(el("div", { class: "w" }, [panel, greetEl, launch]));

  function setOpen(open) {
    S.open = open;
    panel.hidden = !open;
    launch.setAttribute("aria-expanded", String(open));
    launch.firstChild.textContent = open ? T.close : T.open;
    if (open) {
      greetEl.hidden = true;
      S.unread = 0;
      showBadge();
      textIn.focus();
      logEl.scrollTop = logEl.scrollHeight;
      markSeen();
    }
  }
  launch.addEventListener("click", function () {
    setOpen(!S.open);
    if (!S.open) launch.focus();
  });
  closeBtn.addEventListener("click", function () { setOpen(false); launch.focus(); });
  panel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { setOpen(false); launch.focus(); }
  });
  greetText.addEventListener("click", function () { setOpen(true); });
  greetClose.addEventListener("click", function () { greetEl.hidden = true; launch.focus(); });
  function showBadge() {
    badge.hidden = !S.unread;
    badge.textContent = S.unread ? String(S.unread) : "";
    badge.setAttribute("aria-label", S.unread + " " + T.unread);
  }

  // --- Messages -------------------------------------------------------------------------------
  function place(node, at) {
    node.setAttribute("data-at", at || "");
    var items = logEl.children;
    for (var i = items.length - 1; i >= 0; i--) {
      if ((items[i].getAttribute("data-at") || "") <= (at || "")) {
        logEl.insertBefore(node, items[i].nextSibling);
        return;
      }
    }
    logEl.insertBefore(node, logEl.firstChild);
  }
  function fileSize(n) {
    n = Number(n) || 0;
    if (n < 1024) return n + " B";
    if (n < 1048576) return Math.round(n / 1024) + " KB";
    return (n / 1048576).toFixed(1) + " MB";
  }
  function bubble(m) {
    var inbound = m.direction === "in";
    var node = el("div", { class: "m " + (inbound ? "in" : "out") + (m.greeting ? " greeting" : "") });
    node.appendChild(el("span", { class: "who", text: inbound ? T.you : (m.author || S.teamName) }));
    var body = el("span", { class: "text" });
    linkify(body, m.text || "");
    node.appendChild(body);
    (m.files || []).forEach(function (f) {
      // A signed download link of the hub (a path), named by its text only.
      if (typeof f.url !== "string" || f.url.charAt(0) !== "/") return;
      node.appendChild(el("a", {
        class: "file", href: HUB + f.url, download: "", rel: "noopener noreferrer nofollow",
        text: f.name + " (" + fileSize(f.size) + ")"
      }));
    });
    if (m.form === "email") addEmailForm(node, m);
    return node;
  }
  function render(m) {
    if (!m || !m.id) return;
    if (m.conversation_id) S.conversation = m.conversation_id;
    if (m.client_id && S.pending[m.client_id]) {
      var p = S.pending[m.client_id];
      if (p.node.parentNode) p.node.parentNode.removeChild(p.node);
      delete S.pending[m.client_id];
    }
    if (m.greeting) {
      Array.prototype.slice.call(logEl.querySelectorAll(".greeting:not([data-id])")).forEach(function (n) {
        n.parentNode.removeChild(n);
      });
    }
    var old = S.byId[m.id];
    var node = bubble(m);
    if (old) { old.parentNode.replaceChild(node, old); node.setAttribute("data-at", m.at || ""); }
    else {
      place(node, m.at);
      if (m.direction === "out" && !m.seen && !S.open) { S.unread++; showBadge(); }
    }
    node.setAttribute("data-id", m.id);
    S.byId[m.id] = node;
    S.cursor = Math.max(S.cursor, m.id);
    if (m.direction === "out") { hideAgentTyping(); if (!m.seen) S.lastOut = Math.max(S.lastOut || 0, m.id); }
    preEl.hidden = !showPrechat();
    logEl.scrollTop = logEl.scrollHeight;
    markSeen();
  }
  function renderAll(list) { (list || []).forEach(render); }

  function addEmailForm(node, m) {
    if (m.answered || S.hasEmail) return;
    var fid = ids + "f" + m.id;
    var input = el("input", { id: fid, type: "email", autocomplete: "email", required: "", maxlength: "320" });
    var f = el("form", {}, [el("label", { for: fid, class: "sr", text: T.emailAsk }), input,
      el("button", { type: "submit", text: T.send })]);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("details", { email: input.value }).then(function (d) {
        S.hasEmail = true;
        askCode(d.verify);
        f.parentNode.replaceChild(el("span", { class: "who", text: T.thanks }), f);
      }).catch(function (e) { showError(e); input.focus(); });
    });
    node.appendChild(f);
  }

  // --- HTTP -------------------------------------------------------------------------------------
  function api(path, body) {
    var payload = Object.assign({ endpoint: KEY, token: S.token }, body || {});
    return fetch(HUB + "/chat/api/" + path + "/", {
      method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.detail || "HTTP " + r.status); e.status = r.status; e.code = data.error; throw e; }
        return data;
      });
    });
  }
  function askCode(v) {
    if (!v || !v.email) { verifyEl.hidden = true; return; }
    codeText.textContent = T.codeAsk.replace("{email}", v.email);
    verifyEl.hidden = false;
  }
  var CODE_ERRORS = { wrong_code: "wrongCode", expired: "codeExpired", locked: "codeLocked", no_code: "codeExpired",
    too_soon: "codeWait", too_many: "codeLimit" };
  codeForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    errEl.textContent = "";
    api("verify", { code: codeIn.value }).then(function () {
      codeIn.value = "";
      verifyEl.hidden = true;
      statusEl.textContent = T.verified;
    }).catch(function (e) {
      errEl.textContent = T[CODE_ERRORS[e.code]] || T.failed;
      if (e.status === 404) verifyEl.hidden = true;
      codeIn.focus();
    });
  });
  newCodeBtn.addEventListener("click", function () {
    errEl.textContent = "";
    api("verify/send", {}).then(function () { statusEl.textContent = T.codeSent; })
      .catch(function (e) { errEl.textContent = T[CODE_ERRORS[e.code]] || T.failed; });
  });
  function showError(e) {
    var code = e && (e.code || e.error);
    errEl.textContent = code === "too_long" ? T.tooLong : code === "rate_limited" ? T.tooFast :
      code === "invalid_email" ? T.badEmail : code === "details_required" ? T.required :
      code === "too_large" ? T.tooBig.replace("{size}", fileSize(S.conf && S.conf.max_upload_bytes)) :
      code === "uploads_off" ? T.noFiles : T.failed;
  }

  // --- Realtime: WebSocket first, HTTP polling when it is blocked --------------------------------
  function connect() {
    if (S.dead) return;
    if (!window.WebSocket) { startPolling(); return; }
    var ws;
    try { ws = new WebSocket(WS_URL); } catch (e) { S.failures++; startPolling(); return; }
    S.ws = ws;
    ws.onopen = function () { ws.send(JSON.stringify({ type: "hello", token: S.token, after: S.cursor })); };
    ws.onmessage = function (ev) {
      var d;
      try { d = JSON.parse(ev.data); } catch (e) { return; }
      if (d.type === "ready") {
        S.ready = true; S.failures = 0; stopPolling(); statusEl.textContent = "";
        if (d.conversation_id) S.conversation = d.conversation_id;
        renderAll(d.messages);
        resendPending();
        clearInterval(S.heartbeat);
        S.heartbeat = setInterval(function () { sendWs({ type: "ping" }); }, (S.conf.heartbeat || 25) * 1000);
      } else if (d.type === "message") render(d.message);
      else if (d.type === "ack") render(d.message);
      else if (d.type === "typing") { if (d.active) showAgentTyping(d.name); else hideAgentTyping(); }
      else if (d.type === "error") {
        if (d.client_id && S.pending[d.client_id]) failPending(d.client_id, d);
        else if (d.error === "try_again") { S.seenUpTo = 0; setTimeout(markSeen, 2000); }
        else showError(d);
      }
    };
    ws.onclose = function (ev) {
      var wasReady = S.ready;
      S.ws = null; S.ready = false; clearInterval(S.heartbeat);
      if (ev.code === 4403 || ev.code === 4404) { S.dead = true; statusEl.textContent = T.unavailable; return; }
      if (ev.code === 4401) { S.token = null; save(); startSession(); return; }
      S.failures = wasReady ? 1 : S.failures + 1;
      if (S.failures >= 3) startPolling(); else if (S.conversation) statusEl.textContent = T.reconnecting;
      var wait = Math.min(30000, 500 * Math.pow(2, S.failures)) * (0.75 + Math.random() / 2);
      setTimeout(connect, S.failures >= 3 ? Math.max(wait, 15000) : wait);
    };
  }
  function sendWs(obj) {
    if (S.ws && S.ready) { S.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }
  function startPolling() {
    if (S.polling || S.dead) return;
    statusEl.textContent = "";
    var tick = function () {
      if (S.ready) { stopPolling(); return; }
      api("sync", { after: S.cursor }).then(function (d) {
        renderAll(d.messages);
        if (d.typing) showAgentTyping(""); else hideAgentTyping();
        resendPending();
      }).catch(function () { /* next tick */ }).then(function () {
        if (S.polling) S.polling = setTimeout(tick, (S.conf.poll_interval || 3) * 1000 * (S.open ? 1 : 3));
      });
    };
    S.polling = setTimeout(tick, 0);
  }
  function stopPolling() { clearTimeout(S.polling); S.polling = null; }

  // --- Sending ----------------------------------------------------------------------------------
  function clientId() {
    if (window.crypto && crypto.getRandomValues) {
      var a = new Uint8Array(12); crypto.getRandomValues(a);
      return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    return String(Date.now()) + Math.random().toString(36).slice(2);
  }
  function transmit(cid) {
    var p = S.pending[cid];
    if (!p) return;
    p.node.className = "m in pending";
    if (sendWs({ type: "message", text: p.text, client_id: cid, page_url: location.href })) return;
    api("send", { text: p.text, client_id: cid, page_url: location.href }).then(function (d) {
      render(d.message);
    }).catch(function (e) { failPending(cid, e); });
  }
  function resendPending() {
    Object.keys(S.pending).forEach(function (cid) {
      if (!S.pending[cid].failed && !S.pending[cid].file) transmit(cid); // a file is in its own request
    });
  }
  function failPending(cid, e) {
    var p = S.pending[cid];
    if (!p) return;
    var code = e && (e.code || e.error);
    if (code === "try_again") { setTimeout(function () { transmit(cid); }, 2000); return; }
    if (code === "too_long" || code === "details_required" || code === "empty" || code === "invalid") {
      p.node.parentNode && p.node.parentNode.removeChild(p.node);
      delete S.pending[cid];
      if (code !== "empty") textIn.value = textIn.value || p.text;
      if (code === "details_required") preEl.hidden = false;
    } else {
      p.failed = true;
      p.node.className = "m in failed";
      p.node.setAttribute("tabindex", "0");
      p.node.setAttribute("role", "button");
    }
    showError(e);
  }
  function sendText(text) {
    var cid = clientId();
    var node = el("div", { class: "m in pending" }, [el("span", { class: "who", text: T.you })]);
    var body = el("span", { class: "text" }); linkify(body, text); node.appendChild(body);
    var retry = function () { if (S.pending[cid] && S.pending[cid].failed) { S.pending[cid].failed = false; transmit(cid); } };
    node.addEventListener("click", retry);
    node.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); retry(); } });
    place(node, "\uffff");
    S.pending[cid] = { text: text, node: node };
    logEl.scrollTop = logEl.scrollHeight;
    transmit(cid);
  }
  function sendFile(file) {
    errEl.textContent = "";
    var max = S.conf && S.conf.max_upload_bytes;
    if (!max) { showError({ code: "uploads_off" }); return; }
    if (file.size > max) { showError({ code: "too_large" }); return; }
    var cid = clientId();
    var node = el("div", { class: "m in pending" }, [el("span", { class: "who", text: T.you }),
      el("span", { class: "text", text: file.name + " (" + fileSize(file.size) + ")" })]);
    place(node, "\uffff");
    S.pending[cid] = { text: "", node: node, file: true };
    logEl.scrollTop = logEl.scrollHeight;
    var data = new FormData();
    data.append("endpoint", KEY);
    data.append("token", S.token || "");
    data.append("client_id", cid);
    data.append("page_url", location.href);
    data.append("file", file, file.name);
    // multipart/form-data is a "simple" cross-origin request: no preflight.
    fetch(HUB + "/chat/api/upload/", { method: "POST", mode: "cors", credentials: "omit", body: data })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) {
          if (!r.ok) { var e = new Error(d.detail || "HTTP " + r.status); e.code = d.error; throw e; }
          render(d.message);
        });
      })
      .catch(function (e) {
        if (node.parentNode) node.parentNode.removeChild(node);
        delete S.pending[cid];
        showError(e);
      });
  }
  clipBtn.addEventListener("click", function () { fileIn.click(); });
  fileIn.addEventListener("change", function () {
    var file = fileIn.files && fileIn.files[0];
    fileIn.value = "";
    if (file) sendFile(file);
  });
  function showPrechat() {
    var p = S.conf && S.conf.prechat;
    if (!p || S.conversation || Object.keys(S.pending).length) return false;
    return (p.name !== "off" && !S.hasName) || (p.email !== "off" && !S.hasEmail);
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = textIn.value.trim();
    if (!text || !S.conf) return;
    errEl.textContent = "";
    if (S.conf.max_chars && text.length > S.conf.max_chars) { showError({ code: "too_long" }); return; }
    var details = null;
    if (!preEl.hidden) {
      var p = S.conf.prechat, name = nameIn.value.trim(), email = emailIn.value.trim();
      if ((p.name === "required" && !name && !S.hasName) || (p.email === "required" && !email && !S.hasEmail)) {
        showError({ code: "details_required" }); (name ? emailIn : nameIn).focus(); return;
      }
      if (name || email) details = { name: name, email: email };
    }
    textIn.value = "";
    stopTyping();
    var go = function () { preEl.hidden = true; sendText(text); };
    if (!details) { go(); return; }
    api("details", details).then(function (d) {
      askCode(d.verify);
      if (details.name) S.hasName = true;
      if (details.email) S.hasEmail = true;
      go();
    }).catch(function (e) { textIn.value = text; showError(e); });
  });
  textIn.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  // --- Typing and seen --------------------------------------------------------------------------
  function typing(active) {
    if (!S.conversation) return;
    if (!sendWs({ type: "typing", active: active })) api("typing", { active: active }).catch(function () {});
  }
  function stopTyping() {
    clearTimeout(S.typingTimer);
    if (S.typingSent) { S.typingSent = 0; typing(false); }
  }
  textIn.addEventListener("input", function () {
    var now = Date.now();
    if (now - S.typingSent > 2500) { S.typingSent = now; typing(true); }
    clearTimeout(S.typingTimer);
    S.typingTimer = setTimeout(stopTyping, 4000);
  });
  function showAgentTyping(name) {
    statusEl.textContent = name ? name + " " + T.typing : T.typingAnon;
    clearTimeout(S.agentTypingTimer);
    S.agentTypingTimer = setTimeout(hideAgentTyping, 6000);
  }
  function hideAgentTyping() {
    if (statusEl.textContent && statusEl.textContent !== T.reconnecting) statusEl.textContent = "";
  }
  function markSeen() {
    if (!S.open || document.visibilityState !== "visible" || !S.lastOut || S.lastOut <= S.seenUpTo) return;
    S.seenUpTo = S.lastOut;
    if (!sendWs({ type: "seen", up_to: S.seenUpTo })) api("seen", { up_to: S.seenUpTo }).catch(function () {});
  }
  document.addEventListener("visibilitychange", markSeen);

  // --- Context: page view, time on page, proactive greeting -----------------------------------
  function reportPageView() {
    api("pageview", { url: location.href, title: document.title, referrer: document.referrer, language: LANG })
      .then(function (d) {
        S.pageView = d.page_view;
        (d.greetings || []).slice(0, 1).forEach(function (g) {
          var wait = Math.max(0, g.delay * 1000 - (Date.now() - S.landed));
          setTimeout(function () { greet(g); }, wait);
        });
      }).catch(function () {});
  }
  function greet(g) {
    if (S.greetingShown || S.open || S.conversation) return;
    api("greeting", { rule: g.id, url: location.href, language: LANG }).then(function (d) {
      if (!d.shown || S.open || S.conversation) return;
      S.greetingShown = true;
      greetText.textContent = d.text;
      greetEl.hidden = false;
      var node = bubble({ direction: "out", text: d.text, greeting: true });
      place(node, new Date().toISOString());
    }).catch(function () {});
  }
  var left = false;
  function leave() {
    if (left || !S.pageView || !navigator.sendBeacon) return;
    left = true;
    var body = JSON.stringify({ endpoint: KEY, token: S.token, page_view: S.pageView,
      seconds: Math.round((Date.now() - S.landed) / 1000) });
    navigator.sendBeacon(HUB + "/chat/api/pageview/leave/", new Blob([body], { type: "text/plain;charset=UTF-8" }));
  }
  window.addEventListener("pagehide", leave);

  // --- Start ------------------------------------------------------------------------------------
  function startSession() {
    api("session", { language: LANG }).then(function (d) {
      S.token = d.token; save();
      S.conf = d;
      clipBtn.hidden = !d.max_upload_bytes;
      S.teamName = d.title || T.team;
      titleEl.textContent = S.teamName;
      S.hasEmail = !!(d.visitor && d.visitor.email);
      S.hasName = !!(d.visitor && d.visitor.name);
      var p = d.prechat || {};
      nameLab.textContent = T.name + (p.name === "required" ? " *" : T.optional);
      emailLab.textContent = T.email + (p.email === "required" ? " *" : T.optional);
      nameIn.hidden = nameLab.hidden = p.name === "off" || S.hasName;
      emailIn.hidden = emailLab.hidden = p.email === "off" || S.hasEmail;
      if (d.conversation_id) S.conversation = d.conversation_id;
      if (!logEl.children.length && !d.messages.length) {
        place(bubble({ direction: "out", text: T.intro }), "");
      }
      renderAll(d.messages);
      preEl.hidden = !showPrechat();
      askCode(d.verify);
      if (!S.ws) connect();
      if (!S.pageView) reportPageView();
    }).catch(function (e) {
      if (e.status === 403 || e.status === 404) { S.dead = true; statusEl.textContent = T.unavailable; return; }
      setTimeout(startSession, 5000 + Math.random() * 5000);
    });
  }
  function mount() { document.body.appendChild(host); startSession(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
