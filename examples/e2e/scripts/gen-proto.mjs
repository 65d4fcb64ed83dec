// Generates examples/assets/proto.js from proto/interview.proto: protoc-gen-es (run by
// buf, both pinned in package.json) writes the schemas, and esbuild bundles them with the
// @bufbuild/protobuf runtime into one self-contained ES module the page loads.
//
//   node scripts/gen-proto.mjs          rewrite examples/assets/proto.js
//   node scripts/gen-proto.mjs --check  exit 1 when the committed file is stale
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const e2e = path.resolve(here, '..');
const root = path.resolve(e2e, '..', '..');
const target = path.join(root, 'examples', 'assets', 'proto.js');
const check = process.argv.includes('--check');

const banner = `// Preppal browser <-> worker messages (proto/interview.proto, package preppal.v1).
//
// GENERATED, do not edit: protoc-gen-es schemas bundled with the @bufbuild/protobuf
// runtime (versions pinned in e2e/package.json). Regenerate with
// \`npm run gen:proto\` in e2e/; CI fails when this file is stale.
//
// Exports the generated schemas (e.g. ClientToServerMessageSchema,
// ServerToClientMessageSchema, SessionEnded_Reason) and the runtime's create, toBinary
// and fromBinary. uint64 fields are BigInt; a oneof is \`{ case, value }\`.
`;

// Inside e2e/ so the bundle's path comments are the same in every checkout.
const work = path.join(e2e, '.proto-gen');
rmSync(work, { recursive: true, force: true });
mkdirSync(work);
try {
  const template = JSON.stringify({
    version: 'v2',
    plugins: [
      {
        local: ['node', path.join(e2e, 'node_modules', '@bufbuild', 'protoc-gen-es', 'bin', 'protoc-gen-es')],
        out: work,
        opt: ['target=js', 'import_extension=js'],
      },
    ],
  });
  execFileSync(path.join(e2e, 'node_modules', '.bin', 'buf'), ['generate', path.join(root, 'proto'), '--template', template], {
    cwd: root,
    stdio: 'inherit',
  });
  const generated = path.join(work, 'interview_pb.js');
  if (!existsSync(generated)) throw new Error(`protoc-gen-es wrote no ${generated}`);
  const entry = path.join(work, 'entry.js');
  writeFileSync(
    entry,
    "export * from './interview_pb.js';\nexport { create, toBinary, fromBinary } from '@bufbuild/protobuf';\n",
  );
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    minify: false,
    legalComments: 'inline',
    nodePaths: [path.join(e2e, 'node_modules')],
    absWorkingDir: work,
    banner: { js: banner },
    logLevel: 'warning',
  });
  const text = result.outputFiles[0].text.replaceAll(work, '<generated>');
  if (check) {
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (current !== text) {
      console.error('examples/assets/proto.js is stale: run `npm run gen:proto` in e2e/ and commit it');
      process.exit(1);
    }
    console.log('examples/assets/proto.js is up to date');
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${path.relative(root, target)} (${text.length} bytes)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
