// The "Copy" button: copies the link's text (no inline script: the CSP forbids it).
const button = document.getElementById("copy-button");
if (button) {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    const status = document.getElementById("copy-status");
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Copied.";
    } catch {
      field.select();  // no clipboard permission: select it for Ctrl+C
      status.textContent = "Press Ctrl+C to copy.";
    }
  });
}
