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
  const state = document.getElementById("offline-state");
  if (!state) return; // signed out: nothing of anyone to keep
  const key = state.dataset.key;
  const NAME = "todo-offline-";
  const SYNC = "todo-changes"; // the worker's Background Sync tag (static/sw.js)
  const WRITES = /^\/app\/(quick|tasks\/[0-9a-f-]{36}(\/(complete|reopen|delete))?)$/;
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
  const waiting = () => inStore("readonly", (store) => store.getAll());
  let count = 0;

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
    state.hidden = parts.length === 0;
  };

  // A change kept shows on the page as done (and again on every page read while it waits).
  const rowOf = (id) => document.getElementById(`task-${id}`);
  const show = (change) => {
    const fields = new URLSearchParams(change.body);
    const row = change.task ? rowOf(change.task) : null;
    if (change.kind === "quick") {
      const list = document.querySelector("#tasks-part ul.tasks, ul#tasks");
      if (!list || list.querySelector(`[data-waiting="${change.id}"]`)) return;
      const item = document.createElement("li");
      item.className = "task waiting";
      item.dataset.waiting = change.id;
      const title = document.createElement("div");
      title.className = "body";
      title.textContent = fields.get("text");
      item.append(title);
      list.prepend(item);
    } else if ((change.kind === "complete" || change.kind === "reopen") && row) {
      const done = change.kind === "complete";
      row.classList.toggle("completed", done);
      row.querySelector(".check")?.setAttribute("aria-checked", String(done));
      if (done && !location.search.includes("completed=1")) row.hidden = true;
    } else if (change.kind === "delete" && row) {
      row.hidden = true;
    } else if (change.kind === "edit" && location.pathname === `/app/tasks/${change.task}`) {
      // What was typed, in the form again (nothing typed offline is lost).
      const form = document.getElementById("task-form");
      for (const [name, value] of fields) {
        const box = form?.elements[name];
        if (box && "value" in box && box.type !== "hidden" && box.type !== "checkbox") box.value = value;
      }
      const heading = document.getElementById("task-heading");
      if (heading && fields.get("title")) heading.textContent = fields.get("title");
    }
  };

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
    say();
    later();
    send();
  };

  // Background Sync, where the browser has it: the worker sends what waits once the network
  // is back, even with no page of the app open (static/sw.js); else the page does, as it opens.
  const later = () => worker?.ready.then((registration) => registration.sync?.register(SYNC)).catch(() => {});
  window.appOffline = { holding: () => holding(), keep };

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
    if (answered) {
      // The server's page (theirs and yours, `Keep mine`, `Reload`) in place of this one.
      const next = new DOMParser().parseFromString(answered.html, "text/html");
      if (/^\/app\/tasks\/[^/]+$/.test(answered.url)) history.replaceState(null, "", answered.url);
      document.replaceChild(document.adoptNode(next.documentElement), document.documentElement);
    } else if (sent && !count) {
      location.reload(); // caught up with everything, this device's changes included
    }
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
      await inStore("readwrite", (store) => store.delete(change.id));
      count = Math.max(0, count - 1);
      sent = true;
      say();
    }
    say();
    return { answered, sent, later, unreached };
  };

  // --- signing out: asked first with changes waiting; nothing of the person left ---------
  const leave = (event, form) => {
    if (count && !confirm(state.dataset.leave)) {
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
    const changes = await waiting();
    count = changes.length;
    for (const change of changes) show(change);
    say();
    send();
  };
  document.addEventListener("htmx:load", () => waiting().then((changes) => changes.forEach(show)));
  window.addEventListener("online", () => (say(), send()));
  worker?.addEventListener("message", (event) => {
    if (event.data?.type === "sent" && count) send(); // the worker sent them: caught up here too
  });
  window.addEventListener("offline", say);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
