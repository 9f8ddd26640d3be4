// Where the client keeps the tokens: the iOS Keychain and the Android Keystore, through
// expo-secure-store (`npx expo install expo-secure-store`).
import * as SecureStore from "expo-secure-store";
import type { TokenStorage } from "jwt-auth-server-client";

// AFTER_FIRST_UNLOCK: a refresh from a background task works while the phone is locked.
const options: SecureStore.SecureStoreOptions = { keychainAccessible: SecureStore.AFTER_FIRST_UNLOCK };

export const secureStorage: TokenStorage = {
  get: (key) => SecureStore.getItemAsync(key, options),
  set: (key, value) => SecureStore.setItemAsync(key, value, options),
  remove: (key) => SecureStore.deleteItemAsync(key, options),
};
