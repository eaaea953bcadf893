// Addresses a reader copies into another program (a GIS, a feed reader) written in full: the
// server writes them relative unless it knows its public URL (ALLIMI_PUBLIC_URL).
for (const element of document.querySelectorAll("[data-absolute]")) {
  element.textContent = new URL(element.textContent, window.location.href).href;
}
