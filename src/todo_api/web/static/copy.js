// A "copy" button: <button type="button" data-copy="#element-id"> copies that element's text
// (or an input's value) to the clipboard and says so in the button's own live region.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = "value" in source ? source.value : source.textContent;
  const said = button.querySelector("[data-copied]");
  try {
    await navigator.clipboard.writeText(text.trim());
    if (said) said.textContent = said.dataset.copied;
  } catch {
    // No clipboard (an insecure origin): the text is selectable on the page.
    if ("select" in source) source.select();
  }
});
