// The query page: YASGUI talking to this server only, with our prefixes, completions from our own graph and every
// named query as an example tab; result downloads in every format the endpoint speaks.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("query-config").textContent);
  const Yasqe = Yasgui.Yasqe;

  // Completion of classes and properties from this graph, instead of YASQE's default remote vocabulary service;
  // prefixes complete from the list bundled with YASQE (prefixCcApi stays null: no remote look-up).
  Yasqe.forkAutocompleter("class", { name: "graphClasses", bulk: true, get: config.completions.classes, persistenceId: null }, false);
  Yasqe.forkAutocompleter("property", { name: "graphProperties", bulk: true, get: config.completions.properties, persistenceId: null }, false);
  // Assigned, not merged: YASGUI merges configuration arrays index by index, which would keep the remote completers.
  Yasqe.defaults.autocompleters = ["prefixes", "variables", "graphClasses", "graphProperties"];
  Yasqe.defaults.prefixCcApi = null;
  Yasqe.defaults.value = config.newTabQuery;
  Yasqe.defaults.collapsePrefixesOnLoad = true;
  Yasgui.Yasr.registerPlugin("chart", window.MlcloudkgChart);

  const forced = (tab) => ({ ...tab, requestConfig: { ...tab.requestConfig, endpoint: config.endpoint, args: [] } });
  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    persistenceId: config.workspace,
    copyEndpointOnNewTab: false,
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    // Only our endpoint is offered, and a link cannot point the page at another one.
    endpointCatalogueOptions: { getData: () => [{ endpoint: config.endpoint }] },
    populateFromUrl: forced,
    yasr: { prefixes: config.prefixes },
  });

  const examples = new Map(config.examples.map((example) => [example.title, example]));
  const tabs = () => Object.values(yasgui._tabs);
  const tabNamed = (name) => tabs().find((tab) => tab.getName() === name);
  for (const tab of tabs()) tab.setEndpoint(config.endpoint);
  for (const example of config.examples) {
    if (!tabNamed(example.title)) yasgui.addTab(false, { name: example.title, yasqe: { value: example.query } });
  }

  // The example list below the editor selects the example's tab instead of reloading the page.
  document.querySelectorAll("a[data-example]").forEach((link) => {
    link.addEventListener("click", (event) => {
      const example = config.examples.find((e) => e.name === link.dataset.example);
      let tab = tabNamed(example.title);
      if (!tab) tab = yasgui.addTab(true, { name: example.title, yasqe: { value: example.query } });
      yasgui.selectTabId(tab.getId());
      // Smooth only for those who have not asked their system for less motion.
      const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      document.getElementById("yasgui").scrollIntoView({ behavior: still ? "auto" : "smooth" });
      event.preventDefault();
    });
  });

  // What the current tab's example is about.
  const description = document.getElementById("example-description");
  const describe = () => {
    const example = examples.get(yasgui.getTab().getName());
    const parts = example ? [example.answers, example.description].filter(Boolean) : [];
    description.replaceChildren(...parts.map((text, index) => {
      const span = document.createElement("span");
      span.className = index === 0 && example.answers ? "answers" : "about";
      span.textContent = text + " ";
      return span;
    }));
  };

  // Links in results to our resources go to their pages on this site.
  const base = "https://w3id.org/mlcloudkg/";
  const localise = (root) => {
    root.querySelectorAll(`a[href^="${base}"]`).forEach((a) => {
      const path = a.getAttribute("href").slice(base.length);
      if (/^(id\/|source\/|graph\/|ontology)/.test(path)) {
        a.setAttribute("href", "/" + path);
        a.removeAttribute("target");
      }
    });
  };

  // Downloads of the current tab's results, in every format the endpoint offers for its kind of query.
  const downloads = document.getElementById("result-downloads");
  const buttons = downloads.querySelector(".buttons");
  const status = downloads.querySelector(".download-status");
  const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "results";
  const kindOf = (yasqe) => (["CONSTRUCT", "DESCRIBE"].includes(yasqe.getQueryType()) ? "graph" : "results");

  async function download(format) {
    const tab = yasgui.getTab();
    status.textContent = `Preparing ${format.label}…`;
    try {
      const response = await fetch(config.endpoint, {
        method: "POST",
        headers: { Accept: format.mediaType, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ query: tab.getYasqe().getValue() }),
      });
      if (!response.ok) throw new Error(await response.text());
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = `${slug(tab.getName())}.${format.extension}`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      status.textContent = `Downloaded ${link.download}.`;
    } catch (error) {
      status.textContent = `The download failed: ${error.message}`;
    }
  }

  function showDownloads() {
    const tab = yasgui.getTab();
    const yasqe = tab && tab.getYasqe();
    if (!yasqe || !tab.getYasr().results) {
      downloads.hidden = true;
      return;
    }
    buttons.replaceChildren(
      ...config.formats[kindOf(yasqe)].map((format) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = format.label;
        button.setAttribute("aria-label", `Download the results as ${format.label}`);
        button.addEventListener("click", () => download(format));
        return button;
      }),
    );
    downloads.hidden = false;
  }

  function watch(tab) {
    const yasr = tab.getYasr();
    if (yasr && !yasr.mlcloudkgWatched) {
      yasr.mlcloudkgWatched = true;
      yasr.on("drawn", () => {
        localise(yasr.resultsEl);
        showDownloads();
      });
    }
  }

  yasgui.on("tabSelect", () => setTimeout(() => { describe(); watch(yasgui.getTab()); showDownloads(); }));
  yasgui.on("queryResponse", () => showDownloads());
  watch(yasgui.getTab());
  describe();
  showDownloads();
  localise(document.getElementById("yasgui"));
  window.mlcloudkgYasgui = yasgui; // for people (and tests) poking at the page
})();
