// Starts Swagger UI on /docs. A file, not an inline script, so the page keeps a CSP without 'unsafe-inline'.
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");
  SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // By default Swagger UI sends the document to validator.swagger.io for a badge: a request off the network.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
