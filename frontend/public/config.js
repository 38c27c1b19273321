// Run-time configuration of the web IDE, loaded before the app.
// backendUrl: the gateway's base URL, e.g. "https://hma.example.org".
// Leave it empty to use the address this page was loaded from (the usual
// case: the gateway serves the IDE). See frontend/README.md.
window.HMA_CONFIG = window.HMA_CONFIG || { backendUrl: "" };
