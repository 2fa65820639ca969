// Each form's button writes what was entered below it, so a check can read the whole form at once.
function report(form, title) {
  const parts = [];
  for (const el of form.elements) {
    if (!el.name) continue;
    if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
    parts.push(el.name + "=" + el.value);
  }
  document.getElementById("result").textContent = title + ": " + parts.join("; ");
}
