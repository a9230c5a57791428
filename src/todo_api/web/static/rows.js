// A list's rows' own actions, shown on hover and focus (app.css): `Edit` (the title in place:
// editing.js), `Due` (a menu of days: Today, Tomorrow, Next week, This weekend, No date) and
// `More…` (a menu: edit the title, the due date, open the task, delete it). On a phone only
// `More…` shows, and its menu reaches the others. A day or a deletion is the selection bar's own
// post for one task (/app/bulk), answered by the list with a line offering `Undo` (focused). The menus'
// words and days are the page's (templates/list.html: #row-menus); without JavaScript the row
// opens the task's page, which has the whole form.
(() => {
  const ROW = "#tasks-part ul.tasks li.task";
  const words = () => document.getElementById("row-menus")?.dataset;
  const titleOf = (row) => row.querySelector(":scope > .body > a")?.textContent ?? "";
  const idOf = (row) => row.id.replace(/^task-/, "");

  const button = (css, glyph, label) => {
    const made = document.createElement("button");
    made.type = "button";
    made.className = `${css} row-action quiet`;
    made.setAttribute("aria-haspopup", "menu");
    made.setAttribute("aria-expanded", "false");
    made.setAttribute("aria-label", label);
    made.innerHTML = `<span class="glyph" aria-hidden="true">${glyph}</span>`;
    return made;
  };

  // Each row one may change (it has its checkbox) gets `Due` and `More…` after `Edit`.
  const addButtons = () => {
    const said = words();
    if (!said) return;
    for (const row of document.querySelectorAll(ROW)) {
      if (row.querySelector(":scope > .row-more") || !row.querySelector(":scope > .check")) continue;
      if (row.classList.contains("waiting") || !row.id.startsWith("task-")) continue;
      const title = titleOf(row);
      const due = button("row-due", "", said.dueLabel.replace("{title}", title));
      const more = button("row-more", "⋯", said.moreLabel.replace("{title}", title));
      (row.querySelector(":scope > .edit-title") ?? row.querySelector(":scope > .body")).after(due, more);
    }
  };
  document.addEventListener("DOMContentLoaded", addButtons);
  document.addEventListener("htmx:load", addButtons);
  document.addEventListener("app:live", addButtons); // (live.js: before it focuses again)
  new MutationObserver(addButtons).observe(document.documentElement, { childList: true, subtree: true });

  // --- the menu: one at a time, placed under its button, arrows move, Esc closes -------------
  let open = null; // { menu, opener }
  const close = (focusBack = true) => {
    if (!open) return;
    const { menu, opener } = open;
    open = null;
    menu.remove();
    opener.setAttribute("aria-expanded", "false");
    opener.closest("li.task")?.classList.remove("menu-open");
    if (focusBack && opener.isConnected) opener.focus();
  };
  const items = (menu) => [...menu.querySelectorAll("[role=menuitem]")];
  const show = (opener, kind) => {
    close(false);
    const row = opener.closest("li.task");
    const template = document.getElementById(`row-${kind}-menu`);
    if (!row || !template) return;
    const menu = template.content.firstElementChild.cloneNode(true);
    menu.id = "row-menu";
    menu.dataset.task = idOf(row);
    menu.dataset.liveHold = ""; // (live.js leaves the list as it is while a menu is open)
    menu.setAttribute("aria-label", menu.getAttribute("aria-label").replace("{title}", titleOf(row)));
    opener.after(menu);
    row.classList.add("menu-open");
    opener.setAttribute("aria-expanded", "true");
    opener.setAttribute("aria-controls", "row-menu");
    open = { menu, opener };
    menu.scrollIntoView({ block: "nearest" });
    items(menu)[0]?.focus();
  };

  // The list comes back with the line saying what was done, the focus on its `Undo` (select.js,
  // as after any bulk).
  const post = (row, fields) => {
    const rows = document.getElementById("rows");
    const values = { csrf_token: rows.elements.csrf_token.value, back: rows.elements.back.value, task: idOf(row), ...fields };
    close(false);
    window.htmx.ajax("POST", "/app/bulk", { values, target: "#main", select: "#main", swap: "outerHTML" });
  };

  const act = (item) => {
    const row = open.opener.closest("li.task");
    const { opener } = open;
    const action = item.dataset.action;
    if (action === "due") return post(row, { action: "due", due: item.dataset.day });
    if (action === "no-due") return post(row, { action: "no-due" });
    if (action === "delete") return post(row, { action: "delete" });
    if (action === "pick-due") return show(opener, "due");
    if (action === "edit") {
      close(false);
      row.querySelector(":scope > .edit-title")?.click();
      return;
    }
    if (action === "open") {
      close(false);
      row.querySelector(":scope > .body > a")?.click();
    }
  };

  document.addEventListener("click", (event) => {
    const opener = event.target.closest?.(`${ROW} > .row-due, ${ROW} > .row-more`);
    if (opener) {
      if (open?.opener === opener) return close();
      return show(opener, opener.classList.contains("row-due") ? "due" : "more");
    }
    const item = event.target.closest?.("#row-menu [role=menuitem]");
    if (item && open) return act(item);
    if (open && !event.target.closest?.("#row-menu")) close(false);
  });
  document.addEventListener("keydown", (event) => {
    if (!open || !open.menu.contains(event.target)) return;
    const all = items(open.menu);
    const at = all.indexOf(document.activeElement);
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      all[(moves[event.key] + all.length) % all.length]?.focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // (not the list's Esc: the task beside it, a selection)
      close();
    } else if (event.key === "Tab") {
      close(false);
    }
  }, true);
})();
