// The phone's menu and the account menu. Below 768 px the lists' navigation (#lists) is a
// drawer behind the `Menu` button: it opens on a click, keeps the focus inside while open (Tab
// and Shift+Tab go round its controls), and closes with Esc, a tap outside it or choosing a
// list (the focus back on the button after Esc). Without this script the button stays hidden
// and a `Menu` link leads to the menu's page (/app/menu). The account menu (a <details>)
// closes with Esc and a tap outside it too.
(() => {
  const root = document.documentElement;
  const button = document.querySelector("[data-menu]");
  const link = document.querySelector("[data-menu-link]");
  // The header's account menu and a list's `View` and `More…` menus: disclosures that close
  // with Esc and a tap outside them.
  const MENUS = "details.account, details.view-menu, details.list-more";
  const openMenu = () => document.querySelector(`:is(${MENUS})[open]`);
  const drawer = () => document.getElementById("lists"); // live.js puts in new ones

  const shut = (focus) => {
    if (!root.hasAttribute("data-menu-open")) return;
    root.removeAttribute("data-menu-open");
    button.setAttribute("aria-expanded", "false");
    if (focus) button.focus();
  };

  // The list's search and filter (templates/list.html) are folded on a phone only: a wide
  // screen opens them (its CSS shows them anyway; this makes them open to the keyboard too).
  const wide = window.matchMedia("(min-width: 768px)");
  const unfold = () => {
    if (wide.matches) for (const tools of document.querySelectorAll("details.tools")) tools.open = true;
  };
  unfold();
  wide.addEventListener("change", unfold);
  document.addEventListener("htmx:load", unfold);

  if (button) {
    root.classList.add("has-drawer");
    button.hidden = false;
    if (link) link.hidden = true;
    button.addEventListener("click", () => {
      if (root.hasAttribute("data-menu-open")) return shut(false);
      root.setAttribute("data-menu-open", "");
      button.setAttribute("aria-expanded", "true");
      drawer()?.querySelector("a, input, button")?.focus();
    });
  }

  // The drawer's controls that take the focus, in order.
  const FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea";
  const controls = () =>
    [...(drawer()?.querySelectorAll(FOCUSABLE) ?? [])].filter((element) => element.checkVisibility());

  document.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && button && root.hasAttribute("data-menu-open")) {
      const all = controls();
      if (!all.length) return;
      const [first, last] = [all[0], all[all.length - 1]];
      const at = document.activeElement;
      const outside = !drawer().contains(at);
      if (event.shiftKey && (at === first || outside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (at === last || outside)) {
        event.preventDefault();
        first.focus();
      }
      return;
    }
    if (event.key !== "Escape") return;
    const menu = openMenu();
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    } else if (button) shut(true);
  });

  document.addEventListener("click", (event) => {
    const target = event.target;
    const menu = openMenu();
    if (menu && !menu.contains(target)) menu.open = false;
    if (!button || target.closest("[data-menu]")) return;
    const inside = drawer()?.contains(target);
    if (!inside || target.closest("nav a")) shut(false); // outside, or a list chosen
  });
})();
