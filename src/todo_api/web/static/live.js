// Live updates: listens to /app/live (the signed-in person's change feed and notifications, as
// Server-Sent Events) and, when something changed, fetches the page again and puts in its
// parts marked `data-live` (each with an id: the tasks, the sidebar, the bell), keeping the
// focus and what has been typed in them (the box in focus, and any other left half-filled). A part holding `[data-live-hold]` (an Undo offered, say) is
// left as it is. EventSource reconnects by itself after a drop (with Last-Event-ID); a stream
// that ended for good is opened again after a pause that grows. A page fetched while the
// person changed something here (an "app:edited" event, as reordering sends) is stale: it is
// dropped and fetched again.
(() => {
  const STREAM = "/app/live";
  // A completed task's Undo, offered for 5 s; a request of the part's under way (its answer
  // swaps into what is there now).
  const HOLD = "[data-live-hold], li.undo, .htmx-request";
  let timer = null;
  let busy = false;
  let again = false;
  let dropped = false;
  let pause = 1000;
  let edits = 0;
  let sent = false; // a form's answer is on its way (below)
  let fetching = null; // the page's fetch under way, to be called off
  document.addEventListener("app:edited", () => {
    edits += 1;
  });
  // So is one fetched while a form of the page's (htmx's) was answered: an Undo, say.
  document.addEventListener("htmx:afterRequest", () => {
    edits += 1;
  });

  // The first message of a stream is an empty page: only one with something in it counts.
  const changed = (data) => {
    try {
      return Object.values(JSON.parse(data)).some((v) => Array.isArray(v) && v.length > 0);
    } catch {
      return true;
    }
  };

  // A tab out of sight fetches nothing: it catches up once when it is shown again.
  let stale = false;
  const soon = () => {
    if (document.hidden) {
      stale = true;
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, 100); // a burst of messages is one fetch
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && stale) {
      stale = false;
      soon();
    }
  });

  // Where the focus is, to find it again in the part put in its place.
  const whereFocus = () => {
    const el = document.activeElement;
    if (!el || el === document.body || !el.closest("[data-live][id]")) return null;
    const typing = "value" in el && "selectionStart" in el;
    return {
      id: el.id,
      owner: el.parentElement.closest("[id]")?.id,
      tag: el.tagName,
      name: el.getAttribute("name"),
      label: el.getAttribute("aria-label"),
      // A row reached with j or k is focusable from the script only (keys.js): so is its copy.
      tabindex: el.getAttribute("tabindex"),
      value: typing ? el.value : null,
      range: typing ? [el.selectionStart, el.selectionEnd] : null,
    };
  };

  const focusAgain = (was) => {
    if (!was || document.activeElement !== document.body) return;
    let el = was.id ? document.getElementById(was.id) : null;
    const owner = !el && was.owner ? document.getElementById(was.owner) : null;
    if (owner) {
      el = [...owner.querySelectorAll(was.tag)].find(
        (c) => c.getAttribute("name") === was.name && c.getAttribute("aria-label") === was.label,
      );
    }
    if (!el) return;
    if (was.tabindex !== null && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", was.tabindex);
    el.focus({ preventScroll: true });
    if (was.value !== null && "value" in el) {
      el.value = was.value;
      try {
        el.setSelectionRange(...was.range);
      } catch {
        // some inputs (email, number) have no selection
      }
    }
  };

  // A part's text fields, each known by its form (the form's id or address), its name and
  // which of that pair it is in the part: the same field in the part fetched again.
  const fields = (part) => {
    const seen = new Map();
    const found = [];
    for (const el of part.querySelectorAll("input, textarea")) {
      if (!el.name || el.type === "hidden") continue;
      const pair = `${el.form?.id || el.form?.getAttribute("action") || ""} ${el.name}`;
      const nth = seen.get(pair) ?? 0;
      seen.set(pair, nth + 1);
      found.push([`${pair} ${nth}`, el]);
    }
    return found;
  };
  // What has been typed and not sent (a value that is not the page's), to type it again.
  const typedIn = (part) =>
    new Map(
      fields(part)
        .filter(([, el]) => el.value !== el.defaultValue)
        .map(([key, el]) => [key, el.value]),
    );
  const typeAgain = (part, typed) => {
    if (typed.size === 0) return;
    for (const [key, el] of fields(part)) if (typed.has(key)) el.value = typed.get(key);
  };

  const refresh = async () => {
    if (sent) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    const since = edits;
    fetching = new AbortController();
    try {
      const answer = await fetch(location.href, {
        headers: { Accept: "text/html" },
        signal: fetching.signal,
      });
      const type = answer.headers.get("content-type") || "";
      if (!answer.ok || !type.startsWith("text/html")) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      if (edits !== since) {
        again = true;
        return;
      }
      const was = whereFocus();
      for (const part of document.querySelectorAll("[data-live][id]")) {
        const next = fresh.getElementById(part.id);
        if (!next) continue;
        if (part.querySelector(HOLD)) {
          setTimeout(soon, 1000); // once it has gone
          continue;
        }
        const typed = typedIn(part);
        const put = document.importNode(next, true);
        part.replaceWith(put);
        typeAgain(put, typed);
        if (window.htmx) window.htmx.process(put);
      }
      // What other scripts add to the parts (a row's `Edit title`: editing.js) before the focus.
      document.dispatchEvent(new CustomEvent("app:live"));
      focusAgain(was);
    } catch {
      // offline or signed out: the next message tries again
    } finally {
      fetching = null;
      busy = false;
      if (again) {
        again = false;
        soon();
      }
    }
  };

  // A form sent the browser's way (not by htmx, which prevents that, nor a dialog's) takes the
  // person to its answer: this page is not fetched again meanwhile (it may be gone, as a list
  // just left is). Should the page stay (its answer a download), it catches up after a while.
  // Signing out ends the sign-in before its answer takes the cookie away: nothing here may
  // ask again in between with the ended one (the stream, a fetch waiting or under way).
  let current = null;
  let leaving = false;
  document.addEventListener("submit", (event) => {
    if (leaving) return; // the page is on its way out: nothing comes back to life
    const signingOut = event.target.matches?.('form[action="/app/signout"]');
    if (!signingOut && (event.defaultPrevented || event.target.method === "dialog")) return;
    sent = true;
    clearTimeout(timer);
    if (signingOut) {
      leaving = true;
      current?.close();
      fetching?.abort();
      return;
    }
    setTimeout(() => {
      sent = false;
      soon();
    }, 10000);
  });

  // The first stream starts where the feed stood when the page was read: what changed
  // before the stream opened is on it too. Later ones start from their last message, or now.
  let since = document.body.dataset.liveSince;
  const listen = () => {
    if (leaving) return;
    const source = new EventSource(since ? `${STREAM}?since=${encodeURIComponent(since)}` : STREAM);
    since = undefined;
    current = source;
    source.addEventListener("changes", (event) => {
      if (changed(event.data)) soon();
    });
    source.addEventListener("notification", soon);
    // A reminder that fired: offline.js shows it as the device's notification, if allowed.
    source.addEventListener("reminder", (event) => {
      document.dispatchEvent(new CustomEvent("app:reminder", { detail: event.data }));
    });
    source.addEventListener("reset", () => {
      // Too far behind to catch up: the page as it is now, and a stream from now on.
      source.close();
      soon();
      listen();
    });
    source.addEventListener("open", () => {
      if (dropped) soon(); // what changed meanwhile
      dropped = false;
      pause = 1000;
    });
    source.addEventListener("error", () => {
      dropped = true;
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(listen, pause);
        pause = Math.min(pause * 2, 60000);
      }
    });
  };

  // A form's answer with its message (4xx), or a page not there, cannot be fetched again from
  // its address: only a page loaded as it is (200) is kept up to date.
  const loaded = performance.getEntriesByType("navigation")[0];
  if (!loaded || !loaded.responseStatus || loaded.responseStatus === 200) listen();
})();
