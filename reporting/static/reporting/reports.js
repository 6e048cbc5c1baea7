// Draws the Reports page trend charts from the JSON the page embeds (no network: Chart.js is vendored).
function drawReportCharts() {
  const source = document.getElementById("reporting-chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const colours = ["#2e1f5e", "#007d7e", "#e9b04d", "#cd4444", "#4b81c3"];
  document.querySelectorAll("canvas[data-chart-index]").forEach(function (canvas) {
    const chart = data.charts[Number(canvas.dataset.chartIndex)];
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: chart.series.map(function (series, i) {
          return { label: series.label, data: series.data, borderColor: colours[i % colours.length],
                   backgroundColor: colours[i % colours.length], tension: 0.2, pointRadius: data.labels.length > 60 ? 0 : 2 };
        }),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { title: { display: true, text: chart.title } },
        scales: { y: { beginAtZero: true } },
      },
    });
    canvas.dataset.rendered = "true";
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", drawReportCharts);
} else {
  drawReportCharts();
}
