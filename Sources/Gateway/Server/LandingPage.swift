/// What `GET /` shows until the web IDE (frontend/) is served in its place:
/// the version and the live health of this node, read from `/health`.
enum LandingPage {
    static let html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>HMA</title>
        <style>body{font:16px system-ui,sans-serif;margin:3em;max-width:44em}code{background:#eee;padding:0 .3em}</style>
        </head><body>
        <h1>HMA gateway</h1>
        <p>This node is running. Health: <code id="health">checking…</code></p>
        <p>The web IDE is not part of this build yet; <a href="/health">/health</a> reports the node's state as JSON.</p>
        <script>
        fetch('/health').then(r => r.json()).then(h => {
          document.getElementById('health').textContent = h.status + ' (version ' + h.version + ', database ' + h.checks.database.status + ')';
        }).catch(e => { document.getElementById('health').textContent = 'unreachable: ' + e; });
        </script>
        </body></html>
        """
}
