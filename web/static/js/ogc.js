// The small map of an OGC API page (web/templates/ogc): the features of the page, read from its
// GeoJSON alternate, over the portal's base map. Every text comes from the data, so it is set as
// text, never as HTML.
(function () {
  const box = document.getElementById("ogc-map");
  if (!box || !window.L) return;
  const map = L.map(box, { maxZoom: 19 });
  const features = L.featureGroup().addTo(map);
  const style = { color: "#14365d", weight: 3, fillOpacity: 0.2 };

  function popup(feature) {
    const body = document.createElement("div");
    const link = document.createElement("a");
    link.href = `/ogc/collections/${encodeURIComponent(box.dataset.collection)}/items/${encodeURIComponent(feature.id)}?f=html`;
    link.textContent = `Feature ${feature.id}`;
    body.append(link);
    const properties = feature.properties || {};
    for (const name of ["code", "title", "name", "kind", "status"]) {
      if (properties[name] === undefined || properties[name] === null) continue;
      const value = properties[name];
      const line = document.createElement("div");
      line.textContent = `${name}: ${typeof value === "object" ? Object.values(value).join(" · ") : value}`;
      body.append(line);
    }
    return body;
  }

  const json = (url, accept) => fetch(url, { headers: { Accept: accept } }).then((r) => r.json());
  Promise.all([json("/api/config", "application/json"), json(box.dataset.features, "application/geo+json")])
    .then(([config, data]) => {
      const { url, attribution } = config.basemap;
      if (url) L.tileLayer(url, { attribution, maxZoom: 19 }).addTo(map);
      L.geoJSON(data, {
        style,
        pointToLayer: (feature, latlng) => L.circleMarker(latlng, { ...style, radius: 6 }),
        onEachFeature: (feature, layer) => layer.bindPopup(() => popup(feature)),
      }).eachLayer((layer) => features.addLayer(layer));
      const city = config.jurisdiction.bounds;
      if (features.getLayers().length) map.fitBounds(features.getBounds(), { maxZoom: 17, padding: [12, 12] });
      else if (city) map.fitBounds([[city[1], city[0]], [city[3], city[2]]]);
      else map.setView([0, 0], 1);
    })
    .catch(() => {
      box.hidden = true;
    });
})();
