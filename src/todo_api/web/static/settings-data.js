// Your data: the import's upload progress, shown while htmx sends the file.
document.addEventListener("htmx:xhr:progress", (event) => {
  const progress = document.getElementById("import-progress");
  if (!progress || !event.detail.lengthComputable) return;
  progress.hidden = false;
  progress.value = Math.round((100 * event.detail.loaded) / event.detail.total);
});
document.addEventListener("htmx:afterRequest", () => {
  const progress = document.getElementById("import-progress");
  if (progress) progress.hidden = true;
});
