// Loaded between require.js and embed-amd.js on pages with Jupyter widgets (see _config.yml,
// nb_ipywidgets_js). Two adjustments make the saved widgets render offline and without errors.
(function () {
  // 1. The ipywidgets HTML manager finds its fonts next to the URL that RequireJS gives its
  //    modules: point that URL at the copy this book serves instead of the page's folder.
  const staticRoot = new URL(".", document.currentScript.src).href; // .../_static/
  require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": staticRoot + "vendor/html-manager",
      "@jupyter-widgets": staticRoot + "vendor/html-manager",
    },
  });

  // 2. Widget labels are typeset with the MathJax 2 call MathJax.Hub.Queue(["Typeset", hub, el])
  //    (jupyter-widgets/ipywidgets#3829), which throws under the book's MathJax 3. Provide that
  //    one call on top of MathJax 3 once it has started.
  const hub = {
    Queue(...commands) {
      for (const command of commands) {
        if (Array.isArray(command) && command[0] === "Typeset" && command[2]) {
          command[2].classList.add("mathjax_process"); // the page body opts out of MathJax
          window.MathJax.typesetPromise([command[2]]).catch((error) => console.warn(error));
        }
      }
    },
  };
  const mathjax = (window.MathJax = window.MathJax || {});
  if (mathjax.version) {
    mathjax.Hub = hub; // MathJax 3 is already running
    return;
  }
  // MathJax 3 is still to load (deferred): it turns this object into its configuration.
  const startup = (mathjax.startup = mathjax.startup || {});
  const ready = startup.ready;
  startup.ready = function () {
    if (ready) {
      ready();
    } else {
      window.MathJax.startup.defaultReady();
    }
    window.MathJax.Hub = hub;
  };
})();
