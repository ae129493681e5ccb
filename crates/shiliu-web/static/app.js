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
// Photos: the camera gives one photo at a time; each one taken is added to those already
// chosen (not put in their place), and their names are listed under the field.
for (const input of document.querySelectorAll("input[type=file][capture]")) {
  if (typeof DataTransfer === "undefined") break;
  const chosen = new DataTransfer();
  const list = document.createElement("ul");
  list.className = "chosen";
  input.insertAdjacentElement("afterend", list);
  input.addEventListener("change", () => {
    for (const f of input.files) {
      if (![...chosen.files].some((c) => c.name === f.name && c.size === f.size)) chosen.items.add(f);
    }
    input.files = chosen.files;
    list.replaceChildren(...[...chosen.files].map((f) => {
      const li = document.createElement("li");
      li.textContent = f.name;
      return li;
    }));
  });
}
// "Use my location": the browser's position goes into the hidden latitude and longitude and,
// readable, into the place (kept if the person already typed one). Without a position the
// place is typed as before.
for (const button of document.querySelectorAll("button[data-locate]")) {
  if (!("geolocation" in navigator)) continue;
  const form = button.form;
  const status = button.parentElement.querySelector("[role=status]");
  button.parentElement.hidden = false;
  button.addEventListener("click", () => {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      const lat = pos.coords.latitude.toFixed(6);
      const long = pos.coords.longitude.toFixed(6);
      form.querySelector("input[name=latitude]").value = lat;
      form.querySelector("input[name=longitude]").value = long;
      // On the public pick page the position itself is the answer: the server finds the county.
      if ("submit" in button.dataset) {
        form.submit();
        return;
      }
      const place = form.querySelector("input[name=place]");
      const at = `${lat},${long}`;
      // A step taken on the spot has no place to fill: the position goes with it as it is.
      if (!place) {
        status.textContent = `${button.dataset.at} ${at}`;
        button.disabled = false;
        return;
      }
      if (!place.value.includes(at)) {
        place.value = place.value.trim() ? `${place.value.trim()} (${at})` : `${button.dataset.at} ${at}`;
      }
      status.textContent = button.dataset.found;
      button.disabled = false;
    }, () => {
      status.textContent = button.dataset.failed;
      button.disabled = false;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
}
// Long forms in steps: one fieldset at a time, "Next" only once its fields are filled in as
// asked. Without this script every fieldset shows on one page; so does a form that came
// back with errors, so that every field the errors name is in sight.
for (const form of document.querySelectorAll("form.steps")) {
  const steps = [...form.querySelectorAll(":scope > fieldset.step")];
  const submit = form.querySelector(":scope > p.submit");
  if (steps.length < 2 || !submit || document.querySelector("div.error[role=alert]")) continue;
  const part = (tag, className, text) => {
    const e = document.createElement(tag);
    e.className = className;
    e.textContent = text;
    if (tag === "button") e.type = "button";
    return e;
  };
  const bar = part("p", "stepper", "");
  const back = part("button", "secondary back", form.dataset.back);
  const count = part("span", "count", "");
  const next = part("button", "next", form.dataset.next);
  bar.append(back, count, next);
  submit.insertAdjacentElement("beforebegin", bar);
  let at = 0;
  const show = (i) => {
    at = i;
    steps.forEach((s, j) => { s.hidden = j !== i; });
    back.style.visibility = i === 0 ? "hidden" : "visible";
    next.hidden = i === steps.length - 1;
    submit.hidden = i !== steps.length - 1;
    count.textContent = form.dataset.count.replace("{n}", i + 1).replace("{of}", steps.length);
  };
  const filled = (s) => [...s.querySelectorAll("input, select, textarea")]
    .filter((f) => !f.disabled && !f.closest("fieldset[disabled]"))
    .every((f) => f.reportValidity());
  next.addEventListener("click", () => {
    if (filled(steps[at])) { show(at + 1); steps[at].scrollIntoView({ block: "start" }); }
  });
  back.addEventListener("click", () => show(at - 1));
  // A field the browser finds wrong on sending is shown on its step.
  form.addEventListener("invalid", (e) => {
    const i = steps.findIndex((s) => s.contains(e.target));
    if (i >= 0 && i !== at) show(i);
  }, true);
  show(0);
}
// Pickers whose levels open one another (a province its cities, a city its counties): a pick
// fetches the groups around it, as the server would draw them after the form is sent.
// The button that opens the next level by sending the form (without JavaScript) is not needed.
for (const sel of document.querySelectorAll("select[data-source]")) {
  const open = document.querySelector(`button[data-opens="${sel.id}"]`);
  if (open) open.hidden = true;
  sel.addEventListener("change", async () => {
    const picked = sel.value;
    const res = await fetch(sel.dataset.source + encodeURIComponent(picked), {
      headers: { Accept: "application/json" },
    });
    if (!res.ok) return;
    const groups = await res.json();
    for (const g of sel.querySelectorAll("optgroup")) g.remove();
    for (const g of groups) {
      const og = document.createElement("optgroup");
      og.label = g.label;
      for (const [value, name] of g.options) og.append(new Option(name, value));
      sel.append(og);
    }
    sel.value = picked;
  });
}
// Pickers: typing narrows a long list of choices to the names (or headings) that contain what
// was typed, and picks the first match; the list alone works without this.
for (const box of document.querySelectorAll("input[data-picker]")) {
  const sel = document.getElementById(box.dataset.picker);
  if (!sel) continue;
  box.hidden = false;
  box.addEventListener("input", () => {
    const q = box.value.trim().toLowerCase();
    let first = null;
    for (const g of sel.querySelectorAll("optgroup")) {
      const all = g.label.toLowerCase().includes(q);
      let any = false;
      for (const o of g.querySelectorAll("option")) {
        const on = !q || all || o.text.toLowerCase().includes(q);
        o.hidden = !on;
        any = any || on;
        if (on && !first) first = o;
      }
      g.hidden = !any;
    }
    const cur = sel.selectedOptions[0];
    if (q && first && (!cur || !cur.value || cur.hidden)) sel.value = first.value;
  });
}

// The dashboard's print button: the browser's own print dialog (the print style lays the
// board out on one A4 landscape page). Without a script the button stays hidden and the
// browser's menu prints the same.
for (const button of document.querySelectorAll("button[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

// The wall screen reads its figures again every few minutes (`data-refresh`, in seconds): a
// screen nobody touches. A script rather than a <meta> refresh, which would reload any page
// it was copied into, and which checkers rightly refuse on pages people read and type in.
const refresh = Number(document.body.dataset.refresh);
if (refresh > 0) setTimeout(() => location.reload(), refresh * 1000);
