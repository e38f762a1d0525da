/* A small canvas signature pad (no library, no CDN): pointer events (mouse, touch, pen) draw
   smooth strokes; on submit the drawing goes into the form as a PNG data URL. */
(function () {
  "use strict";

  function setup(form) {
    var canvas = form.querySelector("[data-signature-pad]");
    var input = form.querySelector("[data-signature-input]");
    var error = form.querySelector("[data-signature-error]");
    var clear = form.querySelector("[data-signature-clear]");
    if (!canvas || !input) return;
    var ctx = canvas.getContext("2d");
    var drawing = false, last = null, strokes = 0, ink = 0;

    function resize() {
      // Keep the drawing buffer in device pixels so strokes are sharp; the PNG stays a sane size.
      var ratio = Math.min(window.devicePixelRatio || 1, 2);
      var width = canvas.clientWidth || 600, height = canvas.clientHeight || 220;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 2.6;
      strokes = 0; ink = 0;
    }

    function point(e) {
      var r = canvas.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    }

    canvas.addEventListener("pointerdown", function (e) {
      e.preventDefault();
      canvas.setPointerCapture && canvas.setPointerCapture(e.pointerId);
      drawing = true;
      last = point(e);
      ctx.beginPath();
      ctx.arc(last.x, last.y, 1.2, 0, Math.PI * 2);
      ctx.fillStyle = "#111";
      ctx.fill();
      strokes += 1;
      if (error) error.hidden = true;
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      e.preventDefault();
      var p = point(e);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.quadraticCurveTo(last.x, last.y, (last.x + p.x) / 2, (last.y + p.y) / 2);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      ink += Math.abs(p.x - last.x) + Math.abs(p.y - last.y);
      last = p;
    });
    function end() { drawing = false; last = null; }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", end);

    if (clear) clear.addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      strokes = 0; ink = 0;
      input.value = "";
    });

    form.addEventListener("submit", function (e) {
      var method = form.querySelector("input[name=method]");
      if (method && method.value !== "手写签名") return;
      if (strokes === 0 || ink < 20) {
        e.preventDefault();
        if (error) error.hidden = false;
        return;
      }
      input.value = canvas.toDataURL("image/png");
    });

    resize();
    window.addEventListener("resize", function () { if (strokes === 0) resize(); });
  }

  document.querySelectorAll("form[data-signature-form]").forEach(setup);
})();
