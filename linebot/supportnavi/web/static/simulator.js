// The simulator page: it acts as a LINE user through /simulator/api and draws what the fake
// LINE API recorded for that user. It never reaches the bot itself: each action becomes, on
// the server, a signed webhook POSTed to /callback, as LINE would send it. The bot's words
// come only from the server; the few words here are the page's own buttons and notes.

const API = "/simulator/api";
const POLL_MS = 1000;
const MAX_BACKOFF_MS = 30000;
const SAVED_USER = "supportnavi.simulator.user";
const OPENABLE = new Set(["https:", "http:", "tel:", "mailto:"]);

const $ = (id) => document.getElementById(id);
const el = {
  log: $("log"), error: $("error"), quick: $("quick"), composer: $("composer"), text: $("text"),
  toMenu: $("to-menu"), toKeyboard: $("to-keyboard"), chatBar: $("chat-bar"),
  chatBarText: $("chat-bar-text"), menuBar: $("menu-bar"), richmenu: $("richmenu"),
  blocked: $("blocked"), unblock: $("unblock"), userSelect: $("user-select"),
  newUser: $("new-user"), follow: $("follow"), unfollow: $("unfollow"),
  picker: $("picker"), pickerForm: $("picker-form"), pickerDate: $("picker-date"),
  pickerRange: $("picker-range"), pickerError: $("picker-error"), pickerCancel: $("picker-cancel"),
};

const state = {
  user: null, // {id, number, relation, richmenu}
  users: [],
  entries: [],
  cursor: 0,
  menu: null, // GET /richmenu: {chat_bar, size, default, menus}
  tab: null, // the alias id of the rich-menu tab shown
  mode: "menu", // "menu": the rich menu and its chat bar; "keyboard": the text input
  menuOpen: true,
  picking: null, // the datetimepicker action the date dialog answers
  actions: Promise.resolve(), // actions go to the server one after another, in order
  pulling: null,
  generation: 0, // bumped when the page switches to another person
  epoch: null, // the server's run: a restarted server numbers its transcripts afresh
};

// --- the server ---------------------------------------------------------------------------

// A POST always sends a JSON body, even an empty one: the server takes no other type, so that a
// form on another site cannot make a browser act here.
async function call(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) throw new Error(describe(response.status, payload));
  return payload;
}

function describe(status, payload) {
  const detail = payload && typeof payload.detail === "string" ? payload.detail : "";
  const errors = (payload && Array.isArray(payload.errors) ? payload.errors : [])
    .map((e) => `${(e.loc || []).join(".")}: ${e.msg}`);
  return [`${status} ${detail}`.trim(), ...errors].join(" / ");
}

function showError(message) {
  el.error.textContent = message;
  el.error.hidden = false;
}

function clearError() {
  el.error.hidden = true;
  el.error.textContent = "";
}

// One action of the person. Actions queue, so a quick second tap is sent after the first,
// never dropped.
function act(body) {
  const user = state.user;
  state.actions = state.actions.then(async () => {
    clearError();
    el.log.setAttribute("aria-busy", "true");
    try {
      const answer = await call("POST", "/events", { user: user.id, ...body });
      if (state.user && state.user.id === user.id) {
        state.user = { ...state.user, relation: answer.user.relation };
        renderRelation();
      }
    } catch (error) {
      showError(error.message);
    } finally {
      el.log.removeAttribute("aria-busy");
    }
    await refresh().catch((error) => showError(error.message));
  });
  return state.actions;
}

// --- reading the chat -----------------------------------------------------------------------

async function refresh() {
  while (state.pulling) await state.pulling.catch(() => {});
  state.pulling = pull();
  try {
    await state.pulling;
  } finally {
    state.pulling = null;
  }
}

async function pull() {
  const { user, generation } = state;
  if (!user) return;
  const query = `user=${encodeURIComponent(user.id)}&after=${state.cursor}`;
  const data = await call("GET", `/messages?${query}`);
  if (generation !== state.generation) return; // an answer about the person shown before
  const restarted = state.epoch !== null && data.epoch !== state.epoch;
  state.epoch = data.epoch;
  if (restarted && state.cursor > 0) {
    // the server restarted and its transcripts began afresh: draw this person's anew
    state.entries = [];
    state.cursor = 0;
    drawEmpty();
    hideQuick();
    return pull();
  }
  state.user = { ...state.user, relation: data.user.relation };
  if (data.entries.length) {
    state.entries.push(...data.entries);
    state.cursor = data.cursor;
    el.log.querySelector(".empty")?.remove();
    data.entries.forEach((entry) => el.log.append(drawEntry(entry)));
    renderQuick();
  }
  renderRelation();
  if (data.entries.length) toBottom();
}

// Like LINE, the talk shows its latest message, and stays there while the bottom of the
// screen grows or shrinks (quick replies come and go, the rich menu opens), unless the
// person has scrolled up to read.
let pinned = true;

function toBottom() {
  el.log.scrollTop = el.log.scrollHeight;
  pinned = true;
}

el.log.addEventListener("scroll", () => {
  pinned = el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 24;
}, { passive: true });

new ResizeObserver(() => {
  if (pinned) el.log.scrollTop = el.log.scrollHeight;
}).observe(el.log);

let timer = 0;
let failures = 0;

function schedule(delay = POLL_MS) {
  clearTimeout(timer);
  timer = 0;
  if (document.hidden) return; // a hidden page asks nothing; it catches up when shown
  timer = setTimeout(tick, delay);
}

async function tick() {
  try {
    await refresh();
    if (failures) clearError();
    failures = 0;
  } catch (error) {
    failures += 1;
    showError(error.message);
  }
  schedule(failures ? Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** failures) : POLL_MS);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) clearTimeout(timer);
  else schedule(0);
});

// --- drawing --------------------------------------------------------------------------------

function clock(ms) {
  return new Date(ms).toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit" });
}

function meta(entry) {
  const box = document.createElement("span");
  box.className = "meta";
  if (entry.via === "push" || entry.via === "multicast") {
    const via = document.createElement("span");
    via.textContent = "通知";
    box.append(via);
  }
  const time = document.createElement("time");
  time.dateTime = new Date(entry.at).toISOString();
  time.textContent = clock(entry.at);
  box.append(time);
  return box;
}

// Text keeps its line breaks (CSS pre-wrap); web addresses become links that open a new tab.
function fillText(target, text) {
  const pattern = /https?:\/\/[^\s「」（）()<>]+/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    target.append(text.slice(last, match.index));
    target.append(link(match[0], match[0]));
    last = match.index + match[0].length;
  }
  target.append(text.slice(last));
}

function link(href, text, className) {
  const a = document.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.textContent = text;
  if (className) a.className = className;
  return a;
}

// Small line icons drawn as SVG: an emoji would need a colour-emoji font the browser may lack.
const ICONS = {
  calendar: "M3 5h14v12H3z M3 8h14 M7 3v4 M13 3v4",
  external: "M8 4H4v12h12v-4 M11 3h6v6 M17 3l-8 8",
};

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "chip-icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function hidden(text) {
  const span = document.createElement("span");
  span.className = "visually-hidden";
  span.textContent = text;
  return span;
}

function drawEntry(entry) {
  const part = document.createDocumentFragment();
  if (entry.from === "bot") {
    entry.messages.forEach((message, i) => {
      const row = document.createElement("div");
      row.className = "row bot";
      row.dataset.via = entry.via;
      const avatar = document.createElement("span");
      avatar.className = i === 0 ? "avatar" : "avatar spacer";
      avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = "S";
      const bubble = document.createElement("div");
      bubble.className = "bubble";
      bubble.append(hidden("supportnavi: "));
      if (message.type === "text") fillText(bubble, message.text);
      else bubble.append(`（${message.type} メッセージ）`);
      row.append(avatar, bubble, meta(entry));
      part.append(row);
    });
  } else if (entry.kind === "text" || entry.kind === "postback") {
    const row = document.createElement("div");
    row.className = "row me";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.append(hidden("あなた: "), entry.text);
    row.append(meta(entry), bubble);
    part.append(row);
  } else {
    const note = document.createElement("div");
    note.className = "note";
    note.dataset.kind = entry.kind;
    const span = document.createElement("span");
    span.textContent = {
      follow: entry.unblocked ? "ブロックを解除しました" : "友だち追加しました",
      unfollow: "ブロックしました",
    }[entry.kind] || entry.kind;
    note.append(span);
    part.append(note);
  }
  return part;
}

function drawEmpty() {
  const empty = document.createElement("p");
  empty.className = "empty";
  empty.textContent = "まだトークはありません。\n「フォロー」で友だち追加するか、メッセージを送ってください。";
  el.log.replaceChildren(empty);
}

// LINE shows quick replies under the last message only, and only while it is the last one.
function renderQuick() {
  const last = state.entries.at(-1);
  const lastMessage = last && last.from === "bot" ? last.messages.at(-1) : null;
  const items = state.user?.relation === "blocked" ? []
    : (lastMessage?.quickReply?.items ?? []);
  el.quick.replaceChildren(...items.map((item) => chip(item.action)));
  el.quick.hidden = items.length === 0;
  el.quick.scrollLeft = 0;
}

function chip(action) {
  const type = action.type;
  if (type === "uri") {
    let scheme = "";
    try {
      scheme = new URL(action.uri).protocol;
    } catch {
      scheme = "";
    }
    if (OPENABLE.has(scheme)) {
      const a = link(action.uri, action.label, "chip");
      a.dataset.type = type;
      a.append(icon("external"));
      return a;
    }
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chip";
  button.dataset.type = type;
  button.textContent = action.label;
  if (type === "postback") {
    button.addEventListener("click", () => {
      hideQuick();
      act({ type: "postback", data: action.data, display_text: action.displayText ?? null });
    });
  } else if (type === "message") {
    button.addEventListener("click", () => {
      hideQuick();
      act({ type: "text", text: action.text });
    });
  } else if (type === "datetimepicker" && action.mode === "date") {
    button.append(icon("calendar"));
    button.addEventListener("click", () => openPicker(action));
  } else {
    button.disabled = true; // a camera, a location, a time picker: not in this simulator
    button.title = "シミュレーターでは使えません";
  }
  return button;
}

// A tap on a quick reply makes the row go, as on LINE.
function hideQuick() {
  el.quick.replaceChildren();
  el.quick.hidden = true;
}

// --- the date picker ------------------------------------------------------------------------

function setBound(input, name, value) {
  if (value) input.setAttribute(name, value);
  else input.removeAttribute(name);
}

function openPicker(action) {
  state.picking = action;
  const input = el.pickerDate;
  setBound(input, "min", action.min);
  setBound(input, "max", action.max);
  input.value = action.initial || "";
  el.pickerRange.textContent = action.min || action.max
    ? `選べる日付：${action.min || ""} 〜 ${action.max || ""}` : "";
  el.pickerError.hidden = true;
  el.picker.showModal();
  input.focus();
}

el.pickerForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = el.pickerDate;
  if (!input.value || !input.checkValidity()) {
    el.pickerError.textContent = "選べる範囲の日付を入れてください。";
    el.pickerError.hidden = false;
    input.focus();
    return;
  }
  const action = state.picking;
  el.picker.close();
  hideQuick();
  act({ type: "postback", data: action.data, date: input.value });
});

el.pickerCancel.addEventListener("click", () => el.picker.close());

// --- the rich menu --------------------------------------------------------------------------

function buildRichMenu() {
  const menu = state.menu;
  if (!menu || !menu.menus.length) {
    state.mode = "keyboard";
    el.toMenu.hidden = true;
    return;
  }
  el.chatBarText.textContent = menu.chat_bar;
  const { width, height } = menu.size;
  for (const item of menu.menus) {
    const frame = document.createElement("div");
    frame.className = "rm-frame";
    frame.dataset.alias = item.alias_id;
    frame.hidden = true;
    const img = document.createElement("img");
    img.src = item.image;
    img.alt = `リッチメニュー（${item.tab}）`;
    img.width = width;
    img.height = height;
    frame.append(img);
    for (const area of item.areas) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "rm-area";
      button.setAttribute("aria-label", area.label);
      button.dataset.action = area.action.type;
      const b = area.bounds;
      Object.assign(button.style, {
        left: `${(100 * b.x) / width}%`, top: `${(100 * b.y) / height}%`,
        width: `${(100 * b.width) / width}%`, height: `${(100 * b.height) / height}%`,
      });
      button.addEventListener("click", () => tapArea(area.action));
      frame.append(button);
    }
    el.richmenu.append(frame);
  }
}

function showTab(aliasId) {
  const known = state.menu?.menus.some((m) => m.alias_id === aliasId);
  state.tab = known ? aliasId : state.menu?.default ?? null;
  for (const frame of el.richmenu.querySelectorAll(".rm-frame")) {
    frame.hidden = frame.dataset.alias !== state.tab;
  }
}

function tapArea(action) {
  if (action.type === "postback") {
    hideQuick();
    act({ type: "postback", data: action.data, display_text: action.displayText ?? null });
  } else if (action.type === "richmenuswitch") {
    // LINE swaps the menu on the phone at once, then tells the bot how it went
    showTab(action.richMenuAliasId);
    act({ type: "richmenuswitch", alias_id: action.richMenuAliasId });
  } else if (action.type === "message") {
    hideQuick();
    act({ type: "text", text: action.text });
  } else if (action.type === "uri") {
    window.open(action.uri, "_blank", "noopener,noreferrer");
  }
}

// --- the bottom of the screen and the person's standing ------------------------------------

function renderRelation() {
  const relation = state.user?.relation ?? "new";
  const blocked = relation === "blocked";
  el.follow.disabled = relation === "friend";
  el.unfollow.disabled = blocked;
  el.blocked.hidden = !blocked;
  const hasMenu = Boolean(state.menu && state.menu.menus.length);
  el.composer.hidden = blocked || state.mode !== "keyboard";
  el.menuBar.hidden = blocked || state.mode !== "menu" || !hasMenu;
  el.richmenu.hidden = blocked || state.mode !== "menu" || !state.menuOpen || !hasMenu;
  el.chatBar.setAttribute("aria-expanded", String(state.menuOpen));
  el.chatBar.querySelector(".caret").textContent = state.menuOpen ? "▼" : "▲";
  if (blocked) hideQuick();
}

function setMode(mode) {
  state.mode = mode;
  renderRelation();
  if (mode === "keyboard") el.text.focus();
  else el.chatBar.focus();
}

el.toKeyboard.addEventListener("click", () => setMode("keyboard"));
el.toMenu.addEventListener("click", () => {
  state.menuOpen = true;
  setMode("menu");
});
el.chatBar.addEventListener("click", () => {
  state.menuOpen = !state.menuOpen;
  renderRelation();
});

el.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = el.text.value;
  if (!text.trim()) return;
  el.text.value = "";
  hideQuick();
  act({ type: "text", text });
});

el.follow.addEventListener("click", () => act({ type: "follow" }));
el.unblock.addEventListener("click", () => act({ type: "follow" }));
el.unfollow.addEventListener("click", () => act({ type: "unfollow" }));

// --- who the page acts as ---------------------------------------------------------------------

function userLabel(user) {
  return `ユーザー${user.number}`;
}

function renderUsers() {
  el.userSelect.replaceChildren(...state.users.map((user) => {
    const option = document.createElement("option");
    option.value = user.id;
    option.textContent = userLabel(user);
    option.title = user.id;
    option.selected = state.user && user.id === state.user.id;
    return option;
  }));
}

async function useUser(user) {
  await state.actions; // what the previous person was doing is sent as theirs
  while (state.pulling) await state.pulling.catch(() => {});
  state.generation += 1;
  state.user = user;
  state.entries = [];
  state.cursor = 0;
  localStorage.setItem(SAVED_USER, user.id);
  drawEmpty();
  hideQuick();
  clearError();
  showTab(user.richmenu);
  renderUsers();
  renderRelation();
  await refresh();
}

el.userSelect.addEventListener("change", () => {
  const user = state.users.find((u) => u.id === el.userSelect.value);
  if (user) useUser(user).catch((error) => showError(error.message));
});

el.newUser.addEventListener("click", async () => {
  try {
    const user = await call("POST", "/users", {});
    state.users.push(user);
    await useUser(user);
  } catch (error) {
    showError(error.message);
  }
});

async function start() {
  try {
    state.menu = await call("GET", "/richmenu");
    buildRichMenu();
    state.users = (await call("GET", "/users")).users;
    const saved = localStorage.getItem(SAVED_USER);
    let user = state.users.find((u) => u.id === saved);
    if (!user) {
      // a browser new to this server is a person new to the bot
      user = await call("POST", "/users", {});
      state.users.push(user);
    }
    await useUser(user);
  } catch (error) {
    showError(error.message);
  }
  document.body.dataset.ready = "true";
  schedule();
}

start();
