// Globals the page provides outside the bundle: the run-time configuration
// (public/config.js), Monaco's AMD loader (vendor/monaco-…/vs/loader.js) and
// xterm.js with its fit addon (vendor/xterm-…/*.min.js), loaded by
// index.html before the app.

/** Baked in at build time from HMA_BACKEND_URL ("" means same origin). */
declare const __HMA_BACKEND_URL__: string;
/** The folder holding Monaco's `vs` (relative to the page), set by the build. */
declare const __HMA_MONACO_VS__: string;

interface HmaRuntimeConfig {
  /** The gateway's base URL, e.g. "https://hma.example.org"; "" or absent: the page's origin. */
  backendUrl?: string;
}

interface AmdRequire {
  (modules: string[], onLoad: (...modules: unknown[]) => void, onError?: (error: unknown) => void): void;
  config(options: { paths?: Record<string, string> }): void;
}

interface Window {
  HMA_CONFIG?: HmaRuntimeConfig;
  require?: AmdRequire;
  monaco?: typeof monaco;
  Terminal?: XtermTerminalConstructor;
  FitAddon?: { FitAddon: new () => XtermFitAddon };
}

/** The parts of xterm.js 4's API the terminal panel uses. */
interface XtermDisposable {
  dispose(): void;
}

interface XtermTerminal extends XtermDisposable {
  readonly cols: number;
  readonly rows: number;
  open(parent: HTMLElement): void;
  write(data: string): void;
  /** Clears the screen and the scrollback (before a redraw). */
  reset(): void;
  focus(): void;
  loadAddon(addon: XtermFitAddon): void;
  onData(listener: (data: string) => void): XtermDisposable;
  onResize(listener: (size: { cols: number; rows: number }) => void): XtermDisposable;
}

interface XtermTerminalConstructor {
  new (options?: {
    cursorBlink?: boolean;
    fontSize?: number;
    fontFamily?: string;
    convertEol?: boolean;
    scrollback?: number;
    rendererType?: "dom" | "canvas";
    theme?: Record<string, string>;
  }): XtermTerminal;
}

interface XtermFitAddon extends XtermDisposable {
  fit(): void;
  proposeDimensions(): { cols: number; rows: number } | undefined;
}
