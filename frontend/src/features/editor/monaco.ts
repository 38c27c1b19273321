/**
 * Loads Monaco (its AMD build, copied into dist by the build) on first use.
 * Its loader is added as a script only now, so the UMD scripts loaded
 * before it (xterm.js) still register as globals, not AMD modules.
 */
export type Monaco = typeof monaco;

let loading: Promise<Monaco> | null = null;

export function loadMonaco(): Promise<Monaco> {
  if (window.monaco !== undefined) return Promise.resolve(window.monaco);
  if (loading !== null) return loading;
  const vs = new URL(__HMA_MONACO_VS__, document.baseURI).href.replace(/\/$/, "");
  loading = new Promise<Monaco>((resolve, reject) => {
    const start = () => {
      const amd = window.require;
      if (amd === undefined) {
        reject(new Error("Monaco's loader did not define require()"));
        return;
      }
      amd.config({ paths: { vs } });
      amd(
        ["vs/editor/editor.main"],
        () => (window.monaco !== undefined ? resolve(window.monaco) : reject(new Error("Monaco did not load"))),
        (error) => reject(error instanceof Error ? error : new Error(String(error))),
      );
    };
    if (window.require !== undefined) {
      start(); // the loader is here from an earlier attempt
      return;
    }
    const script = document.createElement("script");
    script.src = `${vs}/loader.js`;
    script.onload = start;
    script.onerror = () => reject(new Error(`cannot load ${script.src}`));
    document.head.appendChild(script);
  });
  loading.catch(() => {
    loading = null;
  });
  return loading;
}
