// The app on a device that loses the network (with static/sw.js, the service worker): the pages
// opened are read from the device, a line says the page is offline and since when; adding,
// completing, reopening, editing and deleting a task are kept in IndexedDB (one database per
// sign-in) and shown at once, with `N changes waiting`; when the network is back they are sent
// in order, each with its own Idempotency-Key (the server does each once however often it is
// sent), and the page is loaded again. An edit that meets a newer one elsewhere shows the
// conflict page the server answers with. Signing out with changes waiting asks first, and
// nothing of the person is left on the device. Also: reminders from the live stream as the
// device's notifications, for a person who allows them (Settings → Notifications), and the
// push subscription when the page offers a key.
(() => {
  const worker = navigator.serviceWorker;
  if (worker) worker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
  let state = document.getElementById("offline-state"); // the page's, or the answer's put in its place
  if (!state) return; // signed out: nothing of anyone to keep
  const key = state.dataset.key;
  const NAME = "todo-offline-";
  const SYNC = "todo-changes"; // the worker's Background Sync tag (static/sw.js)
  const WRITES = /^\/app\/(quick|tasks\/[0-9a-f-]{36}(\/(complete|reopen|delete|move-to))?)$/;
  const token = () => document.querySelector("input[name=csrf_token]")?.value;

  // --- the changes waiting, in IndexedDB -------------------------------------------------
  let opened = null;
  const db = () =>
    (opened ||= new Promise((resolve, reject) => {
      const asked = indexedDB.open(NAME + key, 1);
      asked.onupgradeneeded = () => asked.result.createObjectStore("changes", { keyPath: "id", autoIncrement: true });
      asked.onsuccess = () => resolve(asked.result);
      asked.onerror = () => reject(asked.error);
    }));
  const inStore = async (mode, work) => {
    const changes = (await db()).transaction("changes", mode);
    const asked = work(changes.objectStore("changes"));
    return new Promise((resolve, reject) => {
      changes.oncomplete = () => resolve(asked.result);
      changes.onerror = () => reject(changes.error);
    });
  };
  // A change the server answered with a page to decide on (the conflict page, a form's
  // message) is kept, marked `decide`, until the person has decided: it is not sent again.
  const all = () => inStore("readonly", (store) => store.getAll());
  const waiting = async () => (await all()).filter((change) => !change.decide);
  let count = 0;
  let deciding = null; // the first change to decide on

  // --- what the page says ----------------------------------------------------------------
  const say = () => {
    const parts = [];
    if (!navigator.onLine) {
      const when = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
        dateStyle: "medium",
        timeStyle: "short",
      }).format(new Date(state.dataset.made));
      parts.push(state.dataset.fresh.replace("{when}", when));
    }
    if (count) parts.push(count === 1 ? state.dataset.one : state.dataset.many.replace("{count}", count));
    state.textContent = parts.join(" · ");
    if (deciding) {
      // Said until decided; away from its task's page, a link to it (where it is shown again).
      const page = `/app/tasks/${deciding.task}`;
      const decide = document.createElement(location.pathname === page ? "span" : "a");
      decide.textContent = state.dataset.decide;
      if (location.pathname !== page) decide.href = page;
      state.append(parts.length ? " · " : "", decide);
    }
    state.hidden = parts.length === 0 && !deciding;
  };

  // A change kept shows on the page as done, and on every page read while it waits: the
  // task's row in each view (placed), the views' and the sidebar's counts following (counted);
  // the task page's own form holds what was typed (nothing typed offline is lost).
  const show = (change) => {
    if (change.kind !== "edit" || location.pathname !== `/app/tasks/${change.task}`) return;
    const form = document.getElementById("task-form");
    const fields = new URLSearchParams(change.body);
    for (const [name, value] of fields) {
      const box = form?.elements[name];
      if (box && "value" in box && box.type !== "hidden" && box.type !== "checkbox") box.value = value;
    }
    const heading = document.getElementById("task-heading");
    if (heading && fields.get("title")) heading.textContent = fields.get("title");
  };

  // --- the changes waiting, in every view ----------------------------------------------------
  // One function for every view (a list, the inbox, Today, Upcoming, the board, a search, the
  // list beside a task): each task the changes touch is followed from its state when it was
  // last read online (its row's data-list and data-due, in this page or a page kept on the
  // device) to its state with the changes, and its row is put where that state belongs here,
  // changed as it was changed, or taken away; then the counts follow the same states.
  const words = JSON.parse(state.dataset.words || "{}");
  const zone = state.dataset.zone || undefined;
  const lang = document.documentElement.lang || undefined;
  const isoDay = (date) => {
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(date);
    } catch {
      return new Intl.DateTimeFormat("en-CA").format(date); // a zone this browser does not know
    }
  };
  const dayAfter = (day, days) => new Date(Date.parse(`${day}T00:00:00Z`) + days * 864e5).toISOString().slice(0, 10);
  const dayWords = (day, today) => {
    const ahead = Math.round((Date.parse(day) - Date.parse(today)) / 864e5);
    if (ahead >= -1 && ahead <= 1) return words[{ "-1": "yesterday", 0: "today", 1: "tomorrow" }[ahead]];
    const form = ahead > 1 && ahead <= 6 ? { weekday: "long" } : { dateStyle: "medium" };
    return new Intl.DateTimeFormat(lang, { ...form, timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));
  };

  // Each task's state after the changes, from its state before them (`was`: null for a task
  // added offline, undefined while not known).
  const followed = (changes) => {
    const tasks = new Map();
    for (const change of changes) {
      const fields = new URLSearchParams(change.body);
      if (change.kind === "quick") {
        const id = `waiting-${change.id}`;
        const list = fields.get("list_id") || "";
        const open = fields.get("completed") !== "1"; // completed before it was sent (below)
        const now = { open, list, due: "", title: fields.get("text"), section: fields.get("section_id"), back: fields.get("back") };
        tasks.set(id, { id, was: null, now });
        continue;
      }
      if (!change.task) continue; // a section moved: no task's
      const task = tasks.get(change.task) || { id: change.task, was: undefined, now: {} };
      tasks.set(change.task, task);
      const now = task.now;
      if (change.kind === "complete" || change.kind === "reopen") now.open = change.kind === "reopen";
      else if (change.kind === "delete") now.gone = true;
      else if (change.kind === "move" || change.kind === "move-to") {
        // Its place: in a section (the board's column), after or before a task, or at a position.
        if (fields.has("section_id")) now.section = fields.get("section_id");
        for (const name of ["after", "before", "position"]) now[name] = fields.get(name) || "";
      }
      else if (change.kind === "edit") {
        for (const name of ["title", "priority"]) if (fields.has(name)) now[name] = fields.get(name);
        if (fields.has("list_id")) now.list = fields.get("list_id");
        if (fields.has("due")) {
          now.due = fields.get("due");
          now.time = fields.get("due_time") || "";
        }
      }
    }
    return tasks;
  };

  // A task's state as it was last read online: its row in this page (as the server wrote it:
  // kept in data-was once changed here), else in the newest page kept on the device showing
  // it (that row then taken, to be shown here).
  const stateOf = (row) => ({ open: !row.classList.contains("completed"), list: row.dataset.list ?? "", due: row.dataset.due ?? "" });
  const lastRead = async (id, kept) => {
    const here = document.getElementById(`task-${id}`);
    if (here) return { state: here.dataset.was ? JSON.parse(here.dataset.was) : stateOf(here), row: null };
    const row = await kept.find(id);
    return { state: row ? stateOf(row) : undefined, row };
  };
  const keptPages = () => {
    let pages = null;
    const read = async () => {
      if (!(await caches.has(`pages-${key}`))) return [];
      const cache = await caches.open(`pages-${key}`);
      const requests = (await cache.keys()).reverse(); // the newest first
      return requests.map((request) => () => cache.match(request).then((answer) => answer?.text()));
    };
    return {
      async find(id) {
        pages ||= read().catch(() => []);
        for (const text of await pages) {
          const html = await text();
          if (!html?.includes(`id="task-${id}"`)) continue;
          const row = new DOMParser().parseFromString(html, "text/html").getElementById(`task-${id}`);
          if (row) return row;
        }
        return null;
      },
    };
  };

  // Whether a task in `state` belongs in this page's view (`part`, the page's tasks: read again
  // each time, htmx replaces it).
  let part = null;
  const belongs = (state, today) => {
    const showsCompleted = new URLSearchParams(location.search).get("completed") === "1";
    if (state.gone || (!state.open && !showsCompleted)) return false;
    const view = part?.dataset.view;
    // Added here, or in the list or inbox in view (where the text names no other).
    if (state.back) return new URL(state.back, location.href).pathname === location.pathname || ((view === "inbox" || view === "list") && belongs({ ...state, back: "" }, today));
    if (!view || part.hasAttribute("data-narrowed") || view.startsWith("filter:")) return true;
    if (view === "inbox") return !state.list;
    if (view === "list") return state.list === part.dataset.list;
    if (view === "today") return Boolean(state.due) && state.due <= today;
    if (view === "upcoming") return Boolean(state.due) && state.due < dayAfter(today, 7);
    return true;
  };
  // The rows' list where it goes in this page (made where the page had none), or null.
  const byDay = () => part?.dataset.view === "today" || part?.dataset.view === "upcoming";
  const dayOf = (state, today) => `day-${state.due < today ? "overdue" : state.due}`;
  // A day's heading the page did not have (Today's page shows only the days with tasks), in
  // its place among the others: `Overdue` first, then by date.
  const newDay = (id, today) => {
    const days = [...document.querySelectorAll("#tasks-part > .day")];
    const key = id.slice(4);
    if (!days.length && !document.querySelector("#tasks-part > p.empty")) return null;
    const day = Object.assign(document.createElement("div"), { className: "day" });
    const heading = Object.assign(document.createElement("h2"), { id });
    const near = part.dataset.view === "upcoming" && { [today]: words.today, [dayAfter(today, 1)]: words.tomorrow }[key];
    const date = new Date(`${key}T00:00:00Z`);
    heading.textContent = key === "overdue" ? words.overdue_heading : near || new Intl.DateTimeFormat(lang, { weekday: "long", month: "long", day: "numeric", timeZone: "UTC" }).format(date);
    day.append(heading);
    const rank = (dayKey) => (dayKey === "overdue" ? "" : dayKey);
    const later = days.find((other) => rank(other.querySelector("h2").id.slice(4)) > rank(key));
    const empty = document.querySelector("#tasks-part > p.empty");
    if (later) later.before(day);
    else if (days.length) days.at(-1).after(day);
    else empty.before(day);
    if (empty) empty.hidden = true;
    return day;
  };
  const rowsFor = (state, today) => {
    const board = document.getElementById("board");
    if (board) {
      const column = board.querySelector(`.column[data-section="${CSS.escape(state.section || "none")}"]`) || board.querySelector(".column[data-section]");
      return column?.querySelector("ul.tasks");
    }
    if (byDay() && state.due) {
      const day = document.getElementById(dayOf(state, today))?.closest(".day") || newDay(dayOf(state, today), today);
      if (!day) return null;
      let rows = day.querySelector("ul.tasks");
      if (!rows) {
        rows = Object.assign(document.createElement("ul"), { className: "tasks" });
        rows.setAttribute("aria-labelledby", day.querySelector("h2").id);
        const empty = day.querySelector(".empty");
        empty ? empty.replaceWith(rows) : day.append(rows);
        day.classList.remove("nothing");
      }
      return rows;
    }
    let rows = document.getElementById("tasks") || (byDay() ? part.querySelector("ul.tasks") : null);
    if (!rows && part) {
      // A list that was empty: its rows' list made where it says so.
      rows = Object.assign(document.createElement("ul"), { className: "tasks", id: "tasks" });
      const empty = part.querySelector(":scope > p.empty");
      part.insertBefore(rows, empty || part.querySelector(":scope > .list-section, :scope > form.add-section, :scope > #more"));
      if (empty) empty.hidden = true;
    }
    return rows;
  };

  // The row's words as the server writes them (shown.task_line), for what was changed (`now`).
  const reworded = (row, now, whole, today) => {
    const link = row.querySelector(`.body > a[href="/app/tasks/${row.id.slice(5)}"]`);
    const check = row.querySelector(":scope > .check");
    // The priority is the checkbox's ring (p1 to p4) and in its name, as shown.task_line says it.
    if (check && now.priority !== undefined) {
      const number = { high: 1, medium: 2, low: 3 }[now.priority] || 4;
      check.classList.remove("p1", "p2", "p3", "p4");
      check.classList.add(`p${number}`);
    }
    if (check && link && (now.title !== undefined || now.priority !== undefined)) {
      if (now.title !== undefined) link.textContent = now.title;
      const number = Number(check.className.match(/\bp([1-4])\b/)?.[1] || 4);
      const label = words[row.classList.contains("completed") ? "reopen" : number < 4 ? "complete_p" : "complete"];
      if (label) check.setAttribute("aria-label", label.replace("{title}", link.textContent).replace("{number}", number));
    } else if (now.title !== undefined && link) {
      link.textContent = now.title;
    }
    const meta = row.querySelector(":scope > .body > .meta");
    if (meta && now.due !== undefined) {
      meta.querySelector(":scope > .due")?.remove();
      if (now.due) {
        let when = dayWords(now.due, today);
        if (now.time) {
          const clock = new Intl.DateTimeFormat(lang, { timeStyle: "short", timeZone: "UTC" }).format(new Date(`1970-01-01T${now.time}Z`));
          when = words.day_time.replace("{day}", when).replace("{time}", clock);
        }
        const late = now.due < today;
        const ahead = (Date.parse(now.due) - Date.parse(today)) / 86400000;
        const chip = document.createElement("span");
        chip.className = `due chip ${late ? "overdue" : ahead === 0 ? "today" : ahead <= 7 ? "soon" : ""}`.trim();
        const shown = Object.assign(document.createElement("span"), { textContent: when });
        shown.setAttribute("aria-hidden", "true");
        const said = Object.assign(document.createElement("span"), { className: "visually-hidden", textContent: words[late ? "overdue" : "due"].replace("{when}", when) });
        chip.append(shown, said);
        const parent = meta.querySelector(":scope > .parent");
        parent ? parent.after(chip) : meta.prepend(chip);
      }
    }
    row.dataset.list = whole.list ?? "";
    row.dataset.due = whole.due ?? "";
    row.classList.toggle("completed", whole.open === false);
    row.querySelector(":scope > .check")?.setAttribute("aria-checked", String(whole.open === false));
  };

  // A row moved (a card to another column, a row among its list's): where the move put it.
  const moved = (row, now) => {
    let rows = row.parentElement;
    const column = now.section && document.querySelector(`#board .column[data-section="${CSS.escape(now.section)}"] ul.tasks`);
    if (column) rows = column;
    const after = now.after && document.getElementById(`task-${now.after}`);
    const before = now.before && document.getElementById(`task-${now.before}`);
    const others = [...rows.children].filter((other) => other !== row);
    const at = others[Number(now.position) - 1];
    if (after?.parentElement === rows) after.nextElementSibling !== row && after.after(row);
    else if (before?.parentElement === rows) before.previousElementSibling !== row && before.before(row);
    else if (now.position && at) at.previousElementSibling !== row && at.before(row);
    else if (row.parentElement !== rows) rows.append(row);
  };

  // A task added offline: its checkbox and its title, a link to its page made here (below).
  const checkFor = (id, title, done) => {
    const check = Object.assign(document.createElement("button"), { type: "button", className: "check" });
    check.dataset.waiting = id;
    check.setAttribute("role", "checkbox");
    check.setAttribute("aria-checked", String(done));
    check.setAttribute("aria-label", (done ? words.reopen : words.complete).replace("{title}", title));
    return check;
  };
  const waitingRow = (id, title) => {
    const item = Object.assign(document.createElement("li"), { className: "task waiting", id: `task-${id}` });
    const body = Object.assign(document.createElement("div"), { className: "body" });
    body.append(Object.assign(document.createElement("a"), { href: `/app/tasks/${id}`, textContent: title }));
    item.append(checkFor(id, title, false), body);
    return item;
  };

  // A view's count, and the sidebar's: what the server counted, with each task's part in it
  // before the changes taken away and its part after them added.
  const counted = (tasks, today) => {
    const counts = new Map();
    const add = (state, by) => {
      if (!state || state.gone || state.open === false) return;
      const views = [state.list ? `/app/lists/${state.list}` : "/app/"];
      if (state.due && state.due <= today) views.push("/app/today");
      if (state.due && state.due < dayAfter(today, 7)) views.push("/app/upcoming");
      for (const view of views) counts.set(view, (counts.get(view) || 0) + by);
    };
    for (const task of tasks.values()) {
      if (task.was === undefined) continue; // never read online: its part unknown
      add(task.was, -1);
      add(task.whole, 1);
    }
    for (const count of document.querySelectorAll("nav a[href^='/app/'] > .count")) {
      // The server's count: the one the page came with, or one the live updates wrote since.
      if (count.dataset.wrote !== count.textContent) count.dataset.was = count.textContent.match(/\d+/)?.[0] ?? "";
      if (!count.dataset.was || !words.open) continue;
      const n = Number(count.dataset.was) + (counts.get(count.parentElement.getAttribute("href")) || 0);
      count.textContent = count.dataset.wrote = words.open.replace("{count}", Math.max(0, n));
    }
    for (const column of document.querySelectorAll("#board .column[data-section]")) {
      const shown = column.querySelectorAll(":scope ul.tasks > li.task:not([hidden])").length;
      const count = column.querySelector(".column-head > .count");
      if (count) count.textContent = shown;
    }
  };

  const place = async (changes) => {
    const today = isoDay(new Date());
    part = document.getElementById("tasks-part");
    const tasks = followed(changes.filter((change) => !change.decide));
    const kept = keptPages();
    for (const task of tasks.values()) {
      const read = task.was === null ? { row: null } : await lastRead(task.id, kept);
      if (task.was !== null) task.was = read.state;
      if (task.was === undefined) continue; // never read online here: nothing to show it by
      task.whole = { ...task.was, ...task.now };
      const here = belongs(task.whole, today);
      let row = document.getElementById(`task-${task.id}`);
      if (!row && here) {
        const rows = rowsFor(task.whole, today);
        if (!rows) continue;
        row = read.row ? document.adoptNode(read.row) : waitingRow(task.id, task.now.title);
        row.querySelector(":scope > details.move-to")?.remove(); // a card's, from the board
        task.was === null ? rows.prepend(row) : rows.append(row);
        window.htmx?.process(row);
      }
      if (!row) continue;
      if (here && byDay() && task.whole.due && row.closest(".day")?.querySelector("h2")?.id !== dayOf(task.whole, today)) {
        rowsFor(task.whole, today)?.append(row); // another day's now
      }
      if (here && (task.now.section !== undefined || task.now.after !== undefined)) moved(row, task.now);
      if (task.was !== null) {
        row.dataset.was ??= JSON.stringify(task.was);
        reworded(row, task.now, task.whole, today);
      }
      row.hidden = !here;
    }
    counted(tasks, today);
  };
  let placing = Promise.resolve();
  const placeWaiting = () => (placing = placing.then(() => waiting().then(place)).catch(() => {}));

  // Kept: a new change at the end, or an edit of a task whose edit waits unsent (made from the
  // same page, so with the same version) folded into it: both are one save, not a conflict.
  const keep = async (url, body, kind, task) => {
    const random = crypto.randomUUID?.() || [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
    let change = { url, body: body.toString(), kind, task, key: random };
    const earlier = kind === "edit" && !sending ? (await waiting()).find((c) => c.kind === "edit" && c.task === task && !c.tried) : null;
    if (earlier) {
      const fields = new URLSearchParams(earlier.body);
      for (const [name, value] of body) if (name !== "version" && name !== "shown" && name !== "base") fields.set(name, value);
      change = { ...earlier, body: fields.toString() };
      await inStore("readwrite", (store) => store.put(change));
    } else {
      change.id = await inStore("readwrite", (store) => store.add(change));
      count += 1;
    }
    show(change);
    placeWaiting();
    say();
    later();
    send();
  };

  // --- a task added offline, before it reaches the server -----------------------------------
  // Its row opens a page of its own, made here from the change kept (its title to edit, its
  // checkbox, `Back`); completing and editing it change that same create (its `text`, and
  // `completed`, which /app/quick honours), so it reaches the server once, as it now is.
  const added = async (id) => (await waiting()).find((change) => change.kind === "quick" && `waiting-${change.id}` === id);
  const amend = async (id, fields) => {
    const change = await added(id);
    if (!change || change.tried) return null; // already on its way: as it was sent
    const body = new URLSearchParams(change.body);
    for (const [name, value] of Object.entries(fields)) value === null ? body.delete(name) : body.set(name, value);
    const amended = { ...change, body: body.toString() };
    await inStore("readwrite", (store) => store.put(amended));
    return amended;
  };
  let listShown = null; // the list's main part, while an added task's page stands in its place
  const openAdded = async (id) => {
    const change = await added(id);
    if (!change) return;
    const fields = new URLSearchParams(change.body);
    const title = fields.get("text");
    const page = Object.assign(document.createElement("main"), { id: "main", className: "task-waiting" });
    const heading = Object.assign(document.createElement("h1"), { id: "task-heading", textContent: title, tabIndex: -1 });
    const form = Object.assign(document.createElement("form"), { id: "waiting-form" });
    const box = Object.assign(document.createElement("input"), { id: "waiting-title", name: "title", value: title, required: true, autocomplete: "off" });
    const label = Object.assign(document.createElement("label"), { htmlFor: box.id, textContent: words.title });
    form.append(label, box, Object.assign(document.createElement("button"), { type: "submit", textContent: words.save }));
    const back = Object.assign(document.createElement("a"), { href: location.href, textContent: words.back, className: "waiting-back" });
    page.append(back, heading, checkFor(id, title, fields.get("completed") === "1"), form);
    listShown ||= document.getElementById("main");
    document.getElementById("main").replaceWith(page);
    heading.focus();
  };
  const closeAdded = () => {
    document.getElementById("main").replaceWith(listShown);
    listShown = null;
    placeWaiting();
  };
  document.addEventListener("click", async (event) => {
    const link = event.target.closest?.("a[href^='/app/tasks/waiting-']");
    if (link) {
      event.preventDefault();
      return openAdded(link.getAttribute("href").split("/")[3]);
    }
    if (event.target.closest?.("main.task-waiting a.waiting-back")) {
      event.preventDefault();
      return closeAdded();
    }
    const check = event.target.closest?.("button.check[data-waiting]");
    if (!check) return;
    const done = check.getAttribute("aria-checked") !== "true";
    const amended = await amend(check.dataset.waiting, { completed: done ? "1" : null });
    if (!amended) return;
    const title = new URLSearchParams(amended.body).get("text");
    check.setAttribute("aria-checked", String(done));
    check.setAttribute("aria-label", (done ? words.reopen : words.complete).replace("{title}", title));
    if (!listShown) placeWaiting(); // (its row goes, as a completed one does)
  });
  document.addEventListener("submit", async (event) => {
    if (event.target.id !== "waiting-form") return;
    event.preventDefault();
    const title = event.target.elements.title.value.trim();
    const check = document.querySelector("main.task-waiting button.check");
    const id = check.dataset.waiting;
    if (!title || !(await amend(id, { text: title }))) return;
    document.getElementById("task-heading").textContent = title;
    const row = listShown?.querySelector(`#task-${id}`);
    for (const shown of [check, row?.querySelector(".check")]) {
      if (!shown) continue;
      const done = shown.getAttribute("aria-checked") === "true";
      shown.setAttribute("aria-label", (done ? words.reopen : words.complete).replace("{title}", title));
    }
    if (row) row.querySelector(".body > a").textContent = title;
  });

  // Background Sync, where the browser has it: the worker sends what waits once the network
  // is back, even with no page of the app open (static/sw.js); else the page does, as it opens.
  const later = () => worker?.ready.then((registration) => registration.sync?.register(SYNC)).catch(() => {});
  // A move a script saves (static/board.js, reorder.js): kept as any change while offline or
  // behind changes waiting, or when the network goes as it is sent; else the server's answer.
  const post = async (path, body) => {
    const task = path.match(/^\/app\/tasks\/([^/]+)\//)?.[1] || null;
    if (!holding()) {
      try {
        return await fetch(path, { method: "POST", body });
      } catch {} // kept, below: sent again later
    }
    await keep(path, body, "move", task);
    return null;
  };
  window.appOffline = { holding: () => holding(), keep, post };

  // Sent the browser's way or by htmx: while offline, or behind changes still waiting (their
  // order is kept), a change to a task is kept instead.
  const holding = () => !navigator.onLine || count > 0;
  const kindOf = (path) => {
    const [, , , id, what] = path.split("/");
    return path === "/app/quick" ? ["quick", null] : [what || "edit", id];
  };

  window.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      const decidingHere = deciding && location.pathname === `/app/tasks/${deciding.task}`;
      if (decidingHere && (form.id === "task-form" || form.closest(".conflict")) && !("decided" in form.dataset)) return decided(event, form);
      const action = new URL(event.submitter?.getAttribute("formaction") || form.getAttribute("action") || location.href, location.href);
      if (action.pathname === "/app/signout") return leave(event, form);
      // A task page's Delete posts as the list's bar does (/app/bulk), for that one task.
      const one = form.querySelectorAll("input[name=task]");
      const deleting = action.pathname === "/app/bulk" && event.submitter?.value === "delete" && one.length === 1;
      if (form.method !== "post" || !(WRITES.test(action.pathname) || deleting) || !holding()) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      const [kind, task] = deleting ? ["delete", one[0].value] : kindOf(action.pathname);
      const body = new URLSearchParams(new FormData(form, event.submitter));
      const kept = keep(action.pathname, body, kind, task);
      if (kind === "quick") form.elements.text.value = "";
      if (form.id === "title-edit") {
        form.hidden = true;
        document.getElementById("task-heading").hidden = false;
      }
      if (kind === "delete" && location.pathname.startsWith("/app/tasks/")) {
        // Back to the list once the change is kept (not before: leaving would lose it).
        const list = [...document.querySelectorAll(".task-pane a[href^='/app/']")].pop()?.href || "/app/";
        kept.then(() => location.assign(list));
      }
    },
    true,
  );

  document.addEventListener("htmx:beforeRequest", (event) => {
    const config = event.detail.requestConfig || {};
    if (config.verb !== "post" || !holding()) return;
    const path = new URL(config.path, location.href).pathname;
    if (!WRITES.test(path)) {
      if (!navigator.onLine) event.preventDefault(); // a preview, say: nothing to say offline
      return;
    }
    event.preventDefault();
    const [kind, task] = kindOf(path);
    keep(path, new URLSearchParams(new FormData(document.getElementById("rows"))), kind, task);
  });

  // --- sending them, once the network is back -------------------------------------------
  let sending = false;
  let again = false; // asked while sending: once more after
  // A send that found no network while the browser says it is back (the two are told apart,
  // a moment apart; or the server is out of reach): tried again after a pause that grows.
  let pause = 1000;
  const send = async () => {
    if (sending) again = true;
    if (sending || !navigator.onLine) return;
    sending = true;
    again = false;
    let outcome;
    try {
      // One sender at a time, this page or another, or the worker (Background Sync).
      outcome = navigator.locks ? await navigator.locks.request(SYNC, sendAll) : await sendAll();
    } finally {
      sending = false;
    }
    const { answered, sent, later: soon, unreached } = outcome;
    if (unreached && navigator.onLine) {
      setTimeout(send, pause);
      pause = Math.min(pause * 2, 60000);
    } else if (!unreached) pause = 1000;
    if (soon) setTimeout(send, 1000);
    else if (again && count) return send();
    if (answered) shownToDecide(answered); else if (sent && !count) {
      location.reload(); // caught up with everything, this device's changes included
    }
  };

  // The server's page (theirs and yours, `Keep mine`, `Reload`; or a form's message) in place
  // of this one, its notice scrolled to and focused: wherever the person was on the page, that
  // is what they are to read now.
  const shownToDecide = (answered) => {
    const next = new DOMParser().parseFromString(answered.html, "text/html");
    if (/^\/app\/tasks\/[^/]+$/.test(answered.url)) history.replaceState(null, "", answered.url);
    document.replaceChild(document.adoptNode(next.documentElement), document.documentElement);
    state = document.getElementById("offline-state") || state;
    say();
    const notice = document.querySelector("#main [role=alert]");
    if (!notice) return;
    notice.tabIndex = -1;
    notice.focus({ preventScroll: true });
    // Scrolled to once the page's styles are in (they load again with the new page): before,
    // its unstyled layout puts the notice elsewhere.
    const styles = [...document.querySelectorAll("link[rel=stylesheet]")].filter((link) => !link.sheet);
    const loaded = styles.map((link) => new Promise((resolve) => link.addEventListener("load", resolve, { once: true }) || link.addEventListener("error", resolve, { once: true })));
    Promise.all(loaded).then(() => requestAnimationFrame(() => notice.scrollIntoView({ block: "center" })));
  };

  // Deciding (`Keep mine`, `Reload`, or the task's form saved again) ends the waiting for it:
  // forgotten on the device, then the choice goes its way.
  const decided = async (event, form) => {
    event.preventDefault();
    event.stopImmediatePropagation();
    const task = location.pathname.split("/")[3];
    for (const change of await all()) {
      if (change.decide && change.task === task) await inStore("readwrite", (store) => store.delete(change.id));
    }
    deciding = (await all()).find((change) => change.decide) || null;
    form.dataset.decided = "";
    form.requestSubmit(event.submitter);
  };

  const sendAll = async () => {
    let answered = null; // a page to show: the conflict page, or a form's message
    let sent = false;
    let later = false;
    let unreached = false;
    for (;;) {
      const [change] = await waiting();
      if (!change) {
        sent ||= count > 0; // sent meanwhile by the worker: caught up all the same
        count = 0;
        break;
      }
      if (!change.tried) await inStore("readwrite", (store) => store.put({ ...change, tried: true }));
      const body = new URLSearchParams(change.body);
      if (token()) body.set("csrf_token", token());
      let answer;
      try {
        answer = await fetch(change.url, {
          method: "POST",
          body,
          headers: { "Idempotency-Key": change.key },
          redirect: "manual",
          credentials: "same-origin",
        });
      } catch {
        unreached = true; // the network went again: the rest wait for it (and this one is sent again)
        break;
      }
      const page = (answer.headers.get("content-type") || "").includes("text/html");
      const done = answer.type === "opaqueredirect" || answer.ok || answer.status === 404;
      if (!done && !(page && (answer.status === 400 || answer.status === 409))) {
        later = answer.status === 409; // the same change still being done: asked again soon
        break; // signed out, refused or the server failing: kept for the next time
      }
      if (!done && !answered) answered = { html: await answer.text(), url: change.url };
      if (done) await inStore("readwrite", (store) => store.delete(change.id));
      else await inStore("readwrite", (store) => store.put({ ...change, decide: true }));
      count = Math.max(0, count - 1);
      sent = true;
      say();
    }
    deciding = (await all()).find((change) => change.decide) || null;
    say();
    return { answered, sent, later, unreached };
  };

  // --- signing out: asked first with changes waiting; nothing of the person left ---------
  const leave = (event, form) => {
    if ((count || deciding) && !confirm(state.dataset.leave)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    event.preventDefault(); // live.js still hears of it (and stops its stream)
    const forgotten = (async () => {
      worker?.controller?.postMessage({ type: "signout" });
      (await opened)?.close();
      await new Promise((resolve) => {
        const asked = indexedDB.deleteDatabase(NAME + key);
        asked.onsuccess = asked.onerror = asked.onblocked = resolve;
      });
    })();
    Promise.race([forgotten, new Promise((resolve) => setTimeout(resolve, 2000))]).then(() => form.submit());
  };

  // --- reminders, as the device's notifications -----------------------------------------
  const allowed = () => "Notification" in window && Notification.permission === "granted";
  document.addEventListener("app:reminder", (event) => {
    if (!allowed()) return;
    let fired = {};
    try {
      fired = JSON.parse(event.detail);
    } catch {}
    const task = fired.data?.task || fired.task || {};
    const url = task.id ? `/app/tasks/${task.id}` : "/app/";
    const options = { body: String(task.title || ""), tag: String(fired.data?.reminder?.id || fired.id || ""), data: { url } };
    try {
      new Notification(state.dataset.reminder, options).onclick = () => {
        window.focus();
        location.assign(url);
      };
    } catch {
      worker?.ready.then((registration) => registration.showNotification(state.dataset.reminder, options));
    }
  });

  const subscribe = async () => {
    const vapid = document.body.dataset.vapidKey;
    if (!vapid || !worker || !("PushManager" in window)) return;
    const raw = atob(vapid.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (vapid.length % 4)) % 4));
    const registration = await worker.ready;
    const subscription =
      (await registration.pushManager.getSubscription()) ||
      (await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: Uint8Array.from(raw, (c) => c.charCodeAt(0)),
      }));
    if (localStorage.getItem(NAME + "push") === subscription.endpoint) return; // told already
    const told = await fetch("/app/push-subscriptions", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token() || "" },
      body: JSON.stringify(subscription.toJSON()),
      credentials: "same-origin",
    });
    if (told.ok) localStorage.setItem(NAME + "push", subscription.endpoint); // gone at sign-out
  };

  const button = document.getElementById("show-reminders");
  if (button && "Notification" in window) {
    button.closest("section").hidden = false;
    const said = document.getElementById("show-reminders-state");
    button.addEventListener("click", async () => {
      const answer = await Notification.requestPermission();
      said.textContent = answer === "granted" ? button.dataset.on : button.dataset.off;
      if (answer === "granted") subscribe().catch(() => {});
    });
  }

  // --- this page: its sign-in's caches, the changes waiting ------------------------------
  worker?.ready.then((registration) => {
    const files = [...document.querySelectorAll("script[src], link[rel=stylesheet], link[rel=icon]")];
    registration.active?.postMessage({ type: "hello", key, files: files.map((f) => f.src || f.href) });
    if (allowed()) subscribe().catch(() => {});
  });
  indexedDB.databases?.().then((all) => {
    for (const other of all) if (other.name?.startsWith(NAME) && other.name !== NAME + key) indexedDB.deleteDatabase(other.name);
  });
  const ready = async () => {
    const kept = await all();
    const changes = kept.filter((change) => !change.decide);
    count = changes.length;
    deciding = kept.find((change) => change.decide) || null;
    // On the page of a change to decide on: sent again, to show what there is to decide.
    const here = kept.find((change) => change.decide && location.pathname === `/app/tasks/${change.task}`);
    if (here && navigator.onLine) {
      await inStore("readwrite", (store) => store.put({ ...here, decide: false }));
      count += 1;
    }
    for (const change of changes) show(change);
    placeWaiting();
    say();
    send();
  };
  document.addEventListener("htmx:load", () => {
    waiting().then((changes) => changes.forEach(show));
    placeWaiting();
  });
  window.addEventListener("online", () => (say(), send()));
  worker?.addEventListener("message", (event) => {
    if (event.data?.type === "sent" && count) send(); // the worker sent them: caught up here too
  });
  window.addEventListener("offline", say);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
