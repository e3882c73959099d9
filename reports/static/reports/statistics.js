// The statistics page's chart: the figures come from the page (json_script), the bar ⇄ line
// buttons rebuild the chart in the other type and each checkbox shows or hides its series.
// The current type and the visible series are kept on the canvas (data-chart-type,
// data-visible-series) so tests and styles can read the chart's state without script.
(() => {
  const canvas = document.getElementById("statistics-chart");
  const source = document.getElementById("statistics-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const colours = { total: "#1664ff", delivered: "#2ea121", failed: "#d83931", sending: "#b26a00" };
  const boxes = Array.from(document.querySelectorAll("input[data-series]"));
  const typeButtons = Array.from(document.querySelectorAll("button[data-chart-type]"));

  const visible = () => boxes.filter((box) => box.checked).map((box) => box.dataset.series);

  function build(type) {
    const shown = visible();
    return new Chart(canvas, {
      type,
      data: {
        labels: data.labels,
        datasets: Object.keys(data.series).map((name) => ({
          label: data.names[name],
          key: name,
          data: data.series[name],
          hidden: !shown.includes(name),
          backgroundColor: colours[name],
          borderColor: colours[name],
          tension: 0.2,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        // The checkboxes are the legend: one place to show and hide series.
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }

  let chart = build("bar");

  function record() {
    canvas.dataset.chartType = chart.config.type;
    canvas.dataset.visibleSeries = chart.data.datasets
      .filter((set, index) => chart.isDatasetVisible(index))
      .map((set) => set.key)
      .join(" ");
    typeButtons.forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.chartType === chart.config.type));
    });
  }

  typeButtons.forEach((button) => {
    button.addEventListener("click", () => {
      if (button.dataset.chartType === chart.config.type) return;
      chart.destroy();
      chart = build(button.dataset.chartType);
      record();
    });
  });
  boxes.forEach((box) => {
    box.addEventListener("change", () => {
      const index = chart.data.datasets.findIndex((set) => set.key === box.dataset.series);
      chart.setDatasetVisibility(index, box.checked);
      chart.update();
      record();
    });
  });
  record();
})();
