/* Agent UI: live updates over the agents' WebSocket, countdowns, keyboard shortcuts.
 *
 * The socket only says that something changed; the page then asks the server for the fragment
 * (an inbox row, timeline items after the newest one it shows, the conversation header). After
 * any (re)connect it asks again for everything it shows, so a push missed while disconnected
 * never loses a message. Plain JavaScript, no build step; htmx does the rest.
 */
(function () {
  "use strict";

  var strings = {};
  try {
    strings = JSON.parse(document.getElementById("inbox-strings").textContent);
  } catch (e) { /* login page: no strings needed */ }
  var pageLoadedAt = Date.now();

  function fmt(text, values) {
    return String(text || "").replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key];
    });
  }

  // --- countdowns (TTL due time) ----------------------------------------------------------

  function human(seconds) {
    if (seconds < 120) return fmt(strings.s, { n: seconds });
    var minutes = Math.floor(seconds / 60);
    if (minutes < 120) return fmt(strings.min, { n: minutes });
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return fmt(strings.h, { n: hours, m: minutes % 60 });
    return fmt(strings.d, { n: Math.floor(hours / 24) });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var left = Math.round((due - now) / 1000);
      el.textContent = left >= 0
        ? fmt(strings.left, { time: human(left) })
        : fmt(strings.overdue, { time: human(-left) });
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 600);
    });
  }

  // --- helpers ----------------------------------------------------------------------------

  function openConversation() {
    return document.getElementById("conversation");
  }

  function fetchHtml(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    }).then(function (response) {
      if (response.status === 204) return null;
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    });
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function process(el) {
    if (window.htmx) window.htmx.process(el);
  }

  // --- timeline ---------------------------------------------------------------------------

  function timelineEl() {
    return document.getElementById("timeline");
  }

  function maxItemId() {
    var max = 0;
    document.querySelectorAll("#timeline [data-item-id]").forEach(function (el) {
      max = Math.max(max, Number(el.dataset.itemId));
    });
    return max;
  }

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }

  function scrollTimelineToEnd() {
    var el = timelineEl();
    if (el) el.scrollTop = el.scrollHeight;
  }

  function insertItem(el) {
    var timeline = timelineEl();
    var existing = document.getElementById(el.id);
    if (existing) {
      existing.replaceWith(el);
      return;
    }
    var key = el.dataset.sortKey;
    var items = timeline.querySelectorAll(":scope > li[data-item-id]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].dataset.sortKey > key) {
        timeline.insertBefore(el, items[i]);
        return;
      }
    }
    timeline.appendChild(el);
  }

  var includes = new Set();
  var timelineBusy = false;
  var timelineAgain = false;

  function refreshTimeline(includeId) {
    var conversation = openConversation();
    if (!conversation) return;
    if (includeId) includes.add(String(includeId));
    if (timelineBusy) {
      timelineAgain = true;
      return;
    }
    timelineBusy = true;
    var id = conversation.dataset.id;
    var params = new URLSearchParams({ after: String(maxItemId()) });
    var asked = Array.from(includes);
    asked.forEach(function (value) { params.append("include", value); });
    includes.clear();
    fetchHtml(conversation.dataset.timelineUrl + "?" + params.toString())
      .then(function (html) {
        var current = openConversation();
        if (html === null || !current || current.dataset.id !== id) return;
        var timeline = timelineEl();
        var stick = nearBottom(timeline);
        var fresh = Array.from(parse(html).children).filter(function (el) {
          return el.matches("li[data-item-id]");
        });
        fresh.forEach(function (el) {
          insertItem(el);
          process(el);
        });
        if (fresh.length && stick) scrollTimelineToEnd();
        refreshRow(id);
      })
      .catch(function () {
        asked.forEach(function (value) { includes.add(value); });
        timelineAgain = true;
      })
      .finally(function () {
        timelineBusy = false;
        if (timelineAgain) {
          timelineAgain = false;
          setTimeout(refreshTimeline, 300);
        }
      });
  }

  function refreshHeader() {
    var conversation = openConversation();
    if (!conversation || !window.htmx) return;
    var header = document.getElementById("conv-header");
    if (header && header.querySelector("details[open]")) return; // the agent is using a menu
    window.htmx.ajax("GET", conversation.dataset.headerUrl, {
      target: "#conv-header",
      swap: "outerHTML",
    });
  }

  // --- inbox rows -------------------------------------------------------------------------

  function rowsEl() {
    return document.getElementById("rows");
  }

  function markActive() {
    var conversation = openConversation();
    var id = conversation ? conversation.dataset.id : null;
    document.querySelectorAll("#rows > li.row").forEach(function (row) {
      var active = row.dataset.id === id;
      row.classList.toggle("active", active);
      var link = row.querySelector("a.row-link");
      if (link) {
        if (active) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    });
    var layout = document.getElementById("layout");
    if (layout) layout.classList.toggle("has-conversation", Boolean(conversation));
  }

  function placeRow(el) {
    var rows = rowsEl();
    var key = el.dataset.sortKey;
    var others = rows.querySelectorAll(":scope > li.row");
    for (var i = 0; i < others.length; i++) {
      if (others[i].dataset.sortKey > key) {
        rows.insertBefore(el, others[i]);
        return true;
      }
    }
    // After every loaded row: while more pages exist it belongs to one of them.
    if (document.getElementById("more")) return false;
    rows.appendChild(el);
    return true;
  }

  var rowTimers = new Map();

  function refreshRow(id) {
    id = String(id || "");
    if (!id || !rowsEl()) return;
    clearTimeout(rowTimers.get(id));
    rowTimers.set(id, setTimeout(function () {
      rowTimers.delete(id);
      loadRow(id);
    }, 150));
  }

  function loadRow(id) {
    var rows = rowsEl();
    if (!rows) return;
    var url = rows.dataset.rowUrl.replace(/\/0\/$/, "/" + id + "/");
    if (rows.dataset.query) url += "?" + rows.dataset.query;
    fetchHtml(url).then(function (html) {
      var existing = document.getElementById("row-" + id);
      var el = html ? parse(html).querySelector("li.row") : null;
      if (existing) existing.remove();
      if (!el) return;
      if (placeRow(el)) {
        var empty = document.getElementById("no-rows");
        if (empty) empty.remove();
        process(el);
        markActive();
        tick();
      }
    }).catch(function () { /* the next event or resync brings it */ });
  }

  function refreshList() {
    var rows = rowsEl();
    var list = document.getElementById("list");
    if (!rows || !list) return;
    var url = location.pathname + (rows.dataset.query ? "?" + rows.dataset.query : "");
    fetch(url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", "HX-Target": "list" },
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    }).then(function (html) {
      list.innerHTML = html;
      process(list);
      markActive();
      tick();
    }).catch(function () { /* retried at the next reconnect */ });
  }

  // --- the socket -------------------------------------------------------------------------

  var socket = null;
  var attempt = 0;
  var connectedOnce = false;

  function setLive(state) {
    var el = document.getElementById("live");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = strings[state] || state;
  }

  function resync(first) {
    refreshTimeline();
    if (!first) refreshHeader();
    // On the first connection the page is fresh; only a slow connect could have missed rows.
    if (!first || Date.now() - pageLoadedAt > 2000) refreshList();
  }

  function handle(message) {
    var id = String(message.conversation_id);
    var conversation = openConversation();
    var isOpen = Boolean(conversation) && conversation.dataset.id === id;
    switch (message.event) {
      case "message.created":
        if (isOpen) refreshTimeline(message.data && message.data.id);
        else refreshRow(id);
        break;
      case "message.updated":
        if (isOpen) refreshTimeline(message.data && message.data.id);
        break;
      case "conversation.created":
      case "conversation.updated":
      case "sla.warning":
      case "sla.breached":
        refreshRow(id);
        if (isOpen) refreshHeader();
        break;
      default:
        break;
    }
  }

  function connect() {
    var path = document.body.dataset.wsPath;
    if (!path || !rowsEl()) return;
    setLive(connectedOnce ? "offline" : "connecting");
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + path);
    socket.onopen = function () {
      var first = !connectedOnce;
      connectedOnce = true;
      attempt = 0;
      setLive("live");
      resync(first);
    };
    socket.onmessage = function (event) {
      try {
        handle(JSON.parse(event.data));
      } catch (e) { /* ignore a malformed push */ }
    };
    socket.onclose = function (event) {
      socket = null;
      setLive("offline");
      if (event.code === 4401) {
        location.reload(); // the session ended: the server sends the login page
        return;
      }
      // Exponential backoff with jitter: 1 s, 2 s, 4 s ... up to 30 s.
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    };
    socket.onerror = function () {
      if (socket) socket.close();
    };
  }

  // --- composer -----------------------------------------------------------------------------

  function composer() {
    return document.getElementById("composer");
  }

  function setMode(mode) {
    var form = composer();
    if (!form) return;
    var radio = form.querySelector("input[name=mode][value=" + mode + "]");
    if (radio && !radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    form.dataset.mode = mode;
    var text = form.querySelector("textarea");
    if (text) text.focus();
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "mode" && target.form && target.form.id === "composer") {
      target.form.dataset.mode = target.value;
    }
  });

  // --- keyboard shortcuts -------------------------------------------------------------------

  var helpReturnFocus = null;

  function help(show) {
    var overlay = document.getElementById("help");
    if (!overlay) return;
    if (show === undefined) show = overlay.hidden;
    overlay.hidden = !show;
    if (show) {
      helpReturnFocus = document.activeElement;
      var close = overlay.querySelector("[data-action=close-help]");
      if (close) close.focus();
    } else if (helpReturnFocus && helpReturnFocus.focus) {
      helpReturnFocus.focus();
    }
  }

  function move(delta) {
    var rows = Array.from(document.querySelectorAll("#rows > li.row"));
    if (!rows.length) return;
    var conversation = openConversation();
    var index = conversation
      ? rows.findIndex(function (row) { return row.dataset.id === conversation.dataset.id; })
      : -1;
    var next = index < 0 ? rows[0] : rows[index + delta];
    if (!next) return;
    var link = next.querySelector("a.row-link");
    next.scrollIntoView({ block: "nearest" });
    if (link) {
      link.focus();
      link.click();
    }
  }

  function clickShortcut(key) {
    var button = document.querySelector("#conv-header [data-shortcut=" + key + "]");
    if (button) button.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented) return;
    var target = event.target;
    var overlay = document.getElementById("help");
    if (event.key === "Escape") {
      if (overlay && !overlay.hidden) help(false);
      else if (target.closest && target.closest("input, textarea, select")) target.blur();
      return;
    }
    var typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (typing) {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && target.form
          && target.form.id === "composer") {
        event.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (overlay && !overlay.hidden && event.key !== "?") return;
    var handled = true;
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "r": setMode("reply"); break;
      case "n": setMode("note"); break;
      case "e": clickShortcut("e"); break;
      case "a": clickShortcut("a"); break;
      case "/": {
        var search = document.getElementById("search");
        if (search) {
          search.focus();
          search.select();
        }
        break;
      }
      case "?": help(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var action = event.target.closest && event.target.closest("[data-action]");
    if (!action) return;
    if (action.dataset.action === "help") help(true);
    if (action.dataset.action === "close-help") help(false);
  });

  // --- htmx integration ---------------------------------------------------------------------

  document.addEventListener("htmx:configRequest", function (event) {
    // The filters answer on the page's own URL (inbox or an open conversation), so the pushed
    // URL keeps the open conversation.
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("#filters") && event.detail.verb === "get") {
      event.detail.path = location.pathname;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "pane") {
      scrollTimelineToEnd();
      var conversation = openConversation();
      if (conversation) refreshRow(conversation.dataset.id);
    }
    var path = (event.detail.pathInfo && event.detail.pathInfo.requestPath) || "";
    if (/\/compose\/$/.test(path.split("?")[0])) {
      var form = composer();
      var text = form && form.querySelector("textarea");
      if (text) text.focus();
    }
    markActive();
    tick();
  });

  document.addEventListener("inbox:changed", function () {
    refreshTimeline();
    var conversation = openConversation();
    if (conversation) refreshRow(conversation.dataset.id);
  });

  function start() {
    tick();
    setInterval(tick, 1000);
    markActive();
    scrollTimelineToEnd();
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // For the browser tests and the console: the current socket, and the resync entry points.
  window.inboxUI = {
    socket: function () { return socket; },
    refreshTimeline: refreshTimeline,
    refreshList: refreshList,
  };
})();
