// podium board: table sorting, the CV-vs-LB scatter, learning curves drawn on opening.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("board-data").textContent);

  // ---- sortable tables: click a header; numbers sort as numbers, blanks last ----
  function sortTable(table, col, type, ascending) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const key = (row) => {
      const cell = row.cells[col];
      const raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
      if (type === "num") {
        const v = parseFloat(raw);
        return Number.isNaN(v) ? null : v;
      }
      return raw.toLowerCase();
    };
    rows.sort((a, b) => {
      const ka = key(a), kb = key(b);
      if (ka === kb) return 0;
      if (ka === null || ka === "") return 1;
      if (kb === null || kb === "") return -1;
      return (ka < kb ? -1 : 1) * (ascending ? 1 : -1);
    });
    rows.forEach((row) => body.appendChild(row));
  }
  document.querySelectorAll("table.sortable").forEach((table) => {
    Array.from(table.tHead.rows[0].cells).forEach((th, col) => {
      th.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.from(th.parentNode.cells).forEach((c) => c.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        sortTable(table, col, th.dataset.type || "text", ascending);
      });
    });
  });

  // ---- the CV-vs-LB scatter: one trace of points per source, with its fitted line ----
  const colors = ["#1f77b4", "#ff7f0e"];
  const traces = [];
  data.fits.forEach((fit, i) => {
    traces.push({
      type: "scatter", mode: "markers", name: fit.label,
      x: fit.points.map((p) => p[0]), y: fit.points.map((p) => p[1]),
      text: fit.points.map((p) => p[2]), hovertemplate: "%{text}<br>CV %{x:.4f}<br>score %{y:.4f}<extra></extra>",
      // recorded LB points drawn larger, so a local point on the same spot leaves them visible
      marker: { size: i ? 7 : 12, color: colors[i % colors.length], symbol: i ? "diamond" : "circle" },
    });
  });
  data.fits.forEach((fit, i) => {
    if (fit.slope === null) return;
    const xs = fit.points.map((p) => p[0]);
    const lo = Math.min(...xs), hi = Math.max(...xs);
    const r = fit.r === null ? "" : `, r = ${fit.r.toFixed(3)}`;
    traces.push({
      type: "scatter", mode: "lines", name: `fit: ${fit.label}${r}`, hoverinfo: "skip",
      x: [lo, hi], y: [fit.slope * lo + fit.intercept, fit.slope * hi + fit.intercept],
      line: { dash: "dot", color: colors[i % colors.length] },
    });
  });
  const scatter = document.getElementById("cv-lb-scatter");
  if (scatter && window.Plotly) {
    Plotly.newPlot(scatter, traces, {
      title: { text: "CV vs leaderboard" }, height: 380, margin: { t: 40, r: 10 },
      xaxis: { title: { text: `CV ${data.metric}` } }, yaxis: { title: { text: "leaderboard" } },
      legend: { orientation: "h", y: -0.2 },
    }, { displaylogo: false, responsive: true });
  }

  // ---- learning curves: drawn when an experiment's details open ----
  function drawCurves(details) {
    const target = details.querySelector(".curves");
    const units = data.curves[details.dataset.experiment] || [];
    if (!target || target.dataset.drawn || !units.length || !window.Plotly) return;
    target.dataset.drawn = "1";
    const metricKey = `valid_${data.metric}`;
    const loss = document.createElement("div"), metric = document.createElement("div");
    loss.className = metric.className = "plot half";
    target.append(loss, metric);
    const line = (u, key, dash) => ({
      type: "scatter", mode: "lines", name: `${u.unit} ${key}`,
      x: u.rows.map((r) => r.epoch), y: u.rows.map((r) => r[key]), line: { dash },
    });
    const layout = (title) => ({
      title: { text: title }, height: 300, margin: { t: 40, r: 10 },
      xaxis: { title: { text: "epoch" } }, showlegend: units.length <= 6,
    });
    Plotly.newPlot(loss, units.flatMap((u) => [line(u, "train_loss", "solid"), line(u, "valid_loss", "dash")]),
      layout("loss (train solid, valid dashed)"), { displaylogo: false });
    Plotly.newPlot(metric, units.map((u) => line(u, metricKey, "solid")), layout(`valid ${data.metric}`),
      { displaylogo: false });
  }
  document.querySelectorAll("details.experiment").forEach((d) => {
    d.addEventListener("toggle", () => d.open && drawCurves(d));
    if (d.open) drawCurves(d);
  });
  if (location.hash.startsWith("#details-")) {
    const d = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (d) d.open = true;
  }
  document.querySelectorAll('td.name a[href^="#details-"]').forEach((a) =>
    a.addEventListener("click", () => {
      const d = document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1)));
      if (d) d.open = true;
    }));
  document.body.dataset.ready = "1";
})();
