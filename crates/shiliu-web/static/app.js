// Small enhancements; every page works without this file.
document.addEventListener("submit", (e) => {
  const msg = e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) e.preventDefault();
});
// On wide screens the menu is always shown: keep <details> open so keyboard users reach it.
const menu = document.querySelector("details.menu");
if (menu && window.matchMedia("(min-width: 720px)").matches) menu.open = true;
// Intake forms list every category's extra questions; show (and send) only the chosen one's.
const catSelect = document.querySelector("select[name=category_id]");
if (catSelect && document.querySelector("fieldset.questions")) {
  const sync = () => {
    for (const fs of document.querySelectorAll("fieldset.questions")) {
      const on = fs.dataset.category === catSelect.value;
      fs.hidden = !on;
      fs.disabled = !on;
    }
  };
  catSelect.addEventListener("change", sync);
  sync();
}
// A reply template fills the reply, which the handler may then edit.
for (const sel of document.querySelectorAll("select[name=reply_template]")) {
  sel.addEventListener("change", () => {
    const opt = sel.selectedOptions[0];
    const reply = sel.form.querySelector("textarea[name=reply]");
    if (opt && opt.dataset.body && reply) reply.value = opt.dataset.body;
  });
}
