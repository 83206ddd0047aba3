// A chart view for YASR (YASGUI's results pane has none): a bar or line chart of the numeric columns of SELECT
// results, labelled by a text column, drawn with Chart.js from this server.
"use strict";

(function () {
  const XSD = "http://www.w3.org/2001/XMLSchema#";
  const NUMERIC = new Set(
    ["integer", "decimal", "double", "float", "int", "long", "short", "byte", "nonNegativeInteger",
      "positiveInteger", "nonPositiveInteger", "negativeInteger", "unsignedInt", "unsignedLong"].map((t) => XSD + t),
  );
  const isNumber = (binding) => binding && NUMERIC.has(binding.datatype);

  class MlcloudkgChart {
    constructor(yasr) {
      this.yasr = yasr;
      this.priority = 5; // below the table: offered, never the default
      this.label = "Chart";
      this.chart = undefined;
    }

    columns() {
      const results = this.yasr.results;
      const variables = results.getVariables();
      const rows = results.getBindings();
      const numeric = variables.filter((v) => rows.some((row) => isNumber(row[v])) && rows.every((row) => !row[v] || isNumber(row[v])));
      const text = variables.filter((v) => !numeric.includes(v));
      return { rows, numeric, text };
    }

    canHandleResults() {
      const results = this.yasr.results;
      if (!results || !results.getBindings || !results.getVariables || !results.getBindings()) return false;
      const { rows, numeric } = this.columns();
      return rows.length > 0 && numeric.length > 0;
    }

    shorten(binding) {
      if (!binding) return "";
      if (binding.type !== "uri") return binding.value;
      const prefixes = this.yasr.getPrefixes();
      for (const [name, namespace] of Object.entries(prefixes)) {
        if (binding.value.startsWith(namespace)) return `${name}:${binding.value.slice(namespace.length)}`;
      }
      return binding.value;
    }

    settings() {
      const { rows, numeric, text } = this.columns();
      const saved = this.yasr.getPersistentConfig().pluginsConfig?.chart || {};
      // Names read better than IRIs: label by the first column of literals, if there is one.
      const literal = text.find((v) => rows.some((row) => row[v] && row[v].type !== "uri"));
      return {
        type: ["bar", "line"].includes(saved.type) ? saved.type : "bar",
        label: text.includes(saved.label) ? saved.label : literal || text[0] || "",
        // One column by default: columns of different units on one axis hide each other.
        values: saved.values === "*" || numeric.includes(saved.values) ? saved.values : numeric[0],
        numeric,
        text,
      };
    }

    control(labelText, options, value, onChange) {
      const id = `chart-${labelText.toLowerCase().replace(/\W+/g, "-")}-${Math.random().toString(36).slice(2, 8)}`;
      const wrapper = document.createElement("span");
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = labelText;
      const select = document.createElement("select");
      select.id = id;
      for (const [optionValue, optionText] of options) {
        const option = new Option(optionText, optionValue, false, optionValue === value);
        select.add(option);
      }
      select.addEventListener("change", () => onChange(select.value));
      wrapper.append(label, " ", select);
      return wrapper;
    }

    draw() {
      const settings = this.settings();
      const { rows } = this.columns();
      const store = (change) => {
        const { type, label, values } = settings;
        this.yasr.storePluginConfig("chart", { type, label, values, ...change });
        this.yasr.draw();
      };
      const container = document.createElement("div");
      container.className = "mlcloudkg-chart";
      const controls = document.createElement("div");
      controls.className = "chart-controls";
      controls.append(
        this.control("Chart", [["bar", "Bars"], ["line", "Line"]], settings.type, (type) => store({ type })),
        " ",
        this.control("Values", [...settings.numeric.map((v) => [v, `?${v}`]), ["*", "All numeric columns"]], settings.values, (values) => store({ values })),
        " ",
        this.control("Labels from", settings.text.map((v) => [v, `?${v}`]), settings.label, (label) => store({ label })),
      );
      const shown = settings.values === "*" ? settings.numeric : [settings.values];
      const figure = document.createElement("figure");
      const canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Chart of ${shown.map((v) => "?" + v).join(", ")} by ?${settings.label}`);
      figure.append(canvas);
      container.append(controls, figure);
      this.yasr.resultsEl.appendChild(container);

      if (this.chart) this.chart.destroy();
      this.chart = new Chart(canvas, {
        type: settings.type,
        data: {
          labels: rows.map((row) => this.shorten(row[settings.label])),
          datasets: shown.map((v) => ({
            label: `?${v}`,
            data: rows.map((row) => (isNumber(row[v]) ? Number(row[v].value) : null)),
          })),
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false, spanGaps: true },
      });
    }

    destroy() {
      if (this.chart) this.chart.destroy();
      this.chart = undefined;
    }

    getIcon() {
      const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      icon.setAttribute("viewBox", "0 0 24 24");
      icon.setAttribute("aria-hidden", "true");
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", "M3 21h18v-2H3v2zm2-4h3V9H5v8zm5 0h3V4h-3v13zm5 0h3v-6h-3v6z");
      icon.appendChild(path);
      return icon;
    }
  }

  window.MlcloudkgChart = MlcloudkgChart;
})();
