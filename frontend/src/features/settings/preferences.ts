import { localStore, storageKeys } from "../../lib/storage";

/** The person's editor settings, kept in this browser. */
export interface EditorPreferences {
  fontSize: number;
  wordWrap: boolean;
  minimap: boolean;
  tabSize: number;
}

export const defaultPreferences: EditorPreferences = { fontSize: 13, wordWrap: false, minimap: false, tabSize: 4 };

export function loadPreferences(): EditorPreferences {
  const saved = localStore.get<Partial<EditorPreferences>>(storageKeys.editorPreferences, {});
  return { ...defaultPreferences, ...saved };
}

export function savePreferences(preferences: EditorPreferences): void {
  localStore.set(storageKeys.editorPreferences, preferences);
}
