/// What `GET /` shows until the web IDE (frontend/) is built: the version,
/// the live health of this node, and whether this browser is signed in.
enum LandingPage {
    static func html(signedIn: Bool) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>HMA</title>
        <style>body{font:16px system-ui,sans-serif;margin:3em;max-width:44em}code{background:#eee;padding:0 .3em}</style>
        </head><body>
        <h1>HMA gateway</h1>
        <p>This node is running.</p>
        <p>\(signedIn ? "You are signed in." : "You are not signed in: open the URL with <code>?token=</code> that hma printed.")</p>
        <p>The web IDE is not built into this installation; <a href="/health">/health</a> reports the node's state as JSON,
        and <code>/ws</code> speaks the protocol of docs/protocol.md.</p>
        </body></html>
        """
    }
}
