// Draws the book's static explorers: each <div class="mapping-static-view"> holds a Vega-Lite
// spec (written by mapping_lib.static.book) that is drawn with the book's own copies of Vega,
// Vega-Lite and vega-embed. A spec whose usermeta asks for it gets a Play button that steps
// one slider parameter. Drawn views are listed in window.mappingStaticViews (the browser tests
// and bench/static_views.py move their controls through it).
(function () {
  "use strict";
  const views = (window.mappingStaticViews = window.mappingStaticViews || []);

  // Controls in the book's font, labels in one column, the chart scrolling if the page is narrow.
  const style = document.createElement("style");
  style.textContent = `
    .mapping-static-view { margin: 0.5em 0 1em; overflow-x: auto; }
    .mapping-static-view .vega-bindings { font: 0.9rem var(--pst-font-family-base, sans-serif); }
    .mapping-static-view .vega-bind-name { display: inline-block; min-width: 11em; }
    .mapping-static-view .vega-bind input[type="text"] { width: min(30em, 70vw); }
    .mapping-static-view-play { margin: 0.3em 0 0.3em 11em; padding: 0.1em 0.8em; }`;
  document.head.appendChild(style);

  function addPlayButton(container, view, request) {
    const name = request.play;
    const input = container.querySelector(`input[type="range"][name="${name}"]`);
    if (!input) {
      console.error(`static view: no slider named ${name} for the Play button`);
      return;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "mapping-static-view-play";
    button.textContent = "▶ Play";
    let timer = null;
    const stop = () => {
      clearInterval(timer);
      timer = null;
      button.textContent = "▶ Play";
    };
    button.addEventListener("click", () => {
      if (timer !== null) return stop();
      const low = Number(input.min), high = Number(input.max), step = Number(input.step) || 1;
      if (Number(view.signal(name)) >= high) view.signal(name, low);
      button.textContent = "❚❚ Pause";
      timer = setInterval(() => {
        const next = Math.min(high, Number(view.signal(name)) + step);
        view.signal(name, next).runAsync();
        if (next >= high) stop();
      }, request.interval_ms || 150);
    });
    input.closest(".vega-bind").after(button);
  }

  function draw(container) {
    const spec = JSON.parse(container.querySelector(".mapping-static-view-spec").textContent);
    const chart = container.querySelector(".mapping-static-view-chart");
    return vegaEmbed(chart, spec, { actions: false, renderer: "canvas" })
      .then((result) => {
        const request = (spec.usermeta || {}).mapping_lib;
        if (request && request.play) addPlayButton(container, result.view, request);
        views.push({ container: container, view: result.view });
        container.dataset.ready = "true";
      })
      .catch((error) => console.error("static view failed to draw:", error));
  }

  function drawAll() {
    window.mappingStaticViewsReady = Promise.all(
      Array.from(document.querySelectorAll(".mapping-static-view"), draw)
    );
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
