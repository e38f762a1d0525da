/* Starts Swagger UI on /api/v1/docs (templates/swagger_ui.html): no inline script, so the page
   works under the Content-Security-Policy without 'unsafe-inline'. */
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui-container");
  var config = {url: box.dataset.specUrl, dom_id: "#swagger-ui-container"};
  var extra = JSON.parse(box.dataset.config || "{}");
  for (var name in extra) { if (Object.prototype.hasOwnProperty.call(extra, name)) { config[name] = extra[name]; } }
  window.addEventListener("load", function () { window.ui = SwaggerUIBundle(config); });
})();
