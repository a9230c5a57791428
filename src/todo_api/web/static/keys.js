// The keyboard shortcuts: ? lists them (the dialog #shortcuts), q goes to quick add, / to the
// search box, j and k move between the tasks, x completes the task in focus, e opens it.
// Never while typing in a field, nor with Ctrl, Meta or Alt held (Alt+arrows: reorder.js).
(() => {
  const dialog = document.getElementById("shortcuts");
  if (!dialog) return;
  const opener = document.querySelector("[data-shortcuts]");
  opener.hidden = false;
  opener.addEventListener("click", () => dialog.showModal());

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
    "?": () => dialog.showModal(),
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
    if (dialog.open || typing(event.target)) return;
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  if (location.hash === "#quick-text") document.getElementById("quick-text")?.focus();
})();
