// Many tasks at once (templates/_select.html): `Select` puts a box in each row of the list;
// `Shift`+click on a row chooses it and every row up to the last one chosen; `Space` on a row
// in focus (j/k) chooses it or lets it go; `Esc` leaves. With tasks chosen, the bar (the form
// #bulk, whose submit is one bulk: bulk_pages.py) shows; its `Move to…`, `Due…` and
// `Priority…` open what they need next. The boxes belong to the form (their `form`
// attribute), so the form posts the tasks chosen. Without this script `Select` is a link to the
// list with the boxes and the bar made by the server.
(() => {
  const picked = new Set(); // the ids of the tasks chosen
  let on = false;
  let anchor = null; // the row chosen last: the other end of a Shift+click's range

  const ROW = "#tasks-part ul.tasks > li.task";
  const rows = () => [...document.querySelectorAll(ROW)];
  const idOf = (row) => row.id.replace(/^task-/, "");
  const said = () => document.querySelector("[data-picked]");

  function box(row) {
    let input = row.querySelector("input.pick");
    if (!input) {
      input = document.createElement("input");
      input.type = "checkbox";
      input.className = "pick";
      input.name = "task";
      input.value = idOf(row);
      input.setAttribute("form", "bulk");
      const title = row.querySelector(".body a")?.textContent ?? "";
      input.setAttribute("aria-label", said().dataset.rowLabel.replace("{title}", title));
      row.prepend(input);
    }
    input.checked = picked.has(input.value);
    row.classList.toggle("picked", input.checked);
  }

  function show() {
    const toggle = document.querySelector("[data-select-toggle]");
    const bar = document.getElementById("bulk");
    if (!toggle || !bar) return;
    // The list chosen from without JavaScript (`?select=1`: the server's boxes and bar) is
    // left as it is; elsewhere the `Select` button takes the place of that page's link.
    if (bar.hasAttribute("data-picking")) return;
    for (const link of document.querySelectorAll("[data-select-link]")) link.hidden = true;
    toggle.hidden = rows().length === 0 && !on;
    toggle.setAttribute("aria-pressed", String(on));
    for (const row of rows()) {
      if (on) box(row);
      else {
        row.querySelector("input.pick")?.remove();
        row.classList.remove("picked");
      }
    }
    bar.hidden = picked.size === 0;
    const text = said().dataset.picked.replace("{count}", picked.size);
    if (said().textContent !== text) said().textContent = text; // (the observer below)
  }

  function choose(row, chosen) {
    const id = idOf(row);
    if (chosen) picked.add(id);
    else picked.delete(id);
    anchor = id;
  }

  function leave() {
    on = false;
    picked.clear();
    anchor = null;
    show();
  }

  // Shift+click: every row from the last chosen one to this one (this one alone at first).
  function range(row) {
    const all = rows();
    const from = all.findIndex((r) => idOf(r) === anchor);
    const to = all.indexOf(row);
    const [a, b] = from < 0 ? [to, to] : [Math.min(from, to), Math.max(from, to)];
    for (const r of all.slice(a, b + 1)) picked.add(idOf(r));
    anchor = idOf(row);
  }

  document.addEventListener(
    "click",
    (event) => {
      const target = event.target;
      if (!(target instanceof Element)) return;
      if (target.closest("[data-select-toggle]")) {
        if (on) leave();
        else {
          on = true;
          show();
        }
        return;
      }
      const opener = target.closest("#bulk [aria-controls]");
      if (opener) {
        const panel = document.getElementById(opener.getAttribute("aria-controls"));
        const opening = panel.hidden;
        for (const other of document.querySelectorAll("#bulk [aria-controls]")) {
          other.setAttribute("aria-expanded", "false");
          document.getElementById(other.getAttribute("aria-controls")).hidden = true;
        }
        panel.hidden = !opening;
        opener.setAttribute("aria-expanded", String(opening));
        if (opening) panel.querySelector("input, select")?.focus();
        return;
      }
      const clear = target.closest("[data-clear]");
      if (clear) document.getElementById(clear.dataset.clear).value = "";
      const row = target.closest(ROW);
      if (!row) return;
      if (event.shiftKey) {
        if (target.matches("input.pick")) target.checked = true;
        else {
          event.preventDefault(); // not a new window for the link, nor a completion
          event.stopPropagation();
        }
        on = true;
        range(row);
        show();
      } else if (target.matches("input.pick")) {
        choose(row, target.checked);
        show();
      } else if (on && !target.closest("a, button")) {
        choose(row, !picked.has(idOf(row)));
        show();
      }
    },
    true,
  );

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const focused = document.activeElement;
    const bar = focused?.closest?.('[role="toolbar"]');
    if (bar && ["ArrowLeft", "ArrowRight"].includes(event.key)) {
      // The bar's buttons, one after the other with the arrows (as a toolbar's are).
      const buttons = [...bar.querySelectorAll("button")];
      const at = buttons.indexOf(focused) + (event.key === "ArrowRight" ? 1 : -1);
      buttons[(at + buttons.length) % buttons.length].focus();
      event.preventDefault();
    } else if (event.key === " " && focused?.matches?.(`${ROW}, ${ROW} .body > a`)) {
      event.preventDefault(); // (the row, or its title: not its checkbox)
      const row = focused.closest(ROW);
      on = true;
      choose(row, !picked.has(idOf(row)));
      show();
    } else if (event.key === "Escape" && on && !document.querySelector("dialog[open]")) {
      leave();
    }
  });

  // Rows that come later (more on scrolling, a search, a live update) get their boxes; the
  // page after a bulk starts afresh, the focus on its Undo.
  document.addEventListener("htmx:load", (event) => {
    const added = event.detail.elt;
    if (added instanceof HTMLElement && added.id === "main") {
      picked.clear();
      on = false;
      anchor = null;
      added.querySelector(".undo button")?.focus();
    }
    show();
  });
  new MutationObserver(show).observe(document.body, { childList: true, subtree: true });
  show();
})();
