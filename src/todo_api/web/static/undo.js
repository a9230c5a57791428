// The line that takes a completed task's row (templates/_undo.html) offers Undo for 5 s, then
// goes. The focus, lost with the row, goes to Undo, and then to the next row.
document.addEventListener("htmx:load", (event) => {
  const line = event.detail.elt;
  if (!(line instanceof HTMLElement) || !line.matches("li.undo")) return;
  if (document.activeElement === document.body) line.querySelector("button")?.focus();
  const leave = () => {
    if (!line.isConnected) return; // undone: the row is back in its place
    if (line.querySelector(".htmx-request")) return setTimeout(leave, 250); // undoing now
    const had = line.contains(document.activeElement);
    const next = line.nextElementSibling ?? line.previousElementSibling;
    line.remove();
    if (had && next instanceof HTMLElement) {
      next.tabIndex = -1;
      next.focus();
    }
  };
  setTimeout(leave, 5000);
});
