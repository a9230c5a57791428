// Reordering a list's tasks (the list marked data-reorder): drag a row, or Alt+ArrowUp and
// Alt+ArrowDown on a row in focus. Each move is saved by /app/tasks/{id}/move (right after
// the task now above it, or right before the one below), one after the other, and said in
// the page's live region (#announce). A move refused reloads the list as it is kept.
(() => {
  const list = document.querySelector("ul.tasks[data-reorder]");
  if (!list) return;
  const token = document.querySelector('input[name="csrf_token"]').value;
  const announcer = document.getElementById("announce");
  const rows = () => [...list.querySelectorAll(":scope > li.task")];
  const idOf = (row) => row.id.replace(/^task-/, "");
  const titleOf = (row) => row.querySelector(".body a").textContent;
  const ready = (row) => {
    row.draggable = true;
    row.tabIndex = -1;
  };
  rows().forEach(ready);
  document.addEventListener("htmx:load", (event) => {
    if (event.detail.elt instanceof HTMLElement && event.detail.elt.matches("li.task")) {
      ready(event.detail.elt);
    }
  });

  let saving = Promise.resolve();
  function save(row) {
    saving = saving.then(async () => {
      const all = rows();
      const at = all.indexOf(row);
      const body = new URLSearchParams({ csrf_token: token });
      if (at > 0) body.set("after", idOf(all[at - 1]));
      else if (all.length > 1) body.set("before", idOf(all[1]));
      else return;
      const answer = await fetch(`/app/tasks/${idOf(row)}/move`, { method: "POST", body });
      if (!answer.ok) return location.reload();
      announcer.textContent = list.dataset.moved
        .replace("{title}", () => titleOf(row))
        .replace("{position}", String(at + 1))
        .replace("{count}", String(all.length));
    });
  }

  list.addEventListener("keydown", (event) => {
    if (!event.altKey || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
    const row = event.target.closest("li.task");
    if (!row) return;
    event.preventDefault();
    const all = rows();
    const other = all[all.indexOf(row) + (event.key === "ArrowUp" ? -1 : 1)];
    if (!other) return;
    const focused = document.activeElement;
    list.insertBefore(row, event.key === "ArrowUp" ? other : other.nextSibling);
    focused.focus(); // moved in the page, it lost the focus
    save(row);
  });

  let dragged = null;
  let before = "";
  const order = () => rows().map(idOf).join();
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li.task");
    if (!dragged) return;
    before = order();
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", titleOf(dragged));
    dragged.classList.add("dragging");
  });
  list.addEventListener("dragover", (event) => {
    if (!dragged) return;
    event.preventDefault(); // a place to drop on
    const row = event.target.closest("li.task");
    if (!row || row === dragged) return;
    const box = row.getBoundingClientRect();
    const below = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, below ? row.nextSibling : row);
  });
  list.addEventListener("drop", (event) => {
    if (dragged) event.preventDefault();
  });
  list.addEventListener("dragend", () => {
    if (!dragged) return;
    const row = dragged;
    dragged = null;
    row.classList.remove("dragging");
    if (order() !== before) save(row);
  });
})();
