fetch("/api/health")
  .then((r) => r.json())
  .then((h) => {
    document.getElementById("summary").textContent =
      `${h.projects.toLocaleString()} projects · PostGIS ${h.postgis}`;
  });
