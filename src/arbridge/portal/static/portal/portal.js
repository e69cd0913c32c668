// Disable a form's submit button once it is sent, so a double click sends it once.
// The server charges once anyway (the checkout's key is the charge's idempotency key).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches("form[data-once]")) return;
  form.querySelectorAll("button[type=submit]").forEach(function (button) {
    button.disabled = true;
    if (button.dataset.busy) button.textContent = button.dataset.busy;
  });
});
