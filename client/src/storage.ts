/**
 * Where the client keeps the tokens: three async calls, so that any store fits
 * (expo-secure-store, react-native-keychain, AsyncStorage for development, a Map in tests).
 * Plain values may be returned instead of promises.
 */
export interface TokenStorage {
  get(key: string): Promise<string | null | undefined> | string | null | undefined;
  set(key: string, value: string): Promise<void> | void;
  remove(key: string): Promise<void> | void;
}

/** Storage that lives as long as the JavaScript runtime: the default, and right for tests. */
export function memoryStorage(): TokenStorage & { readonly entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    get: (key) => entries.get(key) ?? null,
    set: (key, value) => {
      entries.set(key, value);
    },
    remove: (key) => {
      entries.delete(key);
    },
  };
}
