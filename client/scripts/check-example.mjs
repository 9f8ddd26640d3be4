// Type-checks the Expo example (examples/expo/) against the client as an app gets it: installs
// the example's pinned dependencies (`npm ci`: React Native's and expo-secure-store's types),
// packs this package as npm publish would, installs that tarball there without saving it, and
// runs the example's own TypeScript with its own tsconfig.json.
//
//   node scripts/check-example.mjs
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(root, "examples", "expo");

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", shell: process.platform === "win32" });
  if (result.status !== 0) {
    process.stderr.write(`${command} ${args.join(" ")} (in ${cwd}) failed:\n${result.stdout ?? ""}${result.stderr ?? ""}\n`);
    process.exit(1);
  }
  return result.stdout;
}

const work = mkdtempSync(join(tmpdir(), "check-example-"));
try {
  run("npm", ["ci", "--no-audit", "--no-fund"], example);
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], root));
  run("npm", ["install", "--no-save", "--no-audit", "--no-fund", join(work, packed.filename)], example);
  run(process.execPath, [join(example, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], example);
  console.log(`examples/expo type-checks against ${packed.id} (its tarball), React Native and expo-secure-store.`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
