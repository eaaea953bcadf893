// The printable sheet's Print button: a script file, as the page's policy runs no inline handler.
document.querySelector("[data-print]").addEventListener("click", () => window.print());
