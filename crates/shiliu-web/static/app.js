// Small enhancements; every page works without this file.
document.addEventListener("submit", (e) => {
  const msg = e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) e.preventDefault();
});
// On wide screens the menu is always shown: keep <details> open so keyboard users reach it.
const menu = document.querySelector("details.menu");
if (menu && window.matchMedia("(min-width: 720px)").matches) menu.open = true;
