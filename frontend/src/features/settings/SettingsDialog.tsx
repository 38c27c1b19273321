import { useEffect, useState } from "react";
import type { LlmConfigRequest, LlmConfigUpdateEvent, ModelCatalogueEvent, ModelCheckEvent } from "../../protocol";
import { reportFailure, useServices } from "../../app/services";
import { Dialog } from "../../components/Dialog";
import { localStore, storageKeys } from "../../lib/storage";
import { savePreferences, type EditorPreferences } from "./preferences";

/** The providers the gateway knows (docs/protocol.md, llm_config). */
export const providers = ["demo", "openai", "anthropic", "gemini", "deepseek", "xai", "ollama"] as const;

type Config = LlmConfigUpdateEvent["config"];

/** Model, key and editor settings. Keys are write-only: the gateway never sends them back. */
export function SettingsDialog({ open, onClose, config, demoModel, preferences }: {
  open: boolean;
  onClose: () => void;
  config: Config | null;
  demoModel: boolean;
  preferences: EditorPreferences;
}) {
  const { connection, dispatch } = useServices();
  const known = config ?? localStore.get<Config | null>(storageKeys.llmConfig, null);
  const [provider, setProvider] = useState(known?.provider ?? "demo");
  const [model, setModel] = useState(known?.model ?? "demo");
  const [temperature, setTemperature] = useState(known?.temperature !== undefined ? String(known.temperature) : "");
  const [maxTokens, setMaxTokens] = useState(known?.maxTokens !== undefined ? String(known.maxTokens) : "");
  const [budget, setBudget] = useState(known?.budgetUsd !== undefined ? String(known.budgetUsd) : "");
  const [keyProvider, setKeyProvider] = useState<string>("openai");
  const [apiKey, setApiKey] = useState("");
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [catalogue, setCatalogue] = useState<ModelCatalogueEvent | null>(null);
  const [check, setCheck] = useState<ModelCheckEvent | "checking" | null>(null);

  useEffect(() => {
    if (!open) {
      setApiKey("");
      setSaved(null);
      setCheck(null);
      return;
    }
    // The server's catalogue, which providers this user can use, and their choice.
    let current = true;
    connection.ask("list_models", {}, "model_catalogue").then(
      (answer) => {
        if (!current) return;
        setCatalogue(answer);
        if (known === null) {
          setProvider(answer.current.provider);
          setModel(answer.current.model);
        }
      },
      () => undefined,
    );
    return () => {
      current = false;
    };
    // Loaded each time the dialog opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open, connection]);

  const models = catalogue?.models.filter((entry) => entry.provider === provider) ?? [];
  const entry = models.find((item) => item.id === model.trim());
  const configured = new Set(catalogue?.configured ?? ["demo"]);
  const runCheck = async () => {
    setCheck("checking");
    try {
      setCheck(await connection.ask("check_model", { provider, model: model.trim() || provider }, "model_check"));
    } catch (error) {
      setCheck(null);
      reportFailure(dispatch, error, "Checking the model");
    }
  };

  const saveModel = async () => {
    const request: LlmConfigRequest = { provider, model: model.trim() || provider };
    const number = (text: string) => (text.trim() === "" ? undefined : Number(text));
    const t = number(temperature);
    const m = number(maxTokens);
    const b = number(budget);
    if (t !== undefined && Number.isFinite(t)) request.temperature = t;
    if (m !== undefined && Number.isInteger(m)) request.maxTokens = m;
    if (b !== undefined && Number.isFinite(b)) request.budgetUsd = b;
    setSaving(true);
    try {
      const answer = await connection.ask("llm_config", request, "llm_config_update");
      localStore.set(storageKeys.llmConfig, answer.config);
      setSaved(`Runs you start from now on use ${answer.config.provider} / ${answer.config.model}.`);
    } catch (error) {
      reportFailure(dispatch, error, "Saving the model");
    } finally {
      setSaving(false);
    }
  };
  const saveKey = async () => {
    if (apiKey.trim() === "") return;
    setSaving(true);
    try {
      await connection.ask("set_api_key", { provider: keyProvider, apiKey: apiKey.trim() }, "api_key_update");
      setSaved(`The ${keyProvider} key is stored, encrypted; it is never shown again.`);
    } catch (error) {
      reportFailure(dispatch, error, "Storing the key");
    } finally {
      setApiKey("");
      setSaving(false);
    }
  };
  const setPreference = <K extends keyof EditorPreferences>(key: K, value: EditorPreferences[K]) => {
    const next = { ...preferences, [key]: value };
    savePreferences(next);
    dispatch({ kind: "preferences/set", preferences: next });
  };

  return (
    <Dialog title="Settings" open={open} onClose={onClose}>
      {demoModel && (
        <p className="notice-inline" role="note">
          The gateway runs the <strong>demo model</strong>: it replays recorded answers and writes a small sample project whatever you ask. Choose a
          provider and store its key below (or give the gateway a key in its environment) for real work.
        </p>
      )}
      <form
        className="settings-form"
        onSubmit={(event) => {
          event.preventDefault();
          void saveModel();
        }}
      >
        <h3>Model</h3>
        <label>
          Provider
          <select
            value={provider}
            onChange={(event) => {
              const next = event.target.value;
              setProvider(next);
              setCheck(null);
              const preferred = catalogue?.models.find((item) => item.provider === next && item.isDefault) ?? catalogue?.models.find((item) => item.provider === next);
              setModel(preferred?.id ?? (next === "demo" ? "demo" : ""));
            }}
          >
            {providers.map((name) => (
              <option key={name} value={name}>
                {name}
                {catalogue !== null && !configured.has(name) ? " (no key yet)" : ""}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <input
            value={model}
            list="hma-model-catalogue"
            onChange={(event) => {
              setModel(event.target.value);
              setCheck(null);
            }}
            placeholder="e.g. gpt-4o-mini"
            required
          />
          <datalist id="hma-model-catalogue">
            {models.map((item) => (
              <option key={item.id} value={item.id} />
            ))}
          </datalist>
        </label>
        {entry !== undefined && (
          <p className="muted model-facts">
            Context {entry.contextWindow.toLocaleString()} tokens · replies up to {entry.maxOutput.toLocaleString()} · ${entry.inputPerMillion} / $
            {entry.outputPerMillion} per million tokens in / out
          </p>
        )}
        <div className="model-check">
          <button type="button" className="button" disabled={check === "checking"} onClick={() => void runCheck()}>
            {check === "checking" ? "Checking…" : "Check this model"}
          </button>
          {check !== null && check !== "checking" && (
            <div className={check.usable ? "check-result check-ok" : "check-result check-bad"} role="status">
              <strong>{check.usable ? "Usable" : "Not usable"}:</strong> {check.verdict}
              {check.lines.length > 0 && (
                <ul>
                  {check.lines.map((line, index) => (
                    <li key={index}>{line}</li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </div>
        <label>
          Temperature
          <input type="number" min={0} max={2} step={0.1} value={temperature} onChange={(event) => setTemperature(event.target.value)} placeholder="default" />
        </label>
        <label>
          Max tokens per call
          <input type="number" min={1} step={1} value={maxTokens} onChange={(event) => setMaxTokens(event.target.value)} placeholder="default" />
        </label>
        <label>
          Budget per project (USD)
          <input type="number" min={0} step={0.5} value={budget} onChange={(event) => setBudget(event.target.value)} placeholder="default" />
        </label>
        <button type="submit" className="button button-primary" disabled={saving}>
          Save model
        </button>
      </form>
      <form
        className="settings-form"
        onSubmit={(event) => {
          event.preventDefault();
          void saveKey();
        }}
      >
        <h3>API key</h3>
        <label>
          Provider
          <select value={keyProvider} onChange={(event) => setKeyProvider(event.target.value)}>
            {providers
              .filter((name) => name !== "demo")
              .map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
          </select>
        </label>
        <label>
          Key (write-only)
          <input type="password" autoComplete="off" value={apiKey} onChange={(event) => setApiKey(event.target.value)} placeholder="stored encrypted, never shown" />
        </label>
        <button type="submit" className="button" disabled={saving || apiKey.trim() === ""}>
          Store key
        </button>
      </form>
      <form className="settings-form" onSubmit={(event) => event.preventDefault()}>
        <h3>Editor</h3>
        <label>
          Font size
          <input type="number" min={9} max={32} value={preferences.fontSize} onChange={(event) => setPreference("fontSize", Number(event.target.value) || 13)} />
        </label>
        <label>
          Tab size
          <input type="number" min={1} max={8} value={preferences.tabSize} onChange={(event) => setPreference("tabSize", Number(event.target.value) || 4)} />
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={preferences.wordWrap} onChange={(event) => setPreference("wordWrap", event.target.checked)} /> Wrap long lines
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={preferences.minimap} onChange={(event) => setPreference("minimap", event.target.checked)} /> Minimap
        </label>
      </form>
      {saved !== null && (
        <p className="saved" role="status">
          {saved}
        </p>
      )}
    </Dialog>
  );
}
