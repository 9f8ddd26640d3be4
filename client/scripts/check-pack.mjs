// Checks the package as npm would publish it: packs it (`npm pack --json`, which builds it
// first through `prepack`, and lists the same files as `npm pack --dry-run --json`), then checks
//
// - package.json: a name and version npm takes, not private, no `dependencies` of any kind (the
//   client runs on the platform's `fetch`), React the one peer dependency and optional;
// - the file list: the build, its declarations and source maps, the sources the maps point to,
//   the README, and nothing else (no tests, scripts, examples, settings);
// - the two entry points, `.` and `./react` (and `main`, `types`, `react/package.json` for
//   tools that do not read `exports`): each file is in the package, and every import in the
//   built files finds a file of the package or is React's (the subpath's peer);
// - the tarball installed as an app gets it (unpacked in a `node_modules`): both entry points
//   import in Node, and a TypeScript file importing both compiles under `node16` and `bundler`
//   resolution (what Metro-based apps use).
//
//   node scripts/check-pack.mjs              check, then delete the tarball
//   node scripts/check-pack.mjs --keep DIR   check, and leave the tarball in DIR (its path is the last line printed)
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const keepIndex = process.argv.indexOf("--keep");
const keep = keepIndex > 0 ? resolve(process.argv[keepIndex + 1] ?? "") : null;
const ENTRY_POINTS = [".", "./react"];
const PEERS = ["react"];
const ALLOWED = /^(package\.json|README\.md|LICEN[CS]E(\.\w+)?|react\/package\.json|dist\/.+\.(js|d\.ts)(\.map)?|src\/.+\.ts)$/;

const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
  return ok;
};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", shell: process.platform === "win32", ...options });
  if (result.status !== 0) {
    process.stderr.write(`${command} ${args.join(" ")} failed:\n${result.stdout ?? ""}${result.stderr ?? ""}\n`);
    process.exit(1);
  }
  return result.stdout;
}

const work = mkdtempSync(join(tmpdir(), "check-pack-"));
try {
  // The pack (the build runs first, through prepack; its output only shown if it fails).
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root }));
  const tarball = join(work, packed.filename);
  const files = new Set(packed.files.map((file) => file.path));

  // package.json
  const { name, version } = manifest;
  check(typeof name === "string" && name.length <= 214 && /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/.test(name), `name "${name}" is not a name npm takes`);
  check(typeof version === "string" && /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version), `version "${version}" is not semver`);
  check(manifest.private !== true, `"private": true: npm would refuse to publish it`);
  for (const field of ["dependencies", "optionalDependencies", "bundleDependencies", "bundledDependencies"]) {
    const value = manifest[field];
    check(value === undefined || Object.keys(value).length === 0, `${field}: the client has no runtime dependencies (has ${JSON.stringify(value)})`);
  }
  const peers = Object.keys(manifest.peerDependencies ?? {});
  check(peers.every((peer) => PEERS.includes(peer)), `peerDependencies: only ${PEERS.join(", ")} (has ${peers.join(", ")})`);
  for (const peer of peers) check(manifest.peerDependenciesMeta?.[peer]?.optional === true, `peerDependencies: ${peer} must be optional (only a subpath needs it)`);
  check(typeof manifest.engines?.node === "string", "engines.node: say which Node runs it");

  // The file list
  for (const path of files) check(ALLOWED.test(path), `${path}: not a file the package should ship`);
  for (const path of ["package.json", "README.md", "react/package.json"]) check(files.has(path), `${path} is not in the package`);
  for (const path of files) {
    const source = path.match(/^src\/(.+)\.ts$/);
    if (!source || path.endsWith(".d.ts")) continue;
    for (const built of [`dist/${source[1]}.js`, `dist/${source[1]}.d.ts`]) check(files.has(built), `${built} (built from ${path}) is not in the package`);
  }

  // The entry points
  const inPackage = (from, target) => posix.normalize(posix.join(posix.dirname(from), target));
  const shipped = (label, path) => check(typeof path === "string" && files.has(posix.normalize(path)), `${label}: ${path} is not in the package`);
  for (const entry of ENTRY_POINTS) {
    const target = manifest.exports?.[entry];
    if (!check(target && typeof target === "object", `exports["${entry}"] is missing`)) continue;
    shipped(`exports["${entry}"].types`, target.types);
    shipped(`exports["${entry}"].default`, target.default);
  }
  shipped("main", manifest.main);
  shipped("types", manifest.types);
  const subpath = JSON.parse(readFileSync(join(root, "react", "package.json"), "utf8"));
  shipped("react/package.json main", inPackage("react/package.json", subpath.main));
  shipped("react/package.json types", inPackage("react/package.json", subpath.types));

  // Every import of the built files: a file of the package, or the subpath's peer.
  for (const path of files) {
    if (!/^dist\/.+\.(js|d\.ts)$/.test(path)) continue;
    const text = readFileSync(join(root, path), "utf8");
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      if (specifier.startsWith(".")) check(files.has(inPackage(path, specifier.replace(/\.js$/, path.endsWith(".d.ts") ? ".d.ts" : ".js"))), `${path} imports ${specifier}, which is not in the package`);
      else check(PEERS.includes(specifier) && path.startsWith("dist/react/"), `${path} imports "${specifier}": only dist/react/ may import a peer (${PEERS.join(", ")})`);
    }
  }

  // As an app gets it: the tarball unpacked in node_modules, React beside it.
  const app = join(work, "app");
  const installed = join(app, "node_modules", ...name.split("/"));
  mkdirSync(installed, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  mkdirSync(join(app, "node_modules", "@types"), { recursive: true });
  for (const dependency of ["react", join("@types", "react")]) {
    symlinkSync(join(root, "node_modules", dependency), join(app, "node_modules", dependency), "junction");
  }
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const imported = run(process.execPath, ["--input-type=module", "-e", `
    const main = await import(${JSON.stringify(name)});
    const react = await import(${JSON.stringify(name + "/react")});
    const missing = [["createAuthClient", main], ["AuthError", main], ["memoryStorage", main], ["AuthProvider", react], ["useAuth", react]]
      .filter(([key, module]) => typeof module[key] !== "function").map(([key]) => key);
    console.log(JSON.stringify(missing));
  `], { cwd: app });
  const missing = JSON.parse(imported.trim().split("\n").at(-1));
  check(missing.length === 0, `importing the installed package, these exports are missing: ${missing.join(", ")}`);

  writeFileSync(join(app, "consumer.ts"), `
    import { AuthError, createAuthClient, type AuthState, type TokenStorage, type User } from ${JSON.stringify(name)};
    import { AuthProvider, useAuth, type UseAuth } from ${JSON.stringify(name + "/react")};
    const storage: TokenStorage = { get: () => null, set: () => undefined, remove: () => undefined };
    const auth = createAuthClient({ baseUrl: "https://auth.example.com", storage });
    export const state: AuthState = auth.getState();
    export const email: string | undefined = (null as User | null)?.email;
    export const login: UseAuth["login"] = (body) => auth.login(body);
    export const pieces = [AuthError, AuthProvider, useAuth];
  `);
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  for (const [module, moduleResolution] of [["node16", "node16"], ["esnext", "bundler"]]) {
    const flags = ["--noEmit", "--strict", "--skipLibCheck", "false", "--target", "es2020", "--lib", "es2022,dom", "--types", "react", "--module", module, "--moduleResolution", moduleResolution];
    const result = spawnSync(process.execPath, [tsc, ...flags, "consumer.ts"], { cwd: app, encoding: "utf8" });
    check(result.status === 0, `an app's TypeScript (moduleResolution ${moduleResolution}) does not compile against the package:\n${result.stdout}${result.stderr}`);
  }

  if (problems.length) {
    process.stderr.write(`${packed.filename}: ${problems.length} problem(s):\n${problems.map((problem) => `- ${problem}`).join("\n")}\n`);
    process.exit(1);
  }
  console.log(
    `${name}@${version}: ${files.size} files, ${(packed.size / 1024).toFixed(0)} kB packed; ` +
      `entry points ${ENTRY_POINTS.join(" and ")} import in Node and type-check (node16, bundler); no dependencies.`,
  );
  if (manifest.license === undefined) {
    console.log("No license field: the owners choose a license before publishing (client/README.md, Publishing).");
  }
  if (keep) {
    mkdirSync(keep, { recursive: true });
    copyFileSync(tarball, join(keep, packed.filename));
    console.log(join(keep, packed.filename));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
