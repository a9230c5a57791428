// Reordering a list's tasks (the list marked data-reorder): drag a row, or Alt+ArrowUp and
// Alt+ArrowDown on a row in focus. Each move is saved by /app/tasks/{id}/move (right after
// the task now above it, or right before the one below), one after the other, and said in
// the page's live region (#announce). A move refused reloads the list as it is kept. Each
// move, and each save's answer, is told to live.js ("app:edited"), so that a page it fetched
// before them does not put back the order as it was.
// Listeners sit on the document: a list swapped in by htmx is reorderable as well.
(() => {
  const ROW = "ul.tasks[data-reorder] > li.task";
  const rowsOf = (list) => [...list.querySelectorAll(":scope > li.task")];
  const idOf = (row) => row.id.replace(/^task-/, "");
  const titleOf = (row) => row.querySelector(".body a").textContent;
  const ready = (root) => {
    const rows = root.matches?.(ROW) ? [root] : root.querySelectorAll?.(ROW);
    for (const row of rows ?? []) {
      row.draggable = true;
      row.tabIndex = -1;
    }
  };
  document.addEventListener("htmx:load", (event) => ready(event.detail.elt));
  ready(document);

  const edited = () => document.dispatchEvent(new Event("app:edited"));
  let saving = Promise.resolve();
  let unsaved = 0;
  function save(list, row) {
    edited();
    unsaved += 1;
    list.dataset.liveHold = ""; // live.js leaves the list alone until its moves are saved
    saving = saving.then(async () => {
      const all = rowsOf(list);
      const at = all.indexOf(row);
      const token = document.querySelector('input[name="csrf_token"]').value;
      const body = new URLSearchParams({ csrf_token: token });
      if (at > 0) body.set("after", idOf(all[at - 1]));
      else if (all.length > 1) body.set("before", idOf(all[1]));
      else return;
      const path = `/app/tasks/${idOf(row)}/move`;
      const answer = await (window.appOffline?.post(path, body) ?? fetch(path, { method: "POST", body }));
      edited();
      if (answer && !answer.ok) return location.reload(); // none: kept offline (static/offline.js)
      document.getElementById("announce").textContent = list.dataset.moved
        .replace("{title}", () => titleOf(row))
        .replace("{position}", String(at + 1))
        .replace("{count}", String(all.length));
    }).finally(() => {
      unsaved -= 1;
      if (unsaved === 0) delete list.dataset.liveHold;
    });
  }

  document.addEventListener("keydown", (event) => {
    if (!event.altKey || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
    const row = event.target.closest?.(ROW);
    if (!row) return;
    event.preventDefault();
    const list = row.parentElement;
    const all = rowsOf(list);
    const other = all[all.indexOf(row) + (event.key === "ArrowUp" ? -1 : 1)];
    if (!other) return;
    const focused = document.activeElement;
    list.insertBefore(row, event.key === "ArrowUp" ? other : other.nextSibling);
    focused.focus(); // moved in the page, it lost the focus
    save(list, row);
  });

  let dragged = null;
  let before = "";
  const order = (list) => rowsOf(list).map(idOf).join();
  document.addEventListener("dragstart", (event) => {
    dragged = event.target.closest?.(ROW) ?? null;
    if (!dragged) return;
    before = order(dragged.parentElement);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", titleOf(dragged));
    dragged.classList.add("dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const row = event.target.closest?.("li.task");
    if (!row || row.parentElement !== dragged.parentElement) return;
    event.preventDefault(); // a place to drop on
    if (row === dragged) return;
    const box = row.getBoundingClientRect();
    const below = event.clientY > box.top + box.height / 2;
    row.parentElement.insertBefore(dragged, below ? row.nextSibling : row);
  });
  document.addEventListener("drop", (event) => {
    if (dragged) event.preventDefault();
  });
  document.addEventListener("dragend", () => {
    if (!dragged) return;
    const row = dragged;
    dragged = null;
    row.classList.remove("dragging");
    if (row.isConnected && order(row.parentElement) !== before) save(row.parentElement, row);
  });
})();
