// A list's board (the element marked data-board): a column per section, each of cards.
// A card is dragged to another place or column, or moved from the keyboard: Alt+ArrowLeft and
// Alt+ArrowRight to the neighbouring column, Alt+ArrowUp and Alt+ArrowDown within its own;
// each move is one POST /app/tasks/{id}/move (its section, and the card now above it, or
// below it) and is said in the page's live region (#announce). A column (a section; not
// "(No section)", always first) is moved by dragging its heading or Alt+Shift+ArrowLeft and
// Alt+Shift+ArrowRight from anything in it: POST /app/sections/{id}/move. Saves go one after
// the other; one refused reloads the board as it is kept. As reorder.js, each move is told to
// live.js ("app:edited") and the board is held from its refreshes until saved.
(() => {
  const BOARD = ".board[data-board]";
  const CARD = `${BOARD} ul.cards > li.task`;
  const COLUMN = `${BOARD} > section.column[data-section]`;
  const columnsOf = (board) => [...board.querySelectorAll(":scope > section.column[data-section]")];
  const cardsOf = (column) => [...column.querySelectorAll(":scope ul.cards > li.task")];
  const idOf = (card) => card.id.replace(/^task-/, "");
  const titleOf = (card) => card.querySelector(".body a").textContent;
  const nameOf = (column) => column.querySelector("h2").textContent;
  const isSection = (column) => column.dataset.section !== "none";
  // A board in another order than the list's own (by due date, say): a card goes to another
  // column, where the order puts it, and its own column keeps the order.
  const sorted = (board) => "sorted" in board.dataset;
  // Made draggable as the pointer goes down on it: a board put in again by live.js or htmx
  // is ready as well, with nothing to run over it.
  document.addEventListener("pointerdown", (event) => {
    const held = event.target.closest?.(`${CARD}, ${COLUMN} > .column-head`);
    if (!held) return;
    // Not from a box being typed in or chosen from (a card's Move to…).
    const typing = event.target.closest("input, select, textarea");
    held.draggable = !typing && (held.matches(CARD) || isSection(held.parentElement));
    // Held from live.js from the press on: a board put in again between the press and the
    // drag's start would leave the pointer on an element no longer there.
    if (held.draggable) held.closest(BOARD).dataset.liveHold = "";
  });
  const released = () => {
    const board = document.querySelector(BOARD);
    if (board && !dragged && unsaved === 0) delete board.dataset.liveHold;
  };
  document.addEventListener("pointerup", released);
  document.addEventListener("pointercancel", released);

  const edited = () => document.dispatchEvent(new Event("app:edited"));
  const say = (text) => {
    document.getElementById("announce").textContent = text;
  };
  const counted = (board) => {
    for (const column of columnsOf(board)) {
      const count = column.querySelector(".count");
      if (count) count.textContent = String(cardsOf(column).length);
    }
  };
  let dragged = null; // a card or a column, while it is dragged
  let saving = Promise.resolve();
  let unsaved = 0;
  function queue(board, send) {
    edited();
    unsaved += 1;
    board.dataset.liveHold = "";
    saving = saving.then(async () => {
      const token = document.querySelector('input[name="csrf_token"]').value;
      const body = new URLSearchParams({ csrf_token: token });
      const [path, done] = send(body);
      const answer = await (window.appOffline?.post(path, body) ?? fetch(path, { method: "POST", body }));
      edited();
      if (answer && !answer.ok) return location.reload(); // none: kept offline (static/offline.js)
      say(done());
    }).finally(() => {
      unsaved -= 1;
      if (unsaved === 0 && !dragged) delete board.dataset.liveHold;
    });
  }

  function saveCard(card) {
    const board = card.closest(BOARD);
    counted(board);
    queue(board, (body) => {
      const column = card.closest("section.column");
      const all = cardsOf(column);
      const at = all.indexOf(card);
      body.set("section_id", column.dataset.section);
      if (!sorted(board)) {
        if (at > 0) body.set("after", idOf(all[at - 1]));
        else if (all.length > 1) body.set("before", idOf(all[1]));
      } // else its place in the column is the order's
      const done = () => board.dataset.cardMoved
        .replace("{title}", () => titleOf(card))
        .replace("{section}", () => nameOf(column))
        .replace("{position}", String(at + 1))
        .replace("{count}", String(all.length));
      return [`/app/tasks/${idOf(card)}/move`, done];
    });
  }

  function saveColumn(column) {
    const board = column.closest(BOARD);
    queue(board, (body) => {
      const sections = columnsOf(board).filter(isSection);
      const at = sections.indexOf(column);
      if (at > 0) body.set("after", sections[at - 1].dataset.section);
      else if (sections.length > 1) body.set("before", sections[1].dataset.section);
      const done = () => board.dataset.columnMoved
        .replace("{name}", () => nameOf(column))
        .replace("{position}", String(at + 1))
        .replace("{count}", String(sections.length));
      return [`/app/sections/${column.dataset.section}/move`, done];
    });
  }

  // The column placed before `other` (or after it: `after`), keeping "(No section)" first.
  function placeColumn(column, other, after) {
    if (!other || other === column || !isSection(other)) return false;
    other.parentElement.insertBefore(column, after ? other.nextSibling : other);
    return true;
  }

  document.addEventListener("keydown", (event) => {
    const arrows = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];
    if (!event.altKey || event.ctrlKey || event.metaKey || !arrows.includes(event.key)) return;
    const column = event.target.closest?.(COLUMN);
    if (!column) return;
    const board = column.closest(BOARD);
    const focused = document.activeElement;
    const columns = columnsOf(board);
    const step = event.key === "ArrowLeft" || event.key === "ArrowUp" ? -1 : 1;
    if (event.shiftKey) {
      if (event.key === "ArrowUp" || event.key === "ArrowDown" || !isSection(column)) return;
      event.preventDefault();
      const other = columns[columns.indexOf(column) + step];
      if (!placeColumn(column, other, step > 0)) return;
      focused.focus();
      saveColumn(column);
      return;
    }
    const card = event.target.closest?.("li.task");
    if (!card || card.parentElement.closest("li.task")) return; // a subtask goes with its parent
    const within = event.key === "ArrowUp" || event.key === "ArrowDown";
    if (within && sorted(board)) return;
    event.preventDefault();
    if (within) {
      const all = cardsOf(column);
      const other = all[all.indexOf(card) + step];
      if (!other) return;
      other.parentElement.insertBefore(card, step < 0 ? other : other.nextSibling);
    } else {
      const other = columns[columns.indexOf(column) + step];
      if (!other) return;
      const at = cardsOf(column).indexOf(card);
      const there = cardsOf(other);
      const list = other.querySelector("ul.cards");
      list.insertBefore(card, there[at] ?? null);
      card.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    focused.focus(); // moved in the page, it lost the focus
    saveCard(card);
  });

  let before = "";
  const where = (board) => columnsOf(board)
    .map((column) => `${column.dataset.section}:${cardsOf(column).map(idOf).join()}`).join(";");
  document.addEventListener("dragstart", (event) => {
    const head = event.target.closest?.(`${COLUMN} > .column-head`);
    dragged = head ? head.parentElement : event.target.closest?.(CARD) ?? null;
    if (!dragged) return;
    const board = dragged.closest(BOARD);
    before = where(board);
    board.dataset.liveHold = ""; // live.js leaves the board alone while a card is held
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", head ? nameOf(dragged) : titleOf(dragged));
    dragged.classList.add("dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const board = dragged.closest(BOARD);
    const column = event.target.closest?.("section.column[data-section]");
    if (!column || column.parentElement !== board) return;
    event.preventDefault(); // a place to drop on
    if (dragged.matches("section.column")) {
      if (column === dragged) return;
      const box = column.getBoundingClientRect();
      placeColumn(dragged, column, event.clientX > box.left + box.width / 2);
      return;
    }
    const card = event.target.closest("li.task");
    const list = column.querySelector("ul.cards");
    if (card === dragged) return;
    if (sorted(board)) {
      if (dragged.parentElement !== list) list.append(dragged);
      return;
    }
    if (card && card.parentElement === list) {
      const box = card.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? card.nextSibling : card);
    } else if (!card && dragged.parentElement !== list) {
      list.append(dragged);
    }
  });
  document.addEventListener("drop", (event) => {
    if (dragged) event.preventDefault();
  });
  document.addEventListener("dragend", () => {
    if (!dragged) return;
    const moved = dragged;
    dragged = null;
    moved.classList.remove("dragging");
    const board = moved.closest(BOARD);
    if (board && unsaved === 0) delete board.dataset.liveHold;
    if (!moved.isConnected || where(board) === before) return;
    if (moved.matches("section.column")) saveColumn(moved);
    else saveCard(moved);
  });
})();
