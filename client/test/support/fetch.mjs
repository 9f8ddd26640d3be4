// A fetch that records every request the client makes, for counting refreshes.
// `refreshAnswers` keeps the server's answers to refreshToken, in the order they arrived.
export function recordingFetch(inner = fetch) {
  const requests = [];
  const refreshAnswers = [];
  const wrapped = async (input, init = {}) => {
    const url = new URL(typeof input === "string" ? input : input.url ?? String(input));
    const headers = new Headers(init.headers);
    requests.push({ method: init.method ?? "GET", path: url.pathname, search: url.search, body: init.body, authorization: headers.get("Authorization") });
    const response = await inner(input, init);
    if (url.pathname === REFRESH) refreshAnswers.push(await response.clone().json().catch(() => null));
    return response;
  };
  wrapped.requests = requests;
  wrapped.refreshAnswers = refreshAnswers;
  wrapped.count = (path) => requests.filter((request) => request.path === path).length;
  wrapped.reset = () => {
    requests.length = 0;
    refreshAnswers.length = 0;
  };
  return wrapped;
}

export const REFRESH = "/api/auth/refreshToken";

let serial = 0;
/** A new user's details, unique within the run. */
export function newUser(first = "Ada") {
  serial += 1;
  return { first, last: "Lovelace", email: `${first.toLowerCase()}.${process.pid}.${serial}@example.com`, password: "correct horse battery" };
}

/** Wait until the server refuses `token` by time: just past its `exp` (leeway 0 in the tests). */
export async function waitPastExpiry(token) {
  const { exp } = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
  const wait = exp * 1000 + 50 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/** The same token with one character of its signature changed: the server refuses it, the client cannot tell. */
export function tampered(token) {
  const [header, payload, signature] = token.split(".");
  const middle = Math.floor(signature.length / 2);
  const swapped = signature[middle] === "A" ? "B" : "A";
  return `${header}.${payload}.${signature.slice(0, middle)}${swapped}${signature.slice(middle + 1)}`;
}
