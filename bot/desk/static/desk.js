// The desk's own script (served from this server; the CSP allows nothing inline): zoom and pan of document
// images, PDF page switching, and confirmation of bulk decisions. Pages work without it.
(function () {
  "use strict";
  function setScale(img, scale) {
    scale = Math.max(1, Math.min(8, scale));
    img.dataset.scale = String(scale);
    if (scale === 1) { img.dataset.x = "0"; img.dataset.y = "0"; }
    apply(img);
  }
  function apply(img) {
    var s = parseFloat(img.dataset.scale || "1"), x = parseFloat(img.dataset.x || "0"), y = parseFloat(img.dataset.y || "0");
    img.style.transform = "translate(" + x + "px," + y + "px) scale(" + s + ")";
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-zoom]");
    if (b) {
      var img = b.closest("figure").querySelector("img.zoomable");
      var s = parseFloat(img.dataset.scale || "1");
      setScale(img, b.dataset.zoom === "in" ? s * 1.5 : b.dataset.zoom === "out" ? s / 1.5 : 1);
      return;
    }
    var p = ev.target.closest(".pdf-page");
    if (p) {
      var im = p.closest("figure").querySelector("img.zoomable");
      im.src = p.dataset.src; setScale(im, 1);
    }
  });
  document.addEventListener("wheel", function (ev) {
    var img = ev.target.closest && ev.target.closest(".frame") && ev.target.closest(".frame").querySelector("img.zoomable");
    if (!img || !ev.ctrlKey && !ev.altKey) return;
    ev.preventDefault();
    setScale(img, parseFloat(img.dataset.scale || "1") * (ev.deltaY < 0 ? 1.2 : 1 / 1.2));
  }, { passive: false });
  var drag = null;
  document.addEventListener("mousedown", function (ev) {
    var img = ev.target.closest && ev.target.closest("img.zoomable");
    if (!img || img.dataset.scale === "1") return;
    drag = { img: img, x: ev.clientX - parseFloat(img.dataset.x || "0"), y: ev.clientY - parseFloat(img.dataset.y || "0") };
    ev.preventDefault();
  });
  document.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    drag.img.dataset.x = String(ev.clientX - drag.x); drag.img.dataset.y = String(ev.clientY - drag.y); apply(drag.img);
  });
  document.addEventListener("mouseup", function () { drag = null; });
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.dataset && ev.target.dataset.confirm;
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
})();
