// The console's few behaviours, as listeners rather than inline handlers, so the content
// security policy can forbid inline script.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  const name = event.target.dataset && event.target.dataset.selectAll;
  if (!name) return;
  document.querySelectorAll(`input[name="${name}"]`).forEach((box) => { box.checked = event.target.checked; });
});
