// The keyboard shortcuts: ? lists them (the dialog #shortcuts), q goes to quick add, / to the
// search box, j and k move between the tasks, x completes the task in focus, e opens it, Esc
// closes the task opened beside the list, and leaves the search box and quick add. Never while typing in a field, nor with Ctrl, Meta
// or Alt held (Alt+arrows: reorder.js). What Esc closes gives the focus back to what opened it.
// Elements are looked up when used: htmx's history puts a new body back.
(() => {
  if (!document.getElementById("shortcuts")) return;
  const shortcuts = () => document.getElementById("shortcuts");
  document.querySelector("[data-shortcuts]").hidden = false;
  document.addEventListener("click", (event) => {
    if (event.target.closest?.("[data-shortcuts]")) showShortcuts();
  });

  function showShortcuts() {
    const dialog = shortcuts();
    const from = document.activeElement;
    dialog.addEventListener("close", () => from?.focus?.(), { once: true });
    dialog.showModal();
  }

  // The task a list's link opened beside it (htmx, its address pushed): Esc goes back to the
  // list, the focus on that link; a task page opened by its address goes to its list.
  let openedFrom = null;
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("ul.tasks .body a[hx-get]");
    if (link) openedFrom = link.getAttribute("href");
  });
  document.addEventListener("htmx:historyRestore", () => {
    if (!openedFrom) return;
    const link = [...document.querySelectorAll("ul.tasks .body a")].find(
      (each) => each.getAttribute("href") === openedFrom,
    );
    openedFrom = null;
    link?.focus();
  });

  function closeTask() {
    const pane = document.querySelector(".task-pane");
    if (!pane) return false; // nothing to close: Esc is another script's (a selection's)
    if (openedFrom && history.state?.htmx) history.back();
    else location.assign(pane.querySelector("a[data-back]")?.href ?? "/app/");
  }

  const rows = () => [...document.querySelectorAll("ul.tasks > li")];
  const current = () => document.activeElement?.closest("ul.tasks > li") ?? null;
  const typing = (element) =>
    element instanceof HTMLElement &&
    (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

  function step(by) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(current());
    const next = at < 0 ? (by > 0 ? 0 : all.length - 1) : at + by;
    const row = all[Math.min(Math.max(next, 0), all.length - 1)];
    row.tabIndex = -1; // focusable from the script, not a stop of its own for Tab
    row.focus();
  }

  const actions = {
    "?": showShortcuts,
    Escape: closeTask,
    q: () => {
      const box = document.getElementById("quick-text");
      if (box) box.focus();
      else location.assign("/app/#quick-text"); // a page without quick add: the inbox's
    },
    "/": () => document.querySelector('[role="searchbox"], input[type="search"]')?.focus(),
    j: () => step(1),
    k: () => step(-1),
    x: () => current()?.querySelector("button.check")?.click(),
    e: () => current()?.querySelector(".body a")?.click(),
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    // A dialog open (these shortcuts, a menu) has the keys, Esc included.
    if (document.querySelector("dialog[open]") || typing(event.target)) return;
    const action = actions[event.key];
    // Esc without a task beside the list is another's (select.js lets the chosen tasks go).
    if (!action || (event.key === "Escape" && !document.querySelector(".task-pane"))) return;
    event.preventDefault();
    action();
  });

  // Esc leaves the search box and quick add: the focus goes (a phone's keyboard closes), what
  // was typed stays (the search's narrowing too: the browser's own Esc would empty it).
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key !== "Escape" || !(box instanceof HTMLInputElement) || !box.matches("#search, #quick-text")) return;
    event.preventDefault();
    box.blur();
  });

  if (location.hash === "#quick-text") document.getElementById("quick-text")?.focus();
})();
