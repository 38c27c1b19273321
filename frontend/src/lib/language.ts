/** Monaco's language id for a file, from its name. Pure. */
const byExtension: Record<string, string> = {
  py: "python", pyi: "python",
  js: "javascript", mjs: "javascript", cjs: "javascript", jsx: "javascript",
  ts: "typescript", tsx: "typescript", mts: "typescript", cts: "typescript",
  json: "json", md: "markdown", markdown: "markdown",
  html: "html", htm: "html", css: "css", scss: "scss", less: "less",
  swift: "swift", go: "go", rs: "rust", java: "java", kt: "kotlin", kts: "kotlin", scala: "scala",
  c: "c", h: "c", cc: "cpp", cpp: "cpp", cxx: "cpp", hpp: "cpp", hh: "cpp", cs: "csharp",
  rb: "ruby", php: "php", pl: "perl", lua: "lua", r: "r", dart: "dart",
  sh: "shell", bash: "shell", zsh: "shell",
  yml: "yaml", yaml: "yaml", toml: "ini", ini: "ini", cfg: "ini", conf: "ini",
  xml: "xml", svg: "xml", sql: "sql", graphql: "graphql", proto: "protobuf",
  dockerfile: "dockerfile", bat: "bat", ps1: "powershell",
};

const byName: Record<string, string> = {
  dockerfile: "dockerfile", makefile: "shell", "cmakelists.txt": "plaintext", ".gitignore": "ini", ".env": "ini",
};

export function languageForPath(path: string): string {
  const name = (path.split("/").pop() ?? path).toLowerCase();
  const exact = byName[name];
  if (exact !== undefined) return exact;
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return "plaintext";
  return byExtension[name.slice(dot + 1)] ?? "plaintext";
}
