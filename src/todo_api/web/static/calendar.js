// A calendar (templates/calendar.html, #cal-view[data-movable]): a task is dragged to another
// day, or moved from the keyboard with Alt+ArrowLeft/Right (a day) and Alt+ArrowUp/Down (a
// week), from the grid or from the chosen day's list; each move is one POST
// /app/tasks/{id}/day (the day it was shown on, and the new one: its time stays), said in the
// page's live region (#announce) and offered back with `Undo`. A later occurrence of a repeating
// task (data-fixed) stays where it is.
// A click on a day's empty space readies the day's quick add for that day. Without this file
// the month is links and forms.
(() => {
  const root = () => document.querySelector("#cal-view[data-movable]");
  const TASK = "#cal-view[data-movable] a.cal-task:not([data-fixed])";
  const csrf = () => document.querySelector('input[name="csrf_token"]')?.value ?? "";
  const shift = (day, days) => {
    const moment = new Date(`${day}T00:00:00Z`);
    moment.setUTCDate(moment.getUTCDate() + days);
    return moment.toISOString().slice(0, 10);
  };
  const cellOf = (day) => document.querySelector(`#cal-view td.cal-day[data-day="${day}"]`);
  const nameOf = (day) => cellOf(day)?.getAttribute("aria-label") ?? day;
  const titleOf = (link) => link.querySelector("span").textContent;
  const idOf = (link) => link.getAttribute("href").split("/").pop();
  const say = (words) => {
    const region = document.getElementById("announce");
    if (region) region.textContent = words;
  };
  // The link put in the day's cell (the cell's list made when it had none); its other copy
  // (in the grid, or in the chosen day's list) shown on the day it left goes.
  const place = (link, day, from) => {
    for (const other of document.querySelectorAll(`#cal-view a.cal-task[href="${link.getAttribute("href")}"]`)) {
      if (other !== link && dayOf(other) === from) other.closest("li").remove();
    }
    const cell = link.closest("tr")?.querySelector(`td[data-day="${day}"]`) ?? cellOf(day);
    const item = link.closest("li");
    if (!cell) { item.remove(); return; }
    let list = cell.querySelector("ul.cal-tasks");
    if (!list) {
      list = document.createElement("ul");
      list.className = "cal-tasks";
      cell.append(list);
    }
    list.append(item);
  };
  let undoBox = null;
  const offerUndo = (link, back, from) => {
    const calendar = root();
    undoBox?.remove();
    undoBox = document.createElement("div");
    undoBox.className = "undo cal-undo";
    const words = document.createElement("p");
    words.textContent = calendar.dataset.moved.replace("{title}", titleOf(link)).replace("{day}", nameOf(from));
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = calendar.dataset.undo;
    button.addEventListener("click", async () => {
      undoBox.remove();
      undoBox = null;
      if (await move(link, from, back, false)) {
        say(calendar.dataset.undone.replace("{title}", titleOf(link)));
        link.focus();
      }
    });
    undoBox.append(words, button);
    calendar.prepend(undoBox);
  };
  // Move the task shown on `from` to `day`: true when the server kept it.
  const move = async (link, day, from, undoable = true) => {
    const body = new FormData();
    body.set("csrf_token", csrf());
    body.set("day", day);
    body.set("from", from);
    const answer = await fetch(`/app/tasks/${idOf(link)}/day`, { method: "POST", body, credentials: "same-origin" });
    if (answer.status === 412) { location.reload(); return false; }
    if (!answer.ok) { say(await answer.text()); return false; }
    place(link, day, from);
    link.dataset.shownOn = day;
    if (undoable) {
      const calendar = root();
      say(calendar.dataset.moved.replace("{title}", titleOf(link)).replace("{day}", nameOf(day)));
      offerUndo(link, day, from);
    }
    return true;
  };
  const dayOf = (link) => link.dataset.shownOn ?? link.closest("[data-day]")?.dataset.day;

  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    const link = event.target.closest?.(TASK);
    if (!link || !link.closest("[data-day]")) return;
    dragged = link;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", idOf(link));
  });
  document.addEventListener("dragover", (event) => {
    if (dragged && event.target.closest?.("#cal-view td[data-day]")) event.preventDefault();
  });
  document.addEventListener("drop", async (event) => {
    const cell = event.target.closest?.("#cal-view td[data-day]");
    const link = dragged;
    dragged = null;
    if (!cell || !link) return;
    event.preventDefault();
    const from = dayOf(link);
    if (cell.dataset.day !== from) await move(link, cell.dataset.day, from);
  });
  document.addEventListener("dragend", () => { dragged = null; });

  const STEPS = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
  document.addEventListener("keydown", async (event) => {
    const link = event.target.closest?.(TASK);
    if (!link || !event.altKey || event.shiftKey || event.ctrlKey || !(event.key in STEPS)) return;
    const from = dayOf(link);
    if (!from) return;
    event.preventDefault();
    if (await move(link, shift(from, STEPS[event.key]), from)) link.focus();
  });

  // A click on a day (not on a task or its number): the day's quick add, for that day.
  document.addEventListener("click", (event) => {
    const cell = event.target.closest?.("#cal-view td.cal-day[data-day]");
    if (!cell || event.target.closest("a, button")) return;
    const form = document.querySelector("#cal-view form.cal-add");
    if (!form) return;
    form.elements.day.value = cell.dataset.day;
    const label = form.querySelector('label[for="quick-text"]');
    label.textContent = root()?.dataset.addOn.replace("{day}", cell.getAttribute("aria-label")) ?? label.textContent;
    document.getElementById("cal-day-heading").textContent = cell.getAttribute("aria-label");
    form.elements.text.focus();
  });
})();
