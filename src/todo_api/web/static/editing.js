// A task changed in place on its page (templates/_task_menus.html): the title where it is shown
// (a click or Enter opens a box, Enter saves, Esc cancels), and the due date, priority and list
// from their menus (the due date also from a month's calendar, arrows and Enter, or from words
// read as quick add reads them). Each change is the task form's own post with fewer fields and
// the version shown (a save over someone else's change answers with the conflict page), and the
// page it answers with takes the place of this one's main part. Words typed for a date or a
// rule (`data-words`) are read back as one types. Without JavaScript the form holds it all.
// A list's rows offer their titles to change in place too (`Edit title`, below).
(() => {
  const ready = () => {
    for (const part of document.querySelectorAll("[data-edit][hidden]")) part.hidden = false;
    const heading = document.querySelector("h1[data-title-edit]");
    if (heading && heading.tabIndex !== 0) {
      heading.tabIndex = 0;
      heading.setAttribute("aria-describedby", "title-hint");
    }
  };
  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:load", ready);

  // The answer of a form post (its page, after the redirect) in place of the main part; while
  // offline (or behind changes waiting), kept on the device as any other change to the task
  // (static/offline.js) and shown on the page at once.
  const send = async (form, fields, focusId) => {
    const body = new FormData();
    for (const input of form.querySelectorAll("input[type=hidden]")) body.append(input.name, input.value);
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    const offline = window.appOffline;
    const keep = () => {
      const path = new URL(form.action, location.href).pathname;
      offline.keep(path, new URLSearchParams(body), "edit", path.split("/")[3]);
      shownKept(fields, focusId);
    };
    if (offline?.holding()) return keep();
    let answer;
    try {
      answer = await fetch(form.action, { method: "POST", body, credentials: "same-origin" });
    } catch (error) {
      if (offline) return keep(); // the network went as it was sent: kept, sent again later
      throw error;
    }
    const page = await answer.text();
    const next = new DOMParser().parseFromString(page, "text/html");
    const main = next.getElementById("main");
    if (!main) return location.reload();
    document.title = next.title;
    document.getElementById("main").replaceWith(main);
    window.htmx?.process(main);
    main.dispatchEvent(new CustomEvent("htmx:load", { bubbles: true, detail: { elt: main } }));
    document.dispatchEvent(new CustomEvent("app:edited"));
    const alert = document.querySelector("#main [role=alert]");
    (alert ? document.getElementById("task-heading") : document.getElementById(focusId))?.focus();
  };

  // A change kept offline, on the page as if made: the chip says the value picked, the menu
  // closes, focus back on its button (the title is kept by offline.js's own form handling).
  const shownKept = (fields, focusId) => {
    for (const [name, value] of Object.entries(fields)) {
      const chip = document.querySelector(`.chip [name="${name}"]`)?.closest(".chip");
      if (!chip) continue;
      let text = value;
      let named = false; // the first name of the day: on a Sunday "Tomorrow", not "Next week"
      for (const item of chip.querySelectorAll(`[data-pick][name="${name}"]`)) {
        const picked = item.value === value;
        if (item.getAttribute("role") === "menuitemradio") item.setAttribute("aria-checked", String(picked));
        if (picked && !named) text = (item.querySelector("span") || item).textContent;
        named ||= picked;
      }
      const calendar = chip.querySelector(".calendar");
      if (calendar && name === "due") {
        calendar.dataset.selected = value;
        if (value && text === value) text = new Intl.DateTimeFormat(calendar.dataset.lang, { timeZone: "UTC", dateStyle: "medium" }).format(new Date(`${value}T00:00:00Z`));
      }
      chip.querySelector(".chip-value").textContent = text;
    }
    closeAll(null);
    document.getElementById(focusId)?.focus();
  };

  // --- the title ---------------------------------------------------------------------------
  const titleForm = () => document.getElementById("title-edit");
  const editTitle = (heading) => {
    const form = titleForm();
    heading.hidden = true;
    form.hidden = false;
    form.elements.title.value = heading.textContent;
    form.elements.title.focus();
    form.elements.title.select();
  };
  const stopTitle = () => {
    const form = titleForm();
    const heading = document.getElementById("task-heading");
    form.hidden = true;
    heading.hidden = false;
    heading.focus();
  };
  document.addEventListener("click", (event) => {
    const heading = event.target.closest("h1[data-title-edit]");
    if (heading) editTitle(heading);
  });
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "title-edit") return;
    event.preventDefault();
    const title = event.target.elements.title.value.trim();
    if (!title || title === document.getElementById("task-heading").textContent) stopTitle();
    else send(event.target, { title }, "task-heading");
  });

  // --- the menus ---------------------------------------------------------------------------
  const popoverOf = (button) => document.getElementById(button.getAttribute("aria-controls"));
  const items = (popover) => [...popover.querySelectorAll("[role=menuitemradio]")];
  const close = (button, refocus) => {
    button.setAttribute("aria-expanded", "false");
    popoverOf(button).hidden = true;
    if (refocus) button.focus();
  };
  const closeAll = (except) => {
    for (const open of document.querySelectorAll(".menu-button[aria-expanded=true]")) {
      if (open !== except) close(open, false);
    }
  };
  const open = (button) => {
    closeAll(button);
    const popover = popoverOf(button);
    button.setAttribute("aria-expanded", "true");
    popover.hidden = false;
    const calendar = popover.querySelector(".calendar");
    if (calendar) show(calendar, calendar.dataset.selected || calendar.dataset.today);
    const first = items(popover).find((item) => item.getAttribute("aria-checked") === "true");
    (first ?? popover.querySelector("[role=menuitemradio], button[data-pick]"))?.focus();
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".menu-button");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") close(button, true);
      else open(button);
      return;
    }
    const pick = event.target.closest("[data-pick]");
    if (pick) {
      const chip = pick.closest(".chip");
      send(pick.form, { [pick.name]: pick.value }, chip.querySelector(".menu-button").id);
      return;
    }
    const day = event.target.closest(".calendar td[data-day]");
    if (day) {
      pickDay(day);
      return;
    }
    const step = event.target.closest(".calendar [data-month]");
    if (step) {
      const calendar = step.closest(".calendar");
      show(calendar, addMonths(calendar.dataset.focus, Number(step.dataset.month)), false);
      return;
    }
    if (!event.target.closest(".chip")) closeAll(null);
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("#title-edit") && event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      stopTitle();
      return;
    }
    if (target.matches("h1[data-title-edit]") && event.key === "Enter") {
      event.preventDefault();
      editTitle(target);
      return;
    }
    const chip = target.closest(".chip");
    if (!chip) return;
    const button = chip.querySelector(".menu-button");
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      event.preventDefault();
      event.stopPropagation();
      close(button, true);
      return;
    }
    if (target.matches("[role=menuitemradio]")) {
      const all = items(chip);
      const at = all.indexOf(target);
      const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      all[(to + all.length) % all.length].focus();
      return;
    }
    if (target.matches(".calendar td[data-day]")) {
      calendarKey(event, target);
      return;
    }
    if (target.id === "due-words" && event.key === "Enter") {
      event.preventDefault();
      if (target.value.trim()) send(target.form, { due_words: target.value }, button.id);
    }
  }, true); // before the page's other keys (Esc here closes the menu, not what is behind it)

  document.addEventListener("focusout", (event) => {
    const chip = event.target.closest?.(".chip");
    const to = event.relatedTarget;
    if (chip && to instanceof Element && !chip.contains(to)) {
      const button = chip.querySelector(".menu-button");
      if (button.getAttribute("aria-expanded") === "true") close(button, false);
    }
  });

  // --- the calendar (dates as "YYYY-MM-DD", reckoned in UTC so that no clock change moves them)
  const parse = (iso) => new Date(`${iso}T00:00:00Z`);
  const iso = (date) => date.toISOString().slice(0, 10);
  const addDays = (day, by) => iso(new Date(parse(day).getTime() + by * 86400000));
  const addMonths = (day, by) => {
    const date = parse(day);
    const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + by, 1));
    const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0));
    target.setUTCDate(Math.min(date.getUTCDate(), last.getUTCDate()));
    return iso(target);
  };

  // The month of `focus`, a row per week, the focused day the grid's one stop for Tab.
  function show(calendar, focus, moveFocus) {
    const { lang, first, today, selected } = calendar.dataset;
    calendar.dataset.focus = focus;
    const date = parse(focus);
    const month = date.getUTCMonth();
    const format = (options) => new Intl.DateTimeFormat(lang, { timeZone: "UTC", ...options });
    calendar.querySelector(".month").textContent = format({ month: "long", year: "numeric" }).format(date);
    const start = new Date(Date.UTC(date.getUTCFullYear(), month, 1));
    start.setUTCDate(1 - ((start.getUTCDay() - Number(first) + 7) % 7)); // the week's first day
    const head = calendar.querySelector("thead tr");
    head.replaceChildren();
    for (let i = 0; i < 7; i += 1) {
      const day = new Date(start.getTime() + i * 86400000);
      const th = document.createElement("th");
      th.scope = "col";
      th.abbr = format({ weekday: "long" }).format(day);
      th.textContent = format({ weekday: "short" }).format(day);
      head.append(th);
    }
    const body = calendar.querySelector("tbody");
    body.replaceChildren();
    const full = format({ dateStyle: "full" });
    const days = new Date(Date.UTC(date.getUTCFullYear(), month + 1, 0)).getUTCDate();
    const before = (new Date(Date.UTC(date.getUTCFullYear(), month, 1)).getUTCDay() - Number(first) + 7) % 7;
    let cursor = start;
    for (let week = 0; week < Math.ceil((before + days) / 7); week += 1) {
      const row = document.createElement("tr");
      for (let i = 0; i < 7; i += 1) {
        const cell = document.createElement("td");
        if (cursor.getUTCMonth() === month) {
          const day = iso(cursor);
          cell.dataset.day = day;
          cell.textContent = String(cursor.getUTCDate());
          cell.setAttribute("aria-label", full.format(cursor));
          cell.setAttribute("aria-selected", String(day === selected));
          cell.tabIndex = day === focus ? 0 : -1;
          if (day === today) cell.setAttribute("aria-current", "date");
        }
        row.append(cell);
        cursor = new Date(cursor.getTime() + 86400000);
      }
      body.append(row);
    }
    if (moveFocus) calendar.querySelector(`td[data-day="${focus}"]`)?.focus();
  }

  function calendarKey(event, cell) {
    const calendar = cell.closest(".calendar");
    const day = cell.dataset.day;
    const weekday = (parse(day).getUTCDay() - Number(calendar.dataset.first) + 7) % 7;
    const moves = {
      ArrowLeft: () => addDays(day, -1),
      ArrowRight: () => addDays(day, 1),
      ArrowUp: () => addDays(day, -7),
      ArrowDown: () => addDays(day, 7),
      Home: () => addDays(day, -weekday),
      End: () => addDays(day, 6 - weekday),
      PageUp: () => addMonths(day, -1),
      PageDown: () => addMonths(day, 1),
    };
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      pickDay(cell);
    } else if (moves[event.key]) {
      event.preventDefault();
      show(calendar, moves[event.key](), true);
    }
  }

  function pickDay(cell) {
    const form = cell.closest("form");
    send(form, { due: cell.dataset.day }, "due-button");
  }

  // --- a title in a list's row --------------------------------------------------------------
  // Each row the person may change (one with its checkbox) gets `Edit title` after its title:
  // a box in the title's place, Enter saves (the row's own post, /app/tasks/{id}/title,
  // answered by the row as it now is), Esc cancels, the focus back on the button either way.
  const ROW = "#tasks-part ul.tasks li.task";
  const words = () => document.getElementById("tasks-part")?.dataset;
  const titleLink = (row) => row.querySelector(":scope > .body > a");
  const editButtons = () => {
    const said = words();
    if (!said?.editTitle) return;
    for (const row of document.querySelectorAll(ROW)) {
      if (row.querySelector(":scope > .edit-title") || !row.querySelector(":scope > .check")) continue;
      const link = titleLink(row);
      if (!link || row.classList.contains("waiting")) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "edit-title quiet";
      button.textContent = "✎";
      button.setAttribute("aria-label", said.editTitle.replace("{title}", link.textContent));
      row.querySelector(":scope > .body").after(button);
    }
  };
  document.addEventListener("DOMContentLoaded", editButtons);
  document.addEventListener("htmx:load", editButtons);
  document.addEventListener("app:live", editButtons); // (live.js: before it focuses again)
  new MutationObserver(editButtons).observe(document.documentElement, { childList: true, subtree: true });

  // Back to the row's own button: `Edit` where it shows, else (a phone, a board's card, where
  // `More…` alone is shown) `More…`, which rows.js adds to a row made anew a moment later.
  const focusRow = (row) => {
    const edit = row.querySelector(":scope > .edit-title");
    if (edit && edit.getClientRects().length) return edit.focus();
    requestAnimationFrame(() => (row.querySelector(":scope > .row-more") ?? titleLink(row))?.focus());
  };
  const stopRow = (form) => {
    const row = form.closest("li.task");
    form.remove();
    titleLink(row).hidden = false;
    focusRow(row);
  };
  const editRow = (button) => {
    const row = button.closest("li.task");
    const link = titleLink(row);
    if (row.querySelector(".row-title")) return;
    const form = document.createElement("form");
    form.className = "row-title";
    form.dataset.liveHold = ""; // (live.js leaves the list as it is while the box is open)
    const box = document.createElement("input");
    box.name = "text"; // (as quick add's box: its date words highlighted as typed, below)
    box.required = true;
    box.autocomplete = "off";
    box.value = link.textContent;
    box.setAttribute("aria-label", words().editLabel);
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.id = `${row.id}-title-hint`;
    hint.textContent = words().editHint;
    box.setAttribute("aria-describedby", hint.id);
    // The date words read as one types: quick add's preview, of a title's dates only (they go
    // into the due date on saving: list_pages.retitle).
    const preview = document.createElement("div");
    preview.className = "preview";
    preview.id = `${row.id}-preview`;
    preview.setAttribute("aria-live", "polite");
    for (const [name, value] of [["csrf_token", document.getElementById("rows").elements.csrf_token.value], ["dates", "1"]]) {
      form.append(Object.assign(document.createElement("input"), { type: "hidden", name, value }));
    }
    Object.entries({ "hx-post": "/app/quick/preview", "hx-trigger": "input changed delay:300ms", "hx-target": `#${preview.id}`, "hx-sync": "this:replace" })
      .forEach(([name, value]) => box.setAttribute(name, value));
    form.append(box, hint, preview);
    link.hidden = true;
    link.after(form);
    window.htmx?.process(form);
    box.focus();
    box.select();
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.(`${ROW} > .edit-title`);
    if (button) editRow(button);
  });
  document.addEventListener("keydown", (event) => {
    const form = event.target.closest?.(".row-title");
    if (form && event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // (not the list's Esc: a selection's, the task beside it)
      stopRow(form);
    }
  }, true);
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList?.contains("row-title")) return;
    event.preventDefault();
    const row = form.closest("li.task");
    const title = form.elements.text.value.trim();
    if (!title || title === titleLink(row).textContent) return stopRow(form);
    const body = new FormData();
    const rows = document.getElementById("rows");
    body.append("csrf_token", rows.elements.csrf_token.value);
    body.append("back", rows.elements.back.value);
    body.append("title", title);
    if (row.parentElement.closest("li.task")) body.append("under", "1"); // (shown under its parent)
    const id = row.id.replace(/^task-/, "");
    const answer = await fetch(`/app/tasks/${id}/title`, { method: "POST", body, credentials: "same-origin" });
    if (!answer.ok) {
      let alert = form.querySelector("[role=alert]");
      if (!alert) {
        alert = document.createElement("p");
        alert.className = "message";
        alert.setAttribute("role", "alert");
        form.append(alert);
      }
      alert.textContent = answer.status === 400 ? await answer.text() : answer.statusText;
      form.elements.text.setAttribute("aria-invalid", "true");
      return;
    }
    const made = new DOMParser().parseFromString(await answer.text(), "text/html").querySelector("li.task");
    if (!made) return location.reload();
    const kept = row.querySelector(":scope > ul.subtasks");
    if (kept) made.append(kept);
    row.replaceWith(made);
    window.htmx?.process(made);
    editButtons();
    focusRow(made);
  });

  // --- words read back as one types ----------------------------------------------------------
  let asked = 0;
  let timer = null;
  document.addEventListener("input", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.words) return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const into = document.getElementById(box.dataset.wordsInto);
      const mine = (asked += 1);
      if (!box.value.trim()) {
        into.replaceChildren();
        return;
      }
      const body = new FormData();
      body.append("csrf_token", box.form.elements.csrf_token.value);
      body.append(box.name, box.value);
      const answer = await fetch(box.dataset.words, { method: "POST", body, credentials: "same-origin" });
      const html = await answer.text();
      if (mine === asked) into.innerHTML = html; // the server's escaped fragment
      keepInView();
    }, 250);
  });

  // A phone's keyboard covers half the screen: the Due menu's box and what it reads back stay
  // in view as the box takes the focus, as the keyboard opens (the visual viewport shrinks) and
  // as the words are read.
  const keepInView = () => {
    const box = document.activeElement;
    if (!box?.matches?.("#due-words")) return;
    box.scrollIntoView({ block: "nearest" });
    document.getElementById("due-words-read")?.scrollIntoView({ block: "nearest" });
  };
  document.addEventListener("focusin", (event) => {
    if (event.target.matches?.("#due-words")) requestAnimationFrame(keepInView);
  });
  window.visualViewport?.addEventListener("resize", keepInView);
})();
