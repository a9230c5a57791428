// The app's service worker (served at /app/sw.js, scope /app/): the pages a person opened, to
// read them offline, the changes made offline sent once the network is back (Background
// Sync), and the reminders pushed to the device. Nothing else: /api, /dav and /mcp
// are outside its scope, the live stream and the sign-in pages pass by, and what is kept of a
// person is in a cache named by their sign-in (the page says which: offline.js), deleted when
// someone else signs in here or they sign out (the answer's Clear-Site-Data empties it too).
// Its version is its bytes: the browser installs a new one whenever this file changes.
const STATIC = "static"; // files named by their content's hash: each is for ever what it is
const PAGES = "pages-"; // + the sign-in's key
const MOST_PAGES = 600; // at least the last 500 tasks seen, with their lists
const APP_NAME = "Tasks"; // APP_NAME's value: written here as served (web/offline_pages.py)
// Pages of no one (signing in) or not to be kept (the live stream, a download).
const PASSING = /^\/app\/(live|sw\.js|manifest\.webmanifest|signin|signup|signout|forgot|reset|verify|invitations|settings\/data\/export)/;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// The signed-in person's cache: the one of the key the page gave, never another's.
const pagesCache = async () => {
  const name = (await caches.keys()).find((key) => key.startsWith(PAGES));
  return name ? caches.open(name) : null;
};

const forget = async (keep) => {
  for (const key of await caches.keys()) {
    if (key.startsWith(PAGES) && key !== keep) await caches.delete(key);
  }
};

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "hello" && /^[0-9a-f]{8,64}$/.test(data.key || "")) {
    // This page's sign-in: its cache, and the page's own files kept for reading offline.
    event.waitUntil(
      (async () => {
        await forget(PAGES + data.key);
        await caches.open(PAGES + data.key);
        const files = await caches.open(STATIC);
        for (const url of data.files || []) {
          if (new URL(url, self.location.href).pathname.startsWith("/app/static/") && !(await files.match(url))) {
            await files.add(url).catch(() => {});
          }
        }
      })(),
    );
  } else if (data.type === "signout") {
    event.waitUntil(forget(null));
  }
});

const fromCacheFirst = async (request) => {
  const files = await caches.open(STATIC);
  const found = await files.match(request);
  if (found) return found;
  const response = await fetch(request);
  if (response.ok) await files.put(request, response.clone());
  return response;
};

// A sign-in ended elsewhere (logout-all, a reset, a new address): the app's first answer to it
// is a 401 (with Clear-Site-Data, which browsers act on without showing it to this worker),
// and nothing of the person is kept to open offline.
const endedElsewhere = async (response) => {
  if (response.status === 401) await forget(null);
};

// The page from the network, kept for later; offline, the copy kept (if any).
const fromNetworkFirst = async (request, keep) => {
  try {
    const response = await fetch(request);
    await endedElsewhere(response);
    if (keep && response.status === 200 && !response.redirected) {
      const pages = await pagesCache();
      if (pages) {
        await pages.delete(request.url); // put again: the newest last
        await pages.put(request.url, response.clone());
        const keys = await pages.keys();
        for (const old of keys.slice(0, Math.max(0, keys.length - MOST_PAGES))) await pages.delete(old);
      }
    }
    return response;
  } catch (error) {
    const pages = await pagesCache();
    const kept = pages && (await pages.match(request.url, { ignoreVary: true }));
    if (kept) return kept;
    throw error;
  }
};

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) return;
  if (url.pathname.startsWith("/app/static/")) {
    event.respondWith(fromCacheFirst(request));
  } else if (!PASSING.test(url.pathname)) {
    // A page opened (kept), or a part of one htmx asks for (answered from a kept page offline).
    const opened = request.mode === "navigate";
    if (opened || request.headers.get("HX-Request")) event.respondWith(fromNetworkFirst(request, opened));
  }
});

// Background Sync: the changes made offline (static/offline.js keeps them in IndexedDB, one
// database per sign-in) sent once the network is back, even with no page of the app open. In
// order, each with its own Idempotency-Key, as the page sends them, and never beside a page
// sending them (one lock for both). A change the server refuses with a page to show (the
// conflict page, a form's message) is left for the app's page to send and show; anything
// else left for later makes the sync fail, so that the browser tries it again.
const SYNC = "todo-changes";
const OPENED = "todo-offline-";

const openChanges = async () => {
  const pages = (await caches.keys()).find((key) => key.startsWith(PAGES));
  if (!pages) return null; // signed out here: nothing of anyone to send
  return new Promise((resolve, reject) => {
    const asked = indexedDB.open(OPENED + pages.slice(PAGES.length), 1);
    asked.onupgradeneeded = () => asked.result.createObjectStore("changes", { keyPath: "id", autoIncrement: true });
    asked.onsuccess = () => resolve(asked.result);
    asked.onerror = () => reject(asked.error);
  });
};

const inStore = (db, mode, work) =>
  new Promise((resolve, reject) => {
    const changes = db.transaction("changes", mode);
    const asked = work(changes.objectStore("changes"));
    changes.oncomplete = () => resolve(asked.result);
    changes.onerror = () => reject(changes.error);
  });

// The first change to send: one the page showed a decision for (`decide`, static/offline.js)
// waits for the person, and those after it go on.
const nextToSend = async (db) => (await inStore(db, "readonly", (store) => store.getAll())).find((change) => !change.decide);

const sendWaiting = async () => {
  const db = await openChanges();
  if (!db) return;
  let sent = 0;
  let left = false;
  try {
    for (;;) {
      const change = await nextToSend(db);
      if (!change) break;
      if (!change.tried) await inStore(db, "readwrite", (store) => store.put({ ...change, tried: true }));
      const answer = await fetch(change.url, {
        method: "POST",
        body: new URLSearchParams(change.body),
        headers: { "Idempotency-Key": change.key },
        redirect: "manual",
        credentials: "same-origin",
      }); // no network: it throws, and the browser tries the sync again later
      if (!(answer.type === "opaqueredirect" || answer.ok || answer.status === 404)) {
        left = !(answer.headers.get("content-type") || "").includes("text/html");
        break; // a page to show (the page shows it), or refused for now (tried again later)
      }
      await inStore(db, "readwrite", (store) => store.delete(change.id));
      sent += 1;
    }
  } finally {
    db.close();
  }
  if (sent) {
    for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage({ type: "sent", sent });
  }
  if (left) throw new Error("changes left to send");
};

self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC) return;
  event.waitUntil(self.navigator.locks ? self.navigator.locks.request(SYNC, sendWaiting) : sendWaiting());
});

// A reminder pushed to the device ({title, body, url}), shown even with no page open.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(String(data.title || APP_NAME), {
      body: String(data.body || ""),
      data: { url: String(data.url || "/app/") },
      tag: data.tag ? String(data.tag) : undefined,
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  let url = new URL((event.notification.data && event.notification.data.url) || "/app/", self.location.href);
  if (url.origin !== self.location.origin) url = new URL("/app/", self.location.href);
  event.waitUntil(
    (async () => {
      for (const client of await self.clients.matchAll({ type: "window" })) {
        if (client.url === url.href && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(url.href);
    })(),
  );
});
