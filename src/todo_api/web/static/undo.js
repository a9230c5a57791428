// The line that takes a completed task's row (templates/_undo.html) offers Undo for 5 s, then
// goes. The focus, lost with the row, goes to Undo, then to the next row, or back to the row
// that Undo brought back.
let undoing = false; // Undo pressed with the focus on it: the row coming back takes the focus

document.addEventListener("htmx:beforeRequest", (event) => {
  const line = event.detail.elt.closest("li.undo");
  if (line) undoing = line.contains(document.activeElement);
});

document.addEventListener("htmx:load", (event) => {
  const added = event.detail.elt;
  if (!(added instanceof HTMLElement)) return;
  if (added.matches("li.task") && undoing) {
    undoing = false;
    added.tabIndex = -1;
    added.focus();
    return;
  }
  if (!added.matches("li.undo")) return;
  if (document.activeElement === document.body) added.querySelector("button")?.focus();
  const leave = () => {
    if (!added.isConnected) return; // undone: the row is back in its place
    if (added.querySelector(".htmx-request")) return setTimeout(leave, 250); // undoing now
    const had = added.contains(document.activeElement);
    const next = added.nextElementSibling ?? added.previousElementSibling;
    added.remove();
    if (had && next instanceof HTMLElement) {
      next.tabIndex = -1;
      next.focus();
    }
  };
  setTimeout(leave, 5000);
});
