// The app's one client, made once.
import { createAuthClient } from "jwt-auth-server-client";

import { secureStorage } from "./secureStorage";

// The server root: http://localhost:1140 from the iOS simulator, http://10.0.2.2:1140 from the
// Android emulator, your computer's LAN address from a phone; HTTPS in production.
const AUTH_SERVER = "http://10.0.2.2:1140";

export const auth = createAuthClient({
  baseUrl: AUTH_SERVER,
  storage: secureStorage,
  onSessionExpired: () => {
    // The session ended without the user asking (expired, or ended from another device): the
    // tokens are gone and <Root> shows the sign-in screen by itself.
  },
});
